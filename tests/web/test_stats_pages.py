"""Statistics (专题统计): figures by area and period with 环比, the list behind a number,
the JSON API agreeing with the page, scope, permissions and clear errors."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.ingest.factories import access_event
from tests.metrics.test_catalogue import FORBIDDEN
from tests.web.conftest import alarm_event, log_in, submit, wait_for_alert
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.sim import TZ


@pytest.fixture
def node_settings() -> dict[str, Any]:
    """Devices stay online across the days these tests skip: the counts are the alarms'."""
    return {"rules": {"offline_seconds": 30 * 24 * 3600}}


def raise_alarms(node: Node, clock: ManualClock, *kinds: str) -> None:
    for index, kind in enumerate(kinds):
        stamp = clock.now().strftime("%Y%m%d%H%M")
        submit(node, alarm_event(f"{kind}-{stamp}-{index}", clock.now(), kind=kind))
        wait_for_alert(node, f"alarm_{kind}")


def figure(report: dict[str, object], metric: str, key: str | None = None) -> dict[str, object]:
    for item in report["figures"]:  # type: ignore[attr-defined]
        if item["metric"] == metric and item["key"] == key:
            return dict(item)
    raise AssertionError(f"no figure {metric}/{key}")


def row(html: str, metric: str, key: str = "") -> str:
    found = re.search(rf'<tr data-metric="{metric}" data-key="{key}">(.*?)</tr>', html, re.S)
    assert found, f"no row {metric}/{key}"
    return found.group(1)


def cell(html_row: str, name: str) -> str:
    found = re.search(rf'<td class="{name}">(.*?)</td>', html_row, re.S)
    assert found
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_day_against_the_day_before(client: TestClient, node: Node, clock: ManualClock) -> None:
    raise_alarms(node, clock, "fire")
    clock.advance(timedelta(days=1))
    raise_alarms(node, clock, "smoke", "tamper")
    log_in(client, "command")
    today = clock.now().strftime("%Y-%m-%d")

    report = client.get(f"/api/v1/stats?granularity=day&day={today}").json()
    alerts = figure(report, "alerts")
    assert (alerts["value"], alerts["previous"], alerts["change_previous_pct"]) == (2, 1, 100.0)
    # A year ago there was nothing: no ratio to a zero.
    assert alerts["year_before"] == 0 and alerts["change_year_pct"] is None
    assert figure(report, "alerts_by_tier", "minor")["value"] == 1
    # Stock figures: what the registry holds now (4 enabled devices of C1), no comparison.
    devices = figure(report, "devices")
    assert devices["value"] == 4 and devices["previous"] is None

    page = client.get(f"/stats?granularity=day&day={today}&lang=zh").text
    alerts_row = row(page, "alerts")
    assert cell(alerts_row, "value") == "2"
    assert cell(alerts_row, "mom") == "+100.0%"
    assert 'id="stats-trend-data"' in page


