"""Hotspots (热力图) through the app: the ranked cells per station (API and page) and the map
layer, within the user's jurisdiction, for the roles that may see cases."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.cases.factories import simulated_cases
from tests.web.conftest import log_in
from zhian.access.scope import JurisdictionScope
from zhian.cases.hotspot_service import FIT_CACHE
from zhian.cases.service import CaseService
from zhian.kit.clock import ManualClock
from zhian.node import Node


@pytest.fixture
def with_cases(node: Node) -> None:
    """The simulator's cases of 300 days before the test clock, all in J-STATION."""
    with node.db.session() as session:
        cases = CaseService(session, clock=node.clock, settings=node.settings.cases,
                            scope=JurisdictionScope.unscoped())  # fmt: skip
        for case in simulated_cases(days=300, series=10, per_day=1.0):
            cases.create(case.model_copy(update={"jurisdiction_id": "J-STATION", "is_solved": False,
                                                 "offender_ref": None}),
                         user_id=None, source="sim")  # fmt: skip


def test_the_station_sees_its_cells_ranked(client: TestClient, with_cases: None) -> None:
    log_in(client, "station")
    response = client.get("/api/v1/hotspots", params={"limit": 10})
    assert response.status_code == 200, response.text
    [station] = response.json()["stations"]
    assert station["station_id"] == "J-STATION" and station["method"] == "self_exciting"
    assert station["cell_m"] == 150 and station["cases_used"] > 200
    cells = station["cells"]
    assert [c["rank"] for c in cells] == list(range(1, 11))
    scores = [c["score"] for c in cells]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 0
    assert sum(c["past_cases"] for c in cells) > 0
    for cell in cells:
        assert cell["south"] < cell["latitude"] < cell["north"]
        assert cell["west"] < cell["longitude"] < cell["east"]
        assert set(cell) == {"rank", "latitude", "longitude", "south", "west", "north",
                             "east", "score", "share", "past_cases", "long_term",
                             "near_repeat"}  # fmt: skip
        # Why the cell ranks: its score is the long-term part plus the near-repeat part.
        assert cell["long_term"] > 0 and cell["near_repeat"] >= 0
        assert cell["long_term"] + cell["near_repeat"] == pytest.approx(cell["score"], abs=2e-4)
    naive = client.get("/api/v1/hotspots", params={"method": "naive", "limit": 3}).json()
    top = naive["stations"][0]["cells"]
    assert [c["score"] for c in top] == sorted((c["score"] for c in top), reverse=True)
    assert int(top[0]["score"]) == top[0]["past_cases"]  # counts, ties broken by recency
    assert all(c["near_repeat"] == 0 and c["long_term"] == c["score"] for c in top)


