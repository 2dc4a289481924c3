"""Parent and child a version apart: every cascade message (hello, batches, link status, KPI
summaries, overrides, orders with their presets and procedures) takes a field the reader
does not know, and still refuses a required field left out, naming it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import msgspec
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    FaultyLink,
    drain,
    forwarder,
    issue_token,
    parent_settings,
)
from tests.cascade.test_orders import BASIS, PLATE, add_entry, entries
from zhian.cascade.wire import (
    CONTENT_TYPE,
    ChildBatch,
    DeviceSummary,
    Hello,
    KpiReport,
    KpiSummary,
    LinkStatus,
    OnlineSummary,
    Overrides,
    ParameterOverride,
)
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

NEWER = {"priority": "urgent", "trace": {"hops": 1}}


def _newer(message: Any, *inner: str) -> dict[str, Any]:
    """The message as a newer sender writes it: extra fields at the top and in each item
    of the lists `inner`."""
    body: dict[str, Any] = {**msgspec.to_builtins(message), **NEWER}
    for name in inner:
        body[name] = [{**item, **NEWER} for item in body[name]]
    return body


def _post(client: TestClient, credential: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"/api/v1/cascade/{path}",
        content=msgspec.msgpack.encode(body),
        headers={"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE},
    )


def _messages(clock: ManualClock) -> list[tuple[str, dict[str, Any], str]]:
    """(path, the message from a child one version ahead, a required field to leave out)."""
    now = clock.now()
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    device = DeviceSummary(
        id="NEW1", kind="door", name="a door", community_id="C1", latitude=30.0, longitude=120.0
    )
    online = OnlineSummary(
        sample_id=1, sampled_at=now, community_id="C1", device_kind="door", total=2, online=1
    )
    return [
        ("hello", _newer(Hello(node_id=CHILD_ID, sent_at=now)), "sent_at"),
        (
            "batches",
            _newer(
                ChildBatch(node_id=CHILD_ID, sent_at=now, devices=[device], online=[online]),
                "devices",
                "online",
            ),
            "node_id",
        ),
        (
            "status",
            _newer(
                LinkStatus(
                    node_id=CHILD_ID,
                    sent_at=now,
                    cache_records=3,
                    cache_bytes=300,
                    is_cache_alarm=False,
                )
            ),
            "cache_records",
        ),
        (
            "kpis",
            _newer(
                KpiReport(
                    node_id=CHILD_ID,
                    events_forwarded=True,
                    summaries=[
                        KpiSummary(
                            hour=hour, community_id="C1", devices=2, reporting_devices=1, events=5
                        )
                    ],
                ),
                "summaries",
            ),
            "events_forwarded",
        ),
        (
            "overrides",
            _newer(
                Overrides(
                    node_id=CHILD_ID,
                    overrides=[ParameterOverride(community_id="C1", name="x", preset=1, local=2)],
                ),
                "overrides",
            ),
            "overrides",
        ),
    ]


def test_a_parent_takes_what_a_newer_child_sends_and_names_a_field_left_out(
    parent_client: TestClient, credential: str, clock: ManualClock
) -> None:
    for path, body, required in _messages(clock):
        missing = _post(parent_client, credential, path, {k: v for k, v in body.items()
                                                          if k != required})  # fmt: skip
        assert missing.status_code == 400, (path, missing.text)
        error = missing.json()["error"]
        assert error["field"] == "body" and f"`{required}`" in error["message"], (path, error)

        taken = _post(parent_client, credential, path, body)
        assert taken.status_code == 200, (path, taken.text)
        if path == "batches":  # the online summary with its unknown field is stored
            assert msgspec.msgpack.decode(taken.content)["online"] == 1


@dataclass
class SkewedParent(FaultyLink):
    """The link to a parent a version apart: its orders (each order, preset, procedure and
    step) carry the fields `extra` this child does not know, and lack the field
    `leave_out` of each order."""

    extra: dict[str, Any] = field(default_factory=dict)
    leave_out: str = ""
    rewritten: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        answer = super().__call__(request)
        if not request.url.path.endswith("/cascade/orders") or answer.status_code != 200:
            return answer
        body = {**msgspec.msgpack.decode(answer.content), **self.extra}
        for name in ("orders", "parameters", "procedures"):
            body[name] = [{**item, **self.extra} for item in body.get(name, [])]
        body["orders"] = [{k: v for k, v in o.items() if k != self.leave_out}
                          for o in body["orders"]]  # fmt: skip
        self.rewritten += 1
        return httpx.Response(200, content=msgspec.msgpack.encode(body))


def _forward_orders(parent: Node, child: Node, clock: ManualClock, link: SkewedParent) -> bool:
    """The city's entry sent down over `link`; whether the link stayed up."""
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    add_entry(parent, clock, PLATE, "J-CITY")
    with TestClient(create_app(parent)) as client:
        link.client = client
        forward = forwarder(child, link, parent_settings(credential, events="none"))
        drain(forward)
    assert link.rewritten  # the orders did come changed
    return forward.link.is_up


def test_a_child_applies_the_orders_of_a_parent_one_version_ahead(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    assert _forward_orders(parent, child, clock, SkewedParent(None, extra=NEWER))  # type: ignore[arg-type]
    (received,) = entries(child)
    assert (received.legal_basis_ref, received.jurisdiction_id) == (BASIS, "J-CITY")


def test_an_order_without_a_required_field_is_not_applied_and_the_link_stays(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    link = SkewedParent(None, leave_out="legal_basis_ref")  # type: ignore[arg-type]
    assert _forward_orders(parent, child, clock, link)  # the batches decide the link
    assert entries(child) == []  # never applied without its legal basis