def test_the_list_behind_a_number_holds_that_many_alerts(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    raise_alarms(node, clock, "fire", "tamper")
    log_in(client, "command")
    page = client.get("/stats?jurisdiction=J-STATION&lang=zh").text
    link = re.search(r'class="list-link" href="([^"]+)"', row(page, "alerts_by_tier", "major"))
    assert link, "the major-tier figure links to its list"
    target = unescape(link.group(1))
    assert target.startswith("/alerts?") and "jurisdiction=J-STATION" in target
    wall = client.get(target)
    assert wall.status_code == 200
    shown = len(re.findall(r'<tr[^>]*data-alert-id="', wall.text))
    assert shown == int(cell(row(page, "alerts_by_tier", "major"), "value")) == 1


def test_page_and_api_use_the_users_scope(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    raise_alarms(node, clock, "fire")
    log_in(client, "outsider")  # the station beside: none of these alerts
    report = client.get("/api/v1/stats").json()
    assert figure(report, "alerts")["value"] == 0
    assert figure(report, "devices")["value"] == 0
    refused = client.get("/api/v1/stats?jurisdiction=J-STATION")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "jurisdiction"
    assert client.get("/stats?jurisdiction=J-STATION").status_code == 400


def test_bad_input_names_the_field(client: TestClient) -> None:
    log_in(client, "command")
    for query, field in (
        ("granularity=year", "granularity"),
        ("day=2026-13-01", "day"),
        ("day=1999-01-01", "day"),
    ):
        response = client.get(f"/api/v1/stats?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["field"] == field
    trend = client.get("/api/v1/stats/trend?metric=population")
    assert trend.status_code == 400 and trend.json()["error"]["field"] == "metric"
    assert client.get("/stats?metric=nonsense").status_code == 400


def test_trend_counts_each_period(client: TestClient, node: Node, clock: ManualClock) -> None:
    raise_alarms(node, clock, "fire")
    clock.advance(timedelta(days=2))
    raise_alarms(node, clock, "smoke")
    log_in(client, "command")
    points = client.get("/api/v1/stats/trend?metric=alerts&periods=3").json()
    assert [p["value"] for p in points] == [1, 0, 1]
    assert points[-1]["period"] == clock.now().strftime("%Y-%m-%d")


def test_only_roles_with_the_figures_see_the_page(client: TestClient) -> None:
    log_in(client, "grid")
    assert client.get("/stats").status_code == 403
    assert client.get("/api/v1/stats").status_code == 403
    assert 'href="/stats' not in client.get("/workbench").text
    log_in(client, "analyst")
    assert client.get("/stats").status_code == 200
    assert 'href="/stats?lang=' in client.get("/stats").text


def test_passages_by_direction_type_and_hour_and_the_reporting_rate(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    now = clock.now()  # 09:00 in +08:00
    submit(
        node,
        access_event("p-1", now - timedelta(minutes=30), direction="in"),
        access_event("p-2", now - timedelta(minutes=20), direction="in"),
        access_event("p-3", now + timedelta(minutes=5), direction="out"),
        # Another day: not in today's figures.
        access_event("p-4", now - timedelta(days=1), direction="in"),
    )
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "command")
    report = client.get("/api/v1/stats?granularity=day").json()
    assert figure(report, "passages")["value"] == 3
    assert figure(report, "passages", None)["previous"] == 1
    assert figure(report, "passages_by_direction", "in")["value"] == 2
    assert figure(report, "passages_by_direction", "out")["value"] == 1
    assert figure(report, "passages_by_type", "access")["value"] == 3
    # Local hours of the day: 08:30 and 08:40 fall in 08, 09:05 in 09.
    assert figure(report, "passages_by_hour", "08")["value"] == 2
    assert figure(report, "passages_by_hour", "09")["value"] == 1
    # One door of the four enabled devices sent events today (received today: all four
    # events arrived now, the one of yesterday included).
    assert figure(report, "data_reporting_rate")["value"] == 25.0
    page = client.get("/stats?lang=zh").text
    assert cell(row(page, "passages_by_direction", "in"), "value") == "2"
    assert "进" in row(page, "passages_by_direction", "in")


GATE = {"id": "GATE1", "kind": "vehicle_gate", "name": "North vehicle gate", "community_id": "C1",
        "building_id": None, "unit_id": None, "zone_id": None, "gateway_id": None,
        "latitude": 30.27, "longitude": 120.15, "is_enabled": True}  # fmt: skip
RESIDENT_CAR, VISITOR, COURIER = "浙A12345", "浙B67890", "浙C24680"


def vehicle(event_id: str, at: datetime, plate: str, device: str = "GATE1") -> dict[str, Any]:
    return {"type": "vehicle", "id": event_id, "device_id": device, "time": at.isoformat(),
            "plate": plate, "plate_color": "blue", "vehicle_class": "car",
            "direction": "in"}  # fmt: skip


def test_visiting_vehicles_are_plates_at_the_gates_not_registered_to_the_area(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    load_gate_and_resident_car(node, clock)
    now = clock.now()
    submit(
        node,
        vehicle("v-1", now - timedelta(hours=2), RESIDENT_CAR),  # registered here: not a visit
        vehicle("v-2", now - timedelta(hours=2), VISITOR),
        vehicle("v-3", now - timedelta(hours=1), VISITOR),  # the same plate: one vehicle
        vehicle("v-4", now - timedelta(minutes=30), COURIER),
        vehicle("v-5", now - timedelta(minutes=20), "浙D13579", device="CAM1"),  # not a gate
        vehicle("v-6", now - timedelta(days=1), COURIER),  # yesterday
    )
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "command")
    report = client.get("/api/v1/stats?granularity=day").json()
    visiting = figure(report, "visiting_vehicles")
    assert (visiting["value"], visiting["previous"], visiting["change_previous_pct"]) == (
        2,
        1,
        100.0,
    )
    assert figure(report, "vehicles")["value"] == 1
    page = client.get("/stats?lang=zh").text
    assert cell(row(page, "visiting_vehicles"), "value") == "2"
    assert "来访车辆" in row(page, "visiting_vehicles")
    trend = client.get("/api/v1/stats/trend?metric=visiting_vehicles&periods=2").json()
    assert [p["value"] for p in trend] == [1, 2]
    # The daily report prints the same figure.
    book = load_workbook(io.BytesIO(client.get("/reports/daily.xlsx?lang=zh").content))
    rows = {r[0]: r[1:] for r in book["报表"].iter_rows(values_only=True) if r and r[0]}
    assert rows["来访车辆"][0] == 2 and rows["来访车辆"][1] == 100.0
    # Another station's officer sees none of this gate's visitors.
    log_in(client, "outsider")
    assert figure(client.get("/api/v1/stats").json(), "visiting_vehicles")["value"] == 0


def load_gate_and_resident_car(node: Node, clock: ManualClock) -> None:
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        for entity, rows in (
            ("devices", [GATE]),
            ("vehicles", [{"id": "V1", "plate": RESIDENT_CAR, "plate_color": "blue",
                           "vehicle_class": "car", "community_id": "C1", "owner_id": None}]),
        ):  # fmt: skip
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
        DeviceService(session).issue_tokens(["GATE1"], now=clock.now())
    node.refresh_directory()


def test_the_visiting_vehicles_list_holds_the_plates_behind_the_number(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    load_gate_and_resident_car(node, clock)
    now = clock.now()
    submit(
        node,
        vehicle("v-1", now - timedelta(hours=2), RESIDENT_CAR),
        vehicle("v-2", now - timedelta(hours=2), VISITOR),
        vehicle("v-3", now - timedelta(hours=1), VISITOR),
        vehicle("v-4", now - timedelta(minutes=30), COURIER),
        vehicle("v-5", now - timedelta(days=1), COURIER),  # yesterday
    )
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "command")
    page = client.get("/stats?granularity=day&lang=zh").text
    number = int(cell(row(page, "visiting_vehicles"), "value"))
    link = re.search(r'class="list-link" href="([^"]+)"', row(page, "visiting_vehicles"))
    assert link, "the visiting vehicles figure links to its list"
    listing = client.get(unescape(link.group(1)))
    assert listing.status_code == 200
    rows = re.findall(r'<tr class="visiting-vehicle">(.*?)</tr>', listing.text, re.S)
    assert len(rows) == number == 2
    # Masked as on the passages page, the busiest first, with its gate and passages.
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", r, re.S) for r in rows]
    assert [c[0] for c in cells] == ["浙B***90", "浙C***80"]
    assert VISITOR not in listing.text and COURIER not in listing.text
    assert RESIDENT_CAR[-2:] + "<" not in listing.text.replace("浙B***90", "")
    assert [c[4] for c in cells] == ["2", "1"]
    assert all("North vehicle gate" in c[3] for c in cells)
    first, last = (
        (now - timedelta(hours=2)).astimezone(TZ),
        (now - timedelta(hours=1)).astimezone(TZ),
    )
    assert (cells[0][1].strip(), cells[0][2].strip()) == (
        first.strftime("%Y-%m-%d %H:%M"),
        last.strftime("%Y-%m-%d %H:%M"),
    )
    # The read is audited with the area, the period and the rows shown.
    with node.db.session() as session:
        entries = node.governance.audit(session).search(action="stats.visiting_vehicles")
    assert [(e.details or {}).get("rows") for e in entries] == [2]
    # Yesterday's list: the courier alone; another station sees none.
    yesterday = (now - timedelta(days=1)).astimezone(TZ).strftime("%Y-%m-%d")
    old = client.get(f"/stats/visiting-vehicles?granularity=day&day={yesterday}").text
    assert len(re.findall(r'<tr class="visiting-vehicle">', old)) == 1
    log_in(client, "outsider")
    outside = client.get("/stats/visiting-vehicles?granularity=day")
    assert outside.status_code == 200 and 'id="visiting-none"' in outside.text
    assert client.get("/stats/visiting-vehicles?jurisdiction=J-STATION").status_code == 400
    log_in(client, "grid")
    assert client.get("/stats/visiting-vehicles").status_code == 403


# What a list page shows for each row, and what it says when it has none.
LIST_ROWS = re.compile(
    r'<tr[^>]*(data-alert-id|data-case-id|data-event|data-tip-id|data-community|data-device-id)="'
    r'|<tr class="(visiting-vehicle|registry-row)"'
)
LIST_NONE = re.compile(
    r'id="(pas-none|case-empty|visiting-none|registry-none|tips-recent-none)"'
    r"|没有符合条件的预警"
)


def test_every_figure_on_the_page_opens_the_list_behind_it(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    raise_alarms(node, clock, "fire", "tamper")
    load_gate_and_resident_car(node, clock)
    now = clock.now()
    submit(
        node,
        access_event("p-1", now - timedelta(minutes=30), direction="in"),
        vehicle("v-1", now - timedelta(minutes=20), VISITOR),
    )
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "command")
    for granularity in ("day", "month"):
        page = client.get(f"/stats?granularity={granularity}&lang=zh").text
        figures = re.findall(r'<tr data-metric="([^"]+)" data-key="([^"]*)">(.*?)</tr>', page, re.S)
        assert {metric for metric, _key, _html in figures} >= {
            "population", "houses", "vehicles", "devices", "device_online_rate", "passages",
            "passages_by_direction", "passages_by_hour", "data_reporting_rate",
            "visiting_vehicles", "alerts", "alerts_by_kind", "median_sign_minutes",
            "overdue_rate", "registry_tasks_completed", "resident_satisfaction",
        }  # fmt: skip
        for metric, key, html in figures:
            link = re.search(r'class="list-link" href="([^"]+)"', html)
            assert link, f"{metric}/{key} has no list behind it"
            target = unescape(link.group(1))
            listing = client.get(target)
            assert listing.status_code == 200, (metric, key, target, listing.text[:300])
            assert LIST_ROWS.search(listing.text) or LIST_NONE.search(listing.text), (
                metric,
                key,
                target,
            )


def test_the_registry_lists_match_the_stock_figures(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    load_gate_and_resident_car(node, clock)
    log_in(client, "command")
    report = client.get("/api/v1/stats").json()
    for metric, key, marker in (
        ("population", "household", "/residents/"),
        ("population", "floating", "/residents/"),
        ("houses", None, "/archives/houses/"),
        ("vehicles", None, "/archives/vehicles/"),
    ):
        shown = figure(report, metric, key)["value"] if key else None
        if metric == "houses":
            shown = sum(
                int(f["value"]) for f in report["figures"] if f["metric"] == "houses" and f["key"]
            )
        if metric == "vehicles":
            shown = figure(report, "vehicles")["value"]
        listing = client.get(f"/stats/registry?figure={metric}&key={key or ''}&lang=zh")
        assert listing.status_code == 200
        rows = re.findall(r'<tr class="registry-row">(.*?)</tr>', listing.text, re.S)
        assert len(rows) == shown, (metric, key)
        assert all(marker in r for r in rows)
    vehicles = client.get("/stats/registry?figure=vehicles").text
    assert RESIDENT_CAR not in vehicles and "浙A***45" in vehicles
    with node.db.session() as session:
        audited = node.governance.audit(session).search(action="stats.registry_list")
    assert len(audited) == 5
    for query in ("figure=people", "figure=population&key=x"):
        assert client.get(f"/stats/registry?{query}").status_code == 400, query
    # Another station's officer: none of these vehicles, and no way into this station.
    log_in(client, "outsider")
    assert 'id="registry-none"' in client.get("/stats/registry?figure=vehicles").text
    assert client.get("/stats/registry?figure=vehicles&jurisdiction=J-STATION").status_code == 400


def test_a_passage_figure_opens_its_window_and_never_a_plate_search(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    now = clock.now()  # 09:00 in +08:00
    submit(
        node,
        access_event("p-1", now - timedelta(minutes=30), direction="in"),
        access_event("p-2", now - timedelta(minutes=20), direction="out"),
        access_event("p-3", now - timedelta(hours=3), direction="in"),
    )
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "command")
    page = client.get("/stats?granularity=day&lang=zh").text
    for metric, key, expected in (
        ("passages_by_hour", "08", {"p-1", "p-2"}),
        ("passages_by_direction", "in", {"p-1", "p-3"}),
        ("passages", "", {"p-1", "p-2", "p-3"}),
    ):
        link = re.search(r'class="list-link" href="([^"]+)"', row(page, metric, key))
        assert link, metric
        listing = client.get(unescape(link.group(1))).text
        assert set(re.findall(r'<tr data-event="([^"]+)"', listing)) == expected, metric
    # A plate or a person in an address is no search: the page ignores it, nothing audited.
    plain = client.get("/passages?plate=浙B67890&case_number=X1&reason=r").text
    assert len(re.findall(r"<tr data-event=", plain)) == 3
    with node.db.session() as session:
        assert node.governance.audit(session).search(action="passages.subject_search") == []


def test_no_figure_or_list_counts_people_by_ethnicity_or_region_of_origin(
    client: TestClient,
) -> None:
    """What the API answers has no such figure or breakdown, and asking for one is refused
    naming the field (DESIGN.md, "what Zhian does not do")."""
    log_in(client, "command")
    report = client.get("/api/v1/stats?granularity=month").json()
    said = {str(f["metric"]) for f in report["figures"]} | {
        str(f["key"]) for f in report["figures"] if f["key"]
    }
    assert {"household", "floating"} <= said  # population: by registration type only
    assert not [word for word in said if FORBIDDEN.search(word)], said
    for metric in ("ethnicity", "origin", "population_by_ethnicity"):
        trend = client.get(f"/api/v1/stats/trend?metric={metric}")
        assert trend.status_code == 400 and trend.json()["error"]["field"] == "metric"
    for key in ("ethnicity", "origin"):
        listing = client.get(f"/stats/registry?figure=population&key={key}")
        assert listing.status_code == 400 and "key" in listing.text
