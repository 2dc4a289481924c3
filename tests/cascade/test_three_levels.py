"""Three levels in one process: community → district → city. The city sees the community's
events and alert changes (relayed by the district) once each; a city watchlist entry
reaches the community through the district, and its hit comes back up to the city."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.cascade.parents import (
    FaultyLink,
    add_user,
    api,
    drain,
    forwarder,
    issue_token,
    open_child,
    open_parent,
    parent_events,
    parent_settings,
    submit,
)
from tests.cascade.test_orders import PLATE, add_entry, entries, plate_passes, watchlist_alerts
from tests.ingest.factories import access_event
from tests.web.conftest import alarm_event
from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import OnlineSample
from zhian.alerts.schemas import AlertFilter
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.models import ChildOnlineSummary
from zhian.cascade.repository import ChildDataRepository
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

KIND = "barrier"  # the device kind of the online samples the relay test records


@pytest.fixture
def tree(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Node, Node, Node]]:
    city = open_parent(tmp_path / "city", clock)
    district = open_parent(tmp_path / "district", clock)
    community = open_child(tmp_path / "community", clock)
    try:
        for node in (city, district):
            add_user(node, clock, "installer", "integrator", "J-STATION")
            add_user(node, clock, "command", "command_centre", "J-CITY")
        yield city, district, community
    finally:
        for node in (community, district, city):
            node.close()


@pytest.fixture
def links(
    tree: tuple[Node, Node, Node], clock: ManualClock
) -> Iterator[tuple[UpwardForwarder, UpwardForwarder, TestClient]]:
    city, district, community = tree
    forward = ("cascade.forward",)
    to_city = issue_token(city, clock, "installer", permissions=forward, name="district-1")
    to_district = issue_token(district, clock, "installer", permissions=forward, name="community-1")
    with TestClient(create_app(city)) as city_client, TestClient(create_app(district)) as near:
        up_district = forwarder(community, FaultyLink(near), parent_settings(to_district))
        settings = parent_settings(to_city, node_id="district-1")
        up_city = forwarder(district, FaultyLink(city_client), settings)
        yield up_district, up_city, city_client


def test_the_city_sees_the_community_once_and_its_order_hit_comes_back_up(
    tree: tuple[Node, Node, Node],
    links: tuple[UpwardForwarder, UpwardForwarder, TestClient],
    clock: ManualClock,
) -> None:
    city, district, community = tree
    up_district, up_city, city_client = links
    start = clock.now() - timedelta(minutes=10)
    for i in range(12):
        submit(community, [access_event(f"a-{i:02d}", start + timedelta(seconds=i))])
    submit(community, [alarm_event("fire-1", clock.now(), kind="fire")])
    community.rule_engine.drain()
    with community.alerts() as alerts:
        (fire,) = alerts.list_alerts(
            AlertFilter(kind="alarm_fire"), page=1, per_page=5, scope=JurisdictionScope.unscoped()
        ).items
        alerts.sign(fire.id, scope=JurisdictionScope.unscoped(), user_id=None, ip=None)
    entry = add_entry(city, clock, PLATE, "J-CITY")

    for _ in range(2):  # twice over: orders need a second round to go two levels down
        drain(up_district)
        drain(up_city)
        clock.advance(timedelta(seconds=11))  # the next time each asks for orders

    assert parent_events(city, "DOOR1") == [f"a-{i:02d}" for i in range(12)] + ["fire-1"]
    command = issue_token(city, clock, "command")
    seen = api(city_client, command, "/api/v1/cascade/alerts", node_id="community-1").json()
    assert [(c["alert_id"], c["to_state"]) for c in seen] == [(fire.id, "new"), (fire.id, "signed")]

    # The city's entry went down two levels (the district passes it on as its own copy).
    (at_district,) = entries(district)
    (at_community,) = entries(community)
    assert at_district.legal_basis_ref == at_community.legal_basis_ref == entry.legal_basis_ref
    assert at_community.expires_at == entry.expires_at

    plate_passes(community, clock, "v-1", PLATE)
    drain(up_district)
    district.rule_engine.drain()
    drain(up_city)
    assert len(watchlist_alerts(community)) == 1
    assert len(watchlist_alerts(district)) == 1  # on the copy it passed down
    (at_city,) = watchlist_alerts(city)  # the issuing level, once
    assert at_city.jurisdiction_id == "J-STATION"


def _add_community(node: Node, clock: ManualClock, community_id: str) -> None:
    with node.db.session() as session:
        report = RegistryService(session).load_rows(
            "communities",
            [
                {
                    "id": community_id,
                    "jurisdiction_id": "J-STATION",
                    "name": "Second Estate",
                    "kind": "open",
                    "latitude": 30.28,
                    "longitude": 120.16,
                }
            ],
        )
        assert report.rejected == 0, report.errors


def _sample(node: Node, at: datetime, community_id: str, total: int, online: int) -> None:
    """A sample of a device kind no node holds (its own samplers never report it)."""
    with node.alerts() as alerts:
        alerts.record_samples([OnlineSample(at, community_id, KIND, total, online)])


def test_the_district_relays_its_communities_online_summaries_to_the_city(
    tree: tuple[Node, Node, Node],
    links: tuple[UpwardForwarder, UpwardForwarder, TestClient],
    clock: ManualClock,
) -> None:
    city, district, community = tree
    up_district, up_city, _city_client = links
    for node in (city, district):
        _add_community(node, clock, "C2")  # a community of the district's own, no child node
    now = clock.now()
    _sample(community, now, "C1", total=4, online=3)  # counted at the community itself
    # The district's own samples: C1 from the events that reached it, C2 first-hand.
    _sample(district, now, "C1", total=4, online=1)
    _sample(district, now, "C2", total=6, online=6)
    drain(up_district)
    drain(up_city)
    # C1 once, as the community counted it (relayed, under the community's node id); C2
    # from the district; the district's own C1 figure is not sent on.
    assert _at_city(city) == [("community-1", "C1", 4, 3), ("district-1", "C2", 6, 6)]

    # Relaying moves on, and sends nothing twice: a newer community sample replaces the
    # older in the city's roll-up figures.
    _sample(community, now + timedelta(minutes=5), "C1", total=4, online=4)
    drain(up_district)
    drain(up_city)
    assert _at_city(city) == [
        ("community-1", "C1", 4, 3),
        ("community-1", "C1", 4, 4),
        ("district-1", "C2", 6, 6),
    ]
    with city.db.session() as session:
        latest = ChildDataRepository(session).latest_online(ChildOnlineSummary.device_kind == KIND)
    assert sorted(latest) == [("C1", 4, 4), ("C2", 6, 6)]


def _at_city(city: Node) -> list[tuple[str, str, int, int]]:
    with city.db.session() as session:
        rows = session.execute(
            select(
                ChildOnlineSummary.node_id,
                ChildOnlineSummary.community_id,
                ChildOnlineSummary.total,
                ChildOnlineSummary.online,
            )
            .where(ChildOnlineSummary.device_kind == KIND)
            .order_by(ChildOnlineSummary.node_id, ChildOnlineSummary.sampled_at)
        ).all()
    return [(str(n), str(c), int(t), int(o)) for n, c, t, o in rows]
