"""The models page: running precision, and a community's parameter form (CSRF, scope)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.web.session import sign_in
from zhian.access.roles import Role
from zhian.access.service import AccessService
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.models.parameters import ParameterService
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, build_district
from zhian.web.app import create_app

PASSWORD = "correct horse battery staple"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
STATION = "330102-PS01"  # the simulator's police station: C01–C03 lie below it
OTHER_COMMUNITY = "330102-PS01-02"  # the jurisdiction of C02 only


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Node, TestClient]]:
    settings = load_settings(tmp_path / "ws", web={"secret_key": "m" * 40})
    clock = ManualClock(datetime(2026, 11, 1, 9, 0, tzinfo=TZ))
    with Node.open(settings, clock, feed=False) as node:
        district = build_district(seed=2, scale=0.1)
        district.write_csv(tmp_path / "csv")
        reports = import_paths(
            node.db,
            sorted((tmp_path / "csv").glob("*.csv")),
            identity=node.governance.require_sealer(),
        )
        assert all(report.rejected == 0 for report in reports)
        with node.db.session() as session:
            access = AccessService(session, password_hasher=FAST_HASHER)
            access.create_user(
                "station", PASSWORD, role=Role.STATION_OFFICER, jurisdiction_id=STATION,
                now=clock.now(),
            )  # fmt: skip
            access.create_user(
                "far", PASSWORD, role=Role.STATION_OFFICER, jurisdiction_id=OTHER_COMMUNITY,
                now=clock.now(),
            )  # fmt: skip
            access.create_user(
                "analyst", PASSWORD, role=Role.ANALYST, jurisdiction_id=STATION, now=clock.now()
            )
        with TestClient(create_app(node), follow_redirects=False) as client:
            yield node, client


def test_models_page_lists_every_model_with_its_precision(
    site: tuple[Node, TestClient],
) -> None:
    _, client = site
    sign_in(client, "analyst", PASSWORD)
    page = client.get("/models?lang=zh")
    assert page.status_code == 200
    for title in ("疑似未登记居住", "疑似已搬离", "疑似空置", "僵尸车", "疑似踩点", "关爱探访"):
        assert title in page.text
    assert 'href="/models/communities/C01"' in page.text


def test_a_station_officer_changes_a_communitys_parameters(
    site: tuple[Node, TestClient],
) -> None:
    node, client = site
    sign_in(client, "station", PASSWORD)
    form = client.get("/models/communities/C01")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    saved = client.post("/models/communities/C01", data={"moved_out_absent_days": "30"})
    assert saved.status_code == 303
    with node.db.session() as session:
        assert ParameterService(session).overrides() == {"C01": {"moved_out_absent_days": 30.0}}
    bad = client.post("/models/communities/C01", data={"casing_min_units": "many"})
    assert bad.status_code == 400 and "casing_min_units" in bad.text


def test_the_form_needs_its_csrf_token(site: tuple[Node, TestClient]) -> None:
    node, client = site
    sign_in(client, "station", PASSWORD)
    client.headers.pop("X-CSRF-Token")
    refused = client.post("/models/communities/C01", data={"vacant_absent_days": "20"})
    assert refused.status_code == 403
    with node.db.session() as session:
        assert ParameterService(session).overrides() == {}


def test_communities_outside_the_jurisdiction_are_not_found(
    site: tuple[Node, TestClient],
) -> None:
    _, client = site
    sign_in(client, "far", PASSWORD)
    assert client.get("/models/communities/C02").status_code == 200
    assert client.get("/models/communities/C01").status_code == 404
    assert client.post("/models/communities/C01", data={}).status_code == 404


def test_analysts_read_but_do_not_change(site: tuple[Node, TestClient]) -> None:
    _, client = site
    sign_in(client, "analyst", PASSWORD)
    assert client.get("/models/communities/C01").status_code == 200
    assert client.post("/models/communities/C01", data={}).status_code == 403


def test_place_type_thresholds_are_read_by_all_and_set_by_who_holds_every_community(
    site: tuple[Node, TestClient],
) -> None:
    node, client = site
    sign_in(client, "analyst", PASSWORD)
    listed = client.get("/models?lang=zh")
    assert 'href="/models/place-types/campsite"' in listed.text and "营地" in listed.text
    page = client.get("/models/place-types/campsite")
    assert page.status_code == 200 and 'name="zombie_absent_days"' in page.text
    assert 'name="muck_allowed_from_hour"' not in page.text  # only stays and vacancy
    assert client.post("/models/place-types/campsite", data={}).status_code == 403
    assert client.get("/models/place-types/ski_resort").status_code == 404

    sign_in(client, "far", PASSWORD)  # may change C02's own values, not every community's
    refused = client.post("/models/place-types/campsite", data={"zombie_absent_days": "30"})
    assert refused.status_code == 403
    assert 'name="zombie_absent_days"' in client.get("/models/place-types/campsite").text

    sign_in(client, "station", PASSWORD)  # the station holds every community of the node
    saved = client.post(
        "/models/place-types/campsite",
        data={"zombie_absent_days": "30", "vacant_absent_days": "14"},
    )
    assert saved.status_code == 303
    with node.db.session() as session:
        assert ParameterService(session).place_type_overrides() == {
            "campsite": {"zombie_absent_days": 30.0}  # 14 is the default: nothing stored
        }
    bad = client.post("/models/place-types/campsite", data={"vacant_absent_days": "0"})
    assert bad.status_code == 400 and 'data-field="vacant_absent_days"' in bad.text
    shown = client.get("/models/place-types/campsite?lang=en")
    assert 'value="30.0"' in shown.text and "Campsite" in shown.text


def test_a_communitys_restricted_places_are_shown_with_plates_masked(
    site: tuple[Node, TestClient],
) -> None:
    from zhian.governance.masking import mask_plate
    from zhian.registry.service import RegistryService

    node, client = site
    sign_in(client, "station", PASSWORD)
    assert 'id="restrictions-none"' in client.get("/models/communities/C01?lang=en").text
    district = build_district(seed=2, scale=0.1)
    gate = next(
        str(d["id"])
        for d in district.tables["devices"]
        if d["kind"] == "vehicle_gate" and d["community_id"] == "C01"
    )
    with node.db.session() as session:
        report = RegistryService(session, identity=node.governance.require_sealer()).load_rows(
            "place_restrictions",
            [{"id": "G1", "device_id": gate, "name": "护林通道", "allowed_owners": "community",
              "allowed_from_hour": "6", "allowed_until_hour": "20", "allowed_plates": "浙AF0001"}],
        )  # fmt: skip
        assert report.inserted == 1, report.errors
    page = client.get("/models/communities/C01?lang=zh").text
    row = page.split('data-restriction="G1"')[1].split("</tr>")[0]
    assert "护林通道" in row and "6:00–20:00" in row and "双向" in row
    assert mask_plate("浙AF0001") in row and "浙AF0001" not in page
    # Another community's page does not list it.
    assert 'data-restriction="G1"' not in client.get("/models/communities/C02").text
