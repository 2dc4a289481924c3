"""Link health at the parent: a child sends its cache depth and back-fill progress up, and
the parent's links table (and `GET /api/v1/cascade/children`) shows them by scope."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    FaultyLink,
    api,
    drain,
    forwarder,
    issue_token,
    parent_events,
    parent_settings,
    submit,
)
from tests.ingest.factories import access_event
from tests.web.session import sign_in
from zhian.cascade.wire import CONTENT_TYPE, ENCODER, LinkStatus
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app


def _records(child: Node, clock: ManualClock, prefix: str, records: int, per: int = 5) -> None:
    """`records` log records of `per` events each (the forwarder sends whole records)."""
    start = clock.now() - timedelta(minutes=30)
    for r in range(records):
        submit(
            child,
            [
                access_event(f"{prefix}-{r}-{i}", start + timedelta(seconds=r * per + i))
                for i in range(per)
            ],
        )


def _link(client: TestClient, token: str) -> dict[str, Any]:
    children = api(client, token, "/api/v1/cascade/children").json()
    assert [c["node_id"] for c in children] == [CHILD_ID]
    return dict(children[0])


def test_the_parent_sees_the_childs_cache_depth_and_backfill_progress(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent), follow_redirects=False) as client:
        link = FaultyLink(client)
        forward = forwarder(
            child, link, parent_settings(credential, batch_events=10, status_seconds=60)
        )
        command = issue_token(parent, clock, "command")
        _records(child, clock, "a", 2)
        drain(forward)
        seen = _link(client, command)
        assert seen["status_at"] is not None
        assert (seen["cache_records"], seen["backfill_percent"]) == (0, None)
        assert seen["is_cache_alarm"] is False

        # An outage: 7 records wait at the child; the parent hears nothing meanwhile.
        link.down = True
        _records(child, clock, "b", 7)
        assert forward.step() == 0
        assert forward.link.next_attempt_at is not None
        clock.advance(forward.link.next_attempt_at - clock.now())

        # Back: the first batch (2 of the 7 records) goes, and the status with it.
        link.down = False
        assert forward.step() == 10
        seen = _link(client, command)
        assert seen["cache_records"] == 5 and seen["cache_bytes"] > 0
        assert seen["backfill_percent"] == pytest.approx(100 * 2 / 7)
        assert seen["backfill_records_left"] == 5

        sign_in(client, "command", PASSWORD)
        page = client.get("/devices?lang=en").text
        row = re.search(rf'<tr data-node="{CHILD_ID}">(.*?)</tr>', page, re.S)
        assert row is not None
        assert '<td data-figure="cache">5 records' in row.group(1)
        assert '<td data-figure="backfill">29% <span class="muted">(5 left)' in row.group(1)
        status = client.get("/status?lang=en").text  # the status page's children table
        row = re.search(rf'<tr data-node="{CHILD_ID}">(.*?)</tr>', status, re.S)
        assert row is not None
        assert '<td data-figure="cache">5 records</td>' in row.group(1)
        assert '<td data-figure="backfill">29%</td>' in row.group(1)

        # The back-fill ends: its end goes up at once, without waiting `status_seconds`.
        drain(forward)
        seen = _link(client, command)
        assert (seen["cache_records"], seen["backfill_percent"]) == (0, None)
        # (another level: the page keeps the section's figures a moment, per level asked)
        page = client.get("/devices?lang=en&level=city").text
        assert '<td data-figure="backfill"><span class="muted">none running' in page

        outsider = issue_token(parent, clock, "outsider")
        assert api(client, outsider, "/api/v1/cascade/children").json() == []


def test_a_status_is_taken_only_for_the_node_the_credential_speaks_for(
    parent: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE}
    status = LinkStatus(
        node_id="community-2",
        sent_at=clock.now(),
        cache_records=3,
        cache_bytes=100,
        is_cache_alarm=False,
    )
    with TestClient(create_app(parent)) as client:
        refused = client.post(
            "/api/v1/cascade/status", content=ENCODER.encode(status), headers=headers
        )
        assert refused.status_code == 403 and "node_id" in refused.text
        bad = client.post(
            "/api/v1/cascade/status",
            content=ENCODER.encode({"node_id": CHILD_ID, "cache_records": -1}),
            headers=headers,
        )
        assert bad.status_code == 400 and '"field":"body"' in bad.text.replace(" ", "")


def test_a_parent_without_the_status_and_kpi_routes_keeps_the_link_up(
    parent: Node, child: Node, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An older parent answers 404 to the link status and the KPI summaries: logged once
    each, the events still go up, and the KPIs are asked again only after `status_seconds`."""
    caplog.set_level(logging.WARNING, logger="zhian.cascade.forwarder")
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent), follow_redirects=False) as client:
        link = _OlderParent(client)
        settings = parent_settings(credential, status_seconds=60)
        forward = forwarder(child, link, settings, kpis=True)
        _records(child, clock, "a", 3)
        drain(forward)
        assert forward.link.is_up
        assert link.requests.count("/api/v1/cascade/kpis") == 1
        # The records waiting at the start made a back-fill: its start and its end.
        assert link.requests.count("/api/v1/cascade/status") == 2
        _records(child, clock, "b", 2)
        drain(forward)
        assert forward.link.is_up
        assert link.requests.count("/api/v1/cascade/kpis") == 1  # not each step
        clock.advance(timedelta(seconds=61))
        forward.step()
        assert link.requests.count("/api/v1/cascade/kpis") == 2
        assert link.requests.count("/api/v1/cascade/status") == 3
    for what in ("link status", "KPI summaries"):  # each refused more than once, logged once
        assert len([r for r in caplog.records if what in r.getMessage()]) == 1, what
    assert len(parent_events(parent, "DOOR1")) == 25  # once the parent's store caught up


class _OlderParent(FaultyLink):
    """A parent from before the link status and KPI summaries: 404 for those routes."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path in ("/api/v1/cascade/status", "/api/v1/cascade/kpis"):
            self.requests.append(request.url.path)
            return httpx.Response(404, json={"detail": "Not Found"})
        return super().__call__(request)
