"""KPI summaries go up on their own: per community and closed hour, the child's enabled
devices, those that reported and the events that arrived. A parent that does not hold a
child's events (mode none) rolls up its data reporting rate from them."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    FaultyLink,
    drain,
    forwarder,
    issue_token,
    parent_settings,
    submit,
)
from tests.ingest.factories import access_event
from tests.web.session import sign_in
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.models import ChildKpiSummary
from zhian.cascade.wire import CONTENT_TYPE, ENCODER, KpiReport, KpiSummary
from zhian.kit.clock import ManualClock
from zhian.metrics.repository import MetricsRepository
from zhian.node import Node
from zhian.web.app import create_app


def _forwarder(child: Node, link: FaultyLink, credential: str) -> UpwardForwarder:
    return forwarder(child, link, parent_settings(credential, events="none"), kpis=True)


def _stored(parent: Node) -> list[tuple[str, str, int, int, int]]:
    with parent.db.session() as session:
        rows = session.scalars(select(ChildKpiSummary).order_by(ChildKpiSummary.hour))
        return [(r.node_id, r.community_id, r.devices, r.reporting_devices, r.events) for r in rows]


def test_kpi_summaries_go_up_hourly_and_feed_the_roll_up_of_a_child_without_events(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    with child.db.session() as session:
        devices = MetricsRepository(session).enabled_device_communities(["C1"])
    assert "DOOR1" in devices and len(devices) > 1
    # Two devices report in this hour: DOOR1 three events, CAM1 one.
    start = clock.now() - timedelta(minutes=5)
    submit(child, [access_event(f"d-{i}", start + timedelta(seconds=i)) for i in range(3)])
    submit(child, [access_event("c-0", start, device_id="CAM1")])
    assert child.feeder.wait_caught_up(30)
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        link = FaultyLink(client)
        forward = _forwarder(child, link, credential)
        drain(forward)
        # The hour is still open: nothing of it goes up yet, and no event (mode none).
        assert [s for s in _stored(parent) if s[4]] == []
        assert parent.event_reads.recent_events(limit=1, device_id="DOOR1") == []

        clock.advance(timedelta(hours=1))
        link.requests.clear()
        drain(forward)
        assert link.requests.count("/api/v1/cascade/kpis") == 1
        c1 = [s for s in _stored(parent) if s[1] == "C1" and s[4]]
        assert c1 == [(CHILD_ID, "C1", len(devices), 2, 4)]
        # Acknowledged: not sent again until the next hour closes.
        link.requests.clear()
        drain(forward)
        assert "/api/v1/cascade/kpis" not in link.requests

        # The parent holds none of the child's events: its roll-up counts C1 by the child's
        # figures (2 of the child's devices reported), not by its own empty store.
        assert parent.event_reads.recent_events(limit=1, device_id="DOOR1") == []
        sign_in(client, "command", PASSWORD)
        page = client.get("/devices?lang=en").text
        row = re.search(r'<tr data-jurisdiction="J-STATION">(.*?)</tr>', page, re.S)
        assert row is not None
        expected = f"{100 * 2 / len(devices):.1f}%"
        assert f'<td data-figure="reporting">{expected} <span class="muted" data-source="kpi">' in (
            row.group(1)
        )


def test_kpi_summaries_only_inside_the_credentials_jurisdiction(
    parent: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    report = KpiReport(
        node_id=CHILD_ID,
        events_forwarded=True,
        summaries=[KpiSummary(clock.now(), "C-ELSEWHERE", 3, 1, 9)],
    )
    with TestClient(create_app(parent)) as client:
        answer = client.post(
            "/api/v1/cascade/kpis",
            content=ENCODER.encode(report),
            headers={"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE},
        )
        assert answer.status_code == 403, answer.text
        assert "summaries[0].community_id" in answer.text
    assert _stored(parent) == []