def test_bad_options_are_named_and_other_stations_are_not_found(
    client: TestClient, with_cases: None
) -> None:
    log_in(client, "station")
    bad = client.get("/api/v1/hotspots", params={"method": "crystal_ball"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "method"
    other = client.get("/api/v1/hotspots", params={"station": "J-OTHER"})
    assert other.status_code == 404 and other.json()["error"]["field"] == "station"
    log_in(client, "outsider")  # a station officer of J-OTHER: none of J-STATION's cases
    assert client.get("/api/v1/hotspots").json() == {"stations": []}
    assert client.get("/api/v1/map/hotspots").json()["features"] == []


def test_the_map_layer_and_the_page(client: TestClient, with_cases: None) -> None:
    log_in(client, "analyst")
    layer = client.get("/api/v1/map/hotspots")
    assert layer.status_code == 200
    features = layer.json()["features"]
    assert len(features) == 50
    assert features[0]["geometry"]["type"] == "Polygon"
    assert features[0]["properties"]["rank"] == 1
    map_page = client.get("/map")
    assert '"hotspots"' in map_page.text
    page = client.get("/hotspots", params={"lang": "en"})
    assert page.status_code == 200
    assert "Case hotspots" in page.text and 'data-station="J-STATION"' in page.text
    assert page.text.count("data-rank=") == 20
    # The self-exciting forecast says why each cell ranks: long-term and near-repeat parts.
    assert "Long-term part" in page.text and "Near-repeat part" in page.text
    assert page.text.count('class="near-repeat"') == 20
    zh = client.get("/hotspots", params={"method": "kde", "lang": "zh"})
    assert "核密度" in zh.text and "不对任何个人评分" in zh.text
    assert "其中近重复" not in zh.text  # kernel density has no near-repeat part
    assert "其中近重复" in client.get("/hotspots", params={"lang": "zh"}).text
    wrong = client.get("/hotspots", params={"method": "nope"})
    assert wrong.status_code == 400 and 'data-field="method"' in wrong.text


def test_roles_without_cases_see_neither_the_page_nor_the_menu_entry(
    client: TestClient, with_cases: None
) -> None:
    log_in(client, "grid")
    assert client.get("/api/v1/hotspots").status_code == 403
    assert client.get("/hotspots").status_code == 403
    assert 'href="/hotspots' not in client.get("/workbench").text
    log_in(client, "station")
    assert 'href="/hotspots' in client.get("/workbench").text


def test_a_station_gets_its_shift_plan_as_json_csv_and_excel(
    client: TestClient, with_cases: None
) -> None:
    log_in(client, "station")
    plan = client.get("/api/v1/patrols/J-STATION", params={"officers": 3})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert body["station_id"] == "J-STATION" and body["officers_per_shift"] == 3
    assert [s["name"] for s in body["shifts"]] == ["day", "evening", "night"]
    stops = body["stops"]
    assert len(stops) == 3 * 3 * 3  # shifts × officers × points per officer
    for shift in ("day", "evening", "night"):
        mine = [s for s in stops if s["shift"] == shift]
        assert {s["officer"] for s in mine} == {1, 2, 3}
        risks = [s["risk"] for s in mine]
        assert risks == sorted(risks, reverse=True) and risks[0] > 0
        assert all(len(s["hours"]) == 2 for s in mine)
        assert sum(s["share"] for s in mine) <= 1.0 + 1e-6
    csv_file = client.get("/api/v1/patrols/J-STATION", params={"format": "csv"})
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_file.headers["content-disposition"]
    lines = csv_file.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("station,date,shift,officer,order") and len(lines) == 1 + 18
    xlsx = client.get("/api/v1/patrols/J-STATION", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 1 + 18
    bad = client.get("/api/v1/patrols/J-STATION", params={"format": "pdf"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "format"
    assert client.get("/api/v1/patrols/J-OTHER").status_code == 404
    log_in(client, "outsider")
    assert client.get("/api/v1/patrols/J-STATION").status_code == 404


def test_patrol_points_on_the_map_the_workbench_and_the_page(
    client: TestClient, with_cases: None
) -> None:
    log_in(client, "station")
    layer = client.get("/api/v1/map/patrols").json()
    # The test clock is 09:00: the day shift's points, two officers with three each.
    assert len(layer["features"]) == 6
    assert {f["properties"]["shift"] for f in layer["features"]} == {"day"}
    assert '"patrols"' in client.get("/map").text
    assert 'hx-get="/workbench/_patrols' in client.get("/workbench").text
    part = client.get("/workbench/_patrols", params={"lang": "en"})
    assert part.status_code == 200 and part.text.count('data-shift="day"') == 6
    assert 'data-shift="night"' not in part.text
    page = client.get("/hotspots", params={"lang": "en"})
    assert "Patrol plan" in page.text and page.text.count('data-shift="night"') == 6
    log_in(client, "grid")
    assert client.get("/workbench/_patrols").status_code == 403
    assert "workbench/_patrols" not in client.get("/workbench").text


def holds(cell: dict[str, float], point: tuple[float, float]) -> bool:
    return cell["south"] <= point[0] < cell["north"] and cell["west"] <= point[1] < cell["east"]


def test_the_fit_is_kept_between_requests_and_redone_when_the_cases_change(
    client: TestClient, clock: ManualClock, with_cases: None
) -> None:
    FIT_CACHE.clear()
    log_in(client, "station")
    first = client.get("/api/v1/hotspots", params={"limit": 5}).json()
    assert (FIT_CACHE.misses, FIT_CACHE.hits) == (1, 0)
    again = client.get("/api/v1/hotspots", params={"limit": 5}).json()
    assert (FIT_CACHE.misses, FIT_CACHE.hits) == (1, 1) and again == first
    # Time passing alone changes no case: the same fit, the triggered risk decayed further.
    clock.advance(timedelta(hours=6))
    later = client.get("/api/v1/hotspots", params={"limit": 5}).json()
    assert (FIT_CACHE.misses, FIT_CACHE.hits) == (1, 2)
    # A new case: the station's cases changed, so the model is fitted again, and the cell
    # of the new case now expects more.
    top = first["stations"][0]["cells"][0]
    created = client.post("/api/v1/cases", json={
        "id": "A-2026-0777", "category": "burglary",
        "time_from": (clock.now() - timedelta(hours=3)).isoformat(),
        "latitude": top["latitude"], "longitude": top["longitude"],
        "jurisdiction_id": "J-STATION",
    })  # fmt: skip
    assert created.status_code == 201, created.text
    after = client.get("/api/v1/hotspots", params={"limit": 5}).json()
    assert FIT_CACHE.misses == 2
    # (the grid is laid over the cases afresh, so cells are found by the point they hold)
    point = (top["latitude"], top["longitude"])
    cell = next(c for c in after["stations"][0]["cells"] if holds(c, point))
    before = next(c for c in later["stations"][0]["cells"] if holds(c, point))
    assert cell["score"] > before["score"]
    # ... and says so: the rise is in the near-repeat part.
    assert cell["near_repeat"] > before["near_repeat"]
    assert after["stations"][0]["cases_used"] == later["stations"][0]["cases_used"] + 1
    # What the cache answers is what a fresh fit gives.
    FIT_CACHE.clear()
    assert client.get("/api/v1/hotspots", params={"limit": 5}).json() == after
    assert (FIT_CACHE.misses, FIT_CACHE.hits) == (1, 0)
