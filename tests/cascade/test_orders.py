"""Orders flow down (布控下发, 撤控): a district's watchlist entry reaches the community with
its legal basis, owner and expiry; its hit comes back up and raises the alert at the
district too; a withdrawal reaches the community; another station's entry never does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    FaultyLink,
    drain,
    forwarder,
    issue_token,
    parent_settings,
)
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.cascade.forwarder import UpwardForwarder, read_health
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.watchlists.schemas import WatchlistEntryCreate, WatchlistEntryRead
from zhian.web.app import create_app

PLATE = "浙A12345"
OTHER_PLATE = "浙B54321"
BASIS = "CASE-2026-0042"


@pytest.fixture
def forward(parent: Node, child: Node, clock: ManualClock) -> Iterator[UpwardForwarder]:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name="community-1"
    )
    with TestClient(create_app(parent)) as client:
        # No events up: the hit reaches the parent only as the child's report (with events,
        # the parent's own watchlist rule may see the plate first; one alert either way).
        settings = parent_settings(credential, events="none")
        yield forwarder(child, FaultyLink(client), settings)


def add_entry(node: Node, clock: ManualClock, plate: str, place: str) -> WatchlistEntryRead:
    with node.watchlists() as watchlists:
        return watchlists.add(
            WatchlistEntryCreate(
                target="plate",
                plate=plate,
                label="被盗车辆",
                legal_basis_kind="stolen_vehicle",
                legal_basis_ref=BASIS,
                jurisdiction_id=place,
                expires_at=clock.now() + timedelta(days=30),
            ),
            user_id=7,
        )


def entries(node: Node, *, active_only: bool = True) -> list[WatchlistEntryRead]:
    with node.watchlists() as watchlists:
        return watchlists.list_entries(active_only=active_only)


def plate_passes(node: Node, clock: ManualClock, event_id: str, plate: str) -> None:
    vehicle = {
        "type": "vehicle",
        "id": event_id,
        "device_id": "CAM1",
        "time": clock.now().isoformat(),
        "plate": plate,
        "plate_color": "blue",
        "vehicle_class": "car",
        "direction": "in",
    }
    result = node.intake.submit_raw(
        [json.dumps(vehicle).encode()],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == 1, result.items
    node.rule_engine.drain()


def watchlist_alerts(node: Node) -> list[AlertSummary]:
    with node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(kind="watchlist_plate"),
            page=1,
            per_page=50,
            scope=JurisdictionScope.unscoped(),
        )
    return list(page.items)


def test_an_entry_reaches_the_child_and_its_hit_raises_the_alert_at_the_parent_too(
    parent: Node, child: Node, forward: UpwardForwarder, clock: ManualClock
) -> None:
    city = add_entry(parent, clock, PLATE, "J-CITY")  # covers every node below the city
    add_entry(parent, clock, OTHER_PLATE, "J-OTHER")  # another station's: not ours

    drain(forward)

    (received,) = entries(child)
    assert (received.legal_basis_ref, received.jurisdiction_id) == (BASIS, "J-CITY")
    assert received.expires_at == city.expires_at and received.plate == city.plate  # masked

    plate_passes(child, clock, "v-1", PLATE)
    (local,) = watchlist_alerts(child)
    assert watchlist_alerts(parent) == []
    drain(forward)

    (raised,) = watchlist_alerts(parent)
    assert raised.jurisdiction_id == "J-STATION"  # placed by the child's community
    assert "community-1" in raised.title_zh
    # Sent again, nothing is raised twice; the other station's plate raises nothing below.
    plate_passes(child, clock, "v-2", OTHER_PLATE)
    drain(forward)
    assert len(watchlist_alerts(parent)) == 1 and len(watchlist_alerts(child)) == 1
    assert local.id >= 1


def test_the_hit_raised_at_the_parent_goes_to_its_webhooks(
    parent: Node, child: Node, forward: UpwardForwarder, clock: ManualClock
) -> None:
    # The parent's alert from a child's hit queues its webhook message, sealed like any
    # other (before, the cascade's alert service had no key ring and the batch failed).
    with parent.alerts() as alerts:
        hook = alerts.webhooks.subscribe("http://127.0.0.1:9/hook", "s" * 20)
    add_entry(parent, clock, PLATE, "J-CITY")
    drain(forward)
    plate_passes(child, clock, "v-1", PLATE)
    drain(forward)

    assert len(watchlist_alerts(parent)) == 1
    with parent.alerts() as alerts:
        deliveries = alerts.webhooks.deliveries(hook.id)
    assert "alert.created" in {d.message_type for d in deliveries}


def test_a_withdrawal_at_the_parent_withdraws_the_entry_below(
    parent: Node, child: Node, forward: UpwardForwarder, clock: ManualClock
) -> None:
    entry = add_entry(parent, clock, PLATE, "J-STATION")
    drain(forward)
    assert len(entries(child)) == 1

    with parent.watchlists() as watchlists:
        watchlists.withdraw(entry.id, user_id=7, reason="车辆已找回")
    clock.advance(timedelta(seconds=11))  # the next time the child asks for orders
    drain(forward)

    assert entries(child) == []
    (withdrawn,) = entries(child, active_only=False)
    assert withdrawn.withdrawn_at is not None and "车辆已找回" in (withdrawn.withdraw_reason or "")
    plate_passes(child, clock, "v-1", PLATE)
    assert watchlist_alerts(child) == []


def test_orders_need_the_node_credential(parent: Node, clock: ManualClock) -> None:
    command = issue_token(parent, clock, "command")
    with TestClient(create_app(parent)) as client:
        headers = {"Authorization": f"Bearer {command}"}
        response = client.get("/api/v1/cascade/orders?node_id=x", headers=headers)
        assert response.status_code == 403
        assert client.get("/api/v1/cascade/orders?node_id=x").status_code == 401


def test_an_idle_child_sees_its_parent_gone_and_logs_it_once_not_at_every_step(
    parent: Node, child: Node, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name="community-1"
    )
    with TestClient(create_app(parent)) as client:
        link = FaultyLink(client)
        forward = forwarder(child, link, parent_settings(credential, events="none"))
        drain(forward)  # registered, nothing to send
        assert forward.link.is_up
        link.down = True
        caplog.set_level(logging.WARNING, logger="zhian.cascade.forwarder")
        asked = len(link.requests)
        for _ in range(100):  # five minutes of steps while the parent is away
            clock.advance(timedelta(seconds=3))
            forward.step()
        # Nothing to send, yet the link status the child reports went unanswered: down.
        assert not forward.link.is_up and "ConnectError" in forward.link.last_error
        assert read_health(child.settings.workspace).is_up is False  # type: ignore[union-attr]
        orders_asked = link.requests[asked:].count("/api/v1/cascade/orders")
        assert orders_asked == 1  # asked while the link was up, never while down
        failing = [r for r in caplog.records if "watchlist orders" in r.getMessage()]
        assert len(failing) == 1 and "could not fetch" in failing[0].getMessage()

        add_entry(parent, clock, PLATE, "J-CITY")
        link.down = False
        clock.advance(timedelta(seconds=10))  # past the longest pause (8 s here)
        drain(forward)
        assert forward.link.is_up
        back = [r for r in caplog.records if "watchlist orders" in r.getMessage()]
        assert len(back) == 2 and "works again" in back[1].getMessage()
        assert len(entries(child)) == 1  # asked at once after registering: applied
