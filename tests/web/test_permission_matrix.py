"""The permission matrix over every route of the real app: anonymous, wrong role, allowed,
and wrong jurisdiction where a route reads scoped data. A route missing from the route map
fails the suite."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tests.alerts.factories import draft
from tests.ingest.factories import access_event, load_master_data
from tests.web.session import sign_in
from zhian.access.permissions import PERMISSIONS_BY_NAME
from zhian.access.roles import UNSCOPED_ROLES, Role
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.case_library.schemas import CaseStudyWrite
from zhian.case_library.service import CaseLibraryService
from zhian.cases.linkage import FEATURES, LinkageModel
from zhian.cases.models import LinkageModelVersion
from zhian.cases.schemas import CaseCreate
from zhian.cases.service import CaseService
from zhian.cases.settings import CaseSettings
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.watchlists.schemas import LegalBasisKind, WatchlistEntryCreate, WatchTarget
from zhian.watchlists.service import WatchlistService
from zhian.web.app import create_app
from zhian.web.layout import NAVIGATION
from zhian.web.permissions import (
    ROUTES,
    SELF_AUTHENTICATED,
    ByPathParameter,
    iter_routes,
    unknown_permissions,
)
from zhian.web.sessions import SESSION_COOKIE

PASSWORD = "correct horse battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)

# Values for path parameters: records that exist in J-STATION (the fixture fills in the ids
# it creates), so an allowed request reaches the handler's real work. A 404 there means the
# route lost the record (a scope rule that disagrees with the guard), not "allowed".
PATH_VALUES = {
    "alert_id": "",  # a minor alert in C1: every responder role may act on it
    "step": "confirm",
    "ref": "missing.jpg",  # an image the alert does not hold: 400, never a file read
    "subscription_id": "1",
    "device_id": "DOOR1",
    "community_id": "C1",
    "place_type": "campsite",
    "resident_id": "R1",
    "entry_id": "",  # a watchlist entry of J-STATION
    "study_id": "",  # a case library entry of J-STATION
    "case_id": "CASE-1",  # cases of J-STATION
    "other_id": "CASE-2",
    "version_id": "",  # a linkage model version
    "station_id": "J-STATION",  # a patrol plan from its two cases
    "building_id": "C1-B1",
    "house_id": "H1",
    "vehicle_id": "V1",
    "restriction_id": "C1-R1",  # a restricted place at DOOR1 (the fixture stores it)
    "event_id": "matrix-passage-1",  # a door passage at DOOR1 (the fixture stores it)
    "z": "1",
    "x": "0",
    "y": "0",
}

# Routes whose allowed column cannot be exercised by one generic request, and why.
NOT_EXERCISED_WHEN_ALLOWED = {
    ("GET", "/api/v1/live"): "an endless SSE stream; tests/web/test_pages.py follows it",
    ("GET", "/map/tiles/{z}/{x}/{y}"): "this node has no MBTiles file (404 by design); "
    "tests/web/test_map_api.py serves one",
    ("POST", "/models/place-types/{place_type}"): "also needs a jurisdiction holding every "
    "community, which no user here has (403 by design); tests/models/test_model_views.py "
    "signs in one",
    **{
        route: "a cross-node search request is its asker's own (404 for everyone else by "
        "design); tests/cascade/test_cross_search.py asks one and reads it"
        for route in (
            ("GET", "/api/v1/cascade/searches/{request_id}"),
            ("GET", "/cascade/searches/{request_id}"),
            ("GET", "/cascade/searches/{request_id}/progress"),
            ("GET", "/cascade/searches/{request_id}/answers/{node_id}"),
        )
    },
    ("POST", "/models/communities/{community_id}/restrictions/{restriction_id}/remove"): "the "
    "first allowed role removes the rule, the next finds it gone (404 by design); "
    "tests/models/test_restriction_views.py removes one",
    ("POST", "/procedures"): "procedures apply node-wide: also needs a jurisdiction holding "
    "every community, which no user here has (403 by design); "
    "tests/web/test_procedures_page.py signs in one",
}
CASE_STUDY = CaseStudyWrite(
    title="电动车楼道起火处置",
    category="fire",
    summary="五分钟到场疏散",
    lessons="楼道禁止充电",
    occurred_at=datetime(2026, 11, 19, tzinfo=UTC),
    jurisdiction_id="J-STATION",
)


class _NoLinks:
    def has_alert(self, alert_id: int) -> bool:
        return False

    def has_incident(self, incident_id: int) -> bool:
        return False

    def has_case(self, case_id: str) -> bool:
        return False


# Extra master data: a second station with its own community and device.
OTHER_PLACE = {
    "jurisdictions": [
        {"id": "J-OTHER", "parent_id": "J-CITY", "level": "station", "name": "南站"},
        {"id": "J-OTHER-C", "parent_id": "J-OTHER", "level": "community", "name": "南苑社区"},
    ],
    "communities": [
        {
            "id": "C9",
            "jurisdiction_id": "J-OTHER-C",
            "name": "South Garden",
            "kind": "gated",
            "latitude": 30.2,
            "longitude": 120.1,
        }
    ],
    "devices": [
        {
            "id": "D9",
            "kind": "door",
            "name": "South door",
            "community_id": "C9",
            "latitude": 30.2,
            "longitude": 120.1,
        }
    ],
}

HOUSES = [
    {"id": "H1", "unit_id": "C1-B1-U1", "number": "301", "area_m2": 90, "registered_use": "rented"}
]
RESIDENTS = [{"id": "R1", "house_id": "H1", "birth_year": 1985, "is_floating": False}]
VEHICLES = [
    {
        "id": "V1",
        "plate": "浙A12345",
        "plate_color": "blue",
        "vehicle_class": "car",
        "community_id": "C1",
        "owner_id": "R1",
    }
]
RESTRICTIONS = [{"id": "C1-R1", "device_id": "DOOR1", "name": "仅本社区车辆"}]
WATCHLIST_ENTRY = WatchlistEntryCreate(
    target=WatchTarget.PLATE,
    label="stolen car",
    plate="浙A12345",
    legal_basis_kind=LegalBasisKind.STOLEN_VEHICLE,
    legal_basis_ref="BD-2026-001",
    jurisdiction_id="J-STATION",
    expires_at=datetime(2027, 1, 1, tzinfo=UTC),
)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The real app with one user per role at J-STATION (admin unscoped), plus 'outsider'.

    Returns the client and each username's session cookie.
    """
    workspace: Path = tmp_path_factory.mktemp("matrix") / "workspace"
    clock = ManualClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    settings = load_settings(workspace, web={"secret_key": "m" * 40})
    with Node.open(settings, clock, feed=False) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            registry = RegistryService(session, identity=node.governance.sealer)
            for entity in ("jurisdictions", "communities", "devices"):
                report = registry.load_rows(entity, OTHER_PLACE[entity])
                assert report.rejected == 0, report.errors
            access = AccessService(session, password_hasher=FAST_HASHER)
            for role in Role:
                place = None if role in UNSCOPED_ROLES else "J-STATION"
                access.create_user(
                    role.value, PASSWORD, role=role, jurisdiction_id=place, now=clock.now()
                )
            access.create_user(
                "outsider",
                PASSWORD,
                role=Role.STATION_OFFICER,
                jurisdiction_id="J-OTHER",
                now=clock.now(),
            )
            access.create_user(
                "othergrid",
                PASSWORD,
                role=Role.GRID_WORKER,
                jurisdiction_id="J-OTHER-C",
                now=clock.now(),
            )
        with node.db.session() as session:
            registry = RegistryService(session, identity=node.governance.sealer)
            for entity, rows in (
                ("houses", HOUSES),
                ("residents", RESIDENTS),
                ("vehicles", VEHICLES),
                ("place_restrictions", RESTRICTIONS),
            ):
                report = registry.load_rows(entity, rows)
                assert report.rejected == 0, report.errors
            watchlists = WatchlistService(
                session,
                clock=clock,
                scope=JurisdictionScope.unscoped(),
                identity=node.governance.sealer,  # the plate is sealed (#12)
            )
            entry = watchlists.add(WATCHLIST_ENTRY, user_id=1)
            PATH_VALUES["entry_id"] = str(entry.id)
            study = CaseLibraryService(
                session, clock=clock, scope=JurisdictionScope.unscoped()
            ).create(CASE_STUDY, user_id=1, links=_NoLinks())
            PATH_VALUES["study_id"] = str(study.id)
            PATH_VALUES["version_id"] = str(add_cases(session, clock))
        with node.alerts() as alerts:
            [alert_id] = alerts.raise_drafts(
                [draft(clock.now(), tier="minor", device_id="DOOR1", subject="DOOR1:intrusion")]
            )
            PATH_VALUES["alert_id"] = str(alert_id)
        node.refresh_directory()
        stored = node.intake.submit_raw(
            [json.dumps(access_event(PATH_VALUES["event_id"], clock.now())).encode()],
            source="native",
            sender_id=None,
            content_type="application/json",
        )
        assert stored.accepted == 1, stored.items
        while node.feeder.feed_once():
            pass
        with TestClient(create_app(node), follow_redirects=False) as client:
            cookies = {}
            for username in [*(role.value for role in Role), "outsider", "othergrid"]:
                sign_in(client, username, PASSWORD)
                # The session cookie and its CSRF token travel together.
                cookies[username] = client.cookies[SESSION_COOKIE]
                CSRF_TOKENS[username] = client.headers["X-CSRF-Token"]
            client.cookies.clear()
            client.headers.pop("X-CSRF-Token", None)
            yield client, cookies


CSRF_TOKENS: dict[str, str] = {}


def add_cases(session: Session, clock: ManualClock) -> int:
    """Two cases of J-STATION and a linkage model version; returns the version's id."""
    cases = CaseService(
        session, clock=clock, settings=CaseSettings(), scope=JurisdictionScope.unscoped()
    )
    for case_id in ("CASE-1", "CASE-2"):
        cases.create(
            CaseCreate(id=case_id, category="burglary", time_from=clock.now(), latitude=30.27,
                       longitude=120.15, jurisdiction_id="J-STATION"),
            user_id=1, source="test",
        )  # fmt: skip
    model = LinkageModel(FEATURES, (0.0,) * 6, (1.0,) * 6, (-1.0, -1.0, 1.0, 0.5, 0.5, 1.0), 0.0)
    version = LinkageModelVersion(
        created_at=clock.now(), created_by=1, reason="test", labelled_cases=0, train_cases=0,
        test_cases=0, train_pairs=0, test_pairs=0, parameters=model.to_json(), is_active=True,
    )  # fmt: skip
    session.add(version)
    session.flush()
    return version.id


def request_as(
    client: TestClient, cookies: dict[str, str], who: str | None, method: str, path: str
) -> Response:
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    if who is not None:
        client.cookies.set(SESSION_COOKIE, cookies[who])
        client.headers["X-CSRF-Token"] = CSRF_TOKENS[who]
    url = path
    for name, value in PATH_VALUES.items():
        url = url.replace("{" + name + "}", value)
    return client.request(method, url, data={} if method != "GET" else None)


def routes_of(client: TestClient) -> list[tuple[str, str]]:
    app = client.app
    assert isinstance(app, FastAPI)
    return [(method, path) for method, path, _route in iter_routes(app)]


def permission_cases(access: str | ByPathParameter, path: str) -> list[tuple[str, str]]:
    """(path with the parameter filled in, permission) for each permission a route needs."""
    if isinstance(access, ByPathParameter):
        return [
            (path.replace("{" + access.parameter + "}", value), name)
            for value, name in access.permissions.items()
        ]
    return [(path, access)]


def test_every_route_has_an_entry_in_the_route_map(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, _cookies = matrix
    routes = routes_of(client)
    missing = [f"{method} {path}" for method, path in routes if (method, path) not in ROUTES]
    assert not missing, (
        "routes without an entry in zhian.web.permissions.ROUTES (add a permission, PUBLIC "
        f"or DEVICE): {missing}"
    )
    stale = [f"{m} {p}" for m, p in ROUTES if (m, p) not in set(routes)]
    assert not stale, f"entries for routes the app no longer has: {stale}"
    assert unknown_permissions() == []


def test_anonymous_wrong_role_and_allowed(matrix: tuple[TestClient, dict[str, str]]) -> None:
    client, cookies = matrix
    checked = 0
    for (method, route_path), access in ROUTES.items():
        if access in SELF_AUTHENTICATED:
            continue
        for path, name in permission_cases(access, route_path):
            holders = [role for role in Role if role in PERMISSIONS_BY_NAME[name].roles]
            others = [role for role in Role if role not in PERMISSIONS_BY_NAME[name].roles]
            where = f"{method} {path} ({name})"

            anonymous = request_as(client, cookies, None, method, path)
            if path.startswith("/api/"):
                assert anonymous.status_code == 401, where
            else:
                assert anonymous.status_code == 303, where
                assert anonymous.headers["location"].startswith("/login?next="), where

            for role in others:
                refused = request_as(client, cookies, role.value, method, path)
                assert refused.status_code == 403, (where, role)
                assert name in refused.text and role.value in refused.text, (where, role)

            if (method, route_path) in NOT_EXERCISED_WHEN_ALLOWED:
                continue
            for role in holders:
                allowed = request_as(client, cookies, role.value, method, path)
                # Allowed means the route did its work: a refusal, a lost record (404) or a
                # crash (5xx) all fail. A 400/409/422 is the route judging the empty form.
                assert allowed.status_code not in (401, 403, 404), (
                    where,
                    role,
                    allowed.status_code,
                    allowed.text[-500:],
                )
                assert allowed.status_code < 500, (where, role, allowed.text[-500:])
                assert allowed.status_code != 303 or "/login" not in allowed.headers.get(
                    "location", ""
                ), (where, role)
            checked += 1
    assert checked >= 20


def test_public_routes_answer_without_a_session(matrix: tuple[TestClient, dict[str, str]]) -> None:
    client, cookies = matrix
    # /openapi.json is left out here: building it warns about a duplicate operation id of
    # GET+POST /VIID/System/Time (viid_api.py), which the GA/T 1400 work must fix.
    for path in ["/login", "/api/v1/health", "/docs", "/redoc"]:
        assert request_as(client, cookies, None, "GET", path).status_code == 200, path


def test_device_routes_refuse_sessions_and_ask_for_device_credentials(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, cookies = matrix
    for path in ["/api/v1/events", "/api/v1/images"]:
        response = request_as(client, cookies, Role.ADMIN.value, "POST", path)
        assert response.status_code == 401, path  # a session is no device credential
        assert response.json()["error"]["field"] == "Authorization"


def test_wrong_jurisdiction_sees_only_its_own_devices(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, cookies = matrix

    def device_ids(who: str) -> set[str]:
        status = request_as(client, cookies, who, "GET", "/api/v1/status")
        assert status.status_code == 200
        return {device["id"] for device in status.json()["devices"]}

    assert device_ids("station_officer") == {"G1", "DOOR1", "CAM1", "CNT1", "OFF1"}
    assert device_ids("outsider") == {"D9"}
    assert device_ids("othergrid") == {"D9"}
    assert device_ids("grid_worker") == {"G1", "DOOR1", "CAM1", "CNT1", "OFF1"}
    assert device_ids("command_centre") == {"G1", "DOOR1", "CAM1", "CNT1", "OFF1"}  # J-STATION
    assert "D9" in device_ids("admin") and "DOOR1" in device_ids("admin")

    page = request_as(client, cookies, "outsider", "GET", "/status")
    assert page.status_code == 200
    assert "South door" in page.text and "North gate camera" not in page.text
    own = request_as(client, cookies, "station_officer", "GET", "/status")
    assert "North gate camera" in own.text and "South door" not in own.text


def test_wrong_jurisdiction_sees_nothing_of_the_governance_pages(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    """Quarantine, quality and status: a right role in J-OTHER sees none of J-STATION."""
    client, cookies = matrix
    app = client.app
    assert isinstance(app, FastAPI)
    node: Node = app.state.node
    now = node.clock.now()
    refused = [
        {
            "type": "heartbeat",
            "id": f"q-{device}",
            "device_id": device,
            "time": "soon",
            "status": "ok",
        }
        for device in ("DOOR1", "D9")
    ]
    node.intake.submit_raw(
        [json.dumps(item).encode() for item in refused],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "far_integrator",
            PASSWORD,
            role=Role.INTEGRATOR,
            jurisdiction_id="J-OTHER",
            now=now,
        )
    sign_in(client, "far_integrator", PASSWORD)
    far = client.get("/quarantine")
    assert far.status_code == 200
    assert "q-D9" in far.text and "q-DOOR1" not in far.text
    own = request_as(client, cookies, Role.INTEGRATOR.value, "GET", "/quarantine")
    assert "q-DOOR1" in own.text and "q-D9" not in own.text
    everything = request_as(client, cookies, Role.ADMIN.value, "GET", "/quarantine")
    assert "q-DOOR1" in everything.text and "q-D9" in everything.text

    outsider_status = request_as(client, cookies, "outsider", "GET", "/api/v1/status").json()
    assert {event["device_id"] for event in outsider_status["recent"]} <= {"D9"}
    quality = request_as(client, cookies, "outsider", "GET", "/quality")
    assert 'data-device="DOOR1"' not in quality.text


def menu_links(html: str) -> list[str]:
    """The paths of the page menu's links, in order."""
    nav = html.split('<nav aria-label="', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"?]+)', nav)


def test_the_menu_offers_each_role_only_pages_it_may_open(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, cookies = matrix
    for role in Role:
        start = request_as(client, cookies, role.value, "GET", "/status")
        assert start.status_code == 200, role
        links = menu_links(start.text)
        expected = [
            href
            for _key, href in NAVIGATION
            if role in PERMISSIONS_BY_NAME[str(ROUTES[("GET", href)])].roles
        ]
        assert links == expected, role
        for href in links:
            opened = request_as(client, cookies, role.value, "GET", href)
            assert opened.status_code == 200, (role, href, opened.status_code)


def test_a_refused_page_is_the_shell_saying_what_is_missing_and_whom_to_ask(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, cookies = matrix
    refused = request_as(client, cookies, "grid_worker", "GET", "/audit")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    text = refused.text
    assert '<html lang="zh-CN">' in text and "无权访问" in text
    assert "查询审计日志" in text and "网格员" in text  # the permission, the user's role
    assert "持有此权限的角色：审计" in text  # whom to ask for it
    assert menu_links(text) == [
        "/workbench",
        "/alerts",
        "/incidents",
        "/phone",
        "/map",
        "/library",
        "/devices",
        "/procedures",
        "/status",
    ]

    english = request_as(client, cookies, "grid_worker", "GET", "/audit?lang=en")
    assert english.status_code == 403 and '<html lang="en">' in english.text
    assert "Search the audit log by person, record and time" in english.text
    assert "Roles holding it: Auditor." in english.text and "无权访问" not in english.text


def test_a_missing_page_is_the_shell_for_people_and_json_for_programs(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, cookies = matrix
    missing = request_as(client, cookies, "command_centre", "GET", "/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert "/alerts" in menu_links(missing.text)
    record = request_as(client, cookies, "command_centre", "GET", "/alerts/999999")
    assert record.status_code == 404 and "页面不存在" in record.text
    assert menu_links(record.text)
    anonymous = request_as(client, cookies, None, "GET", "/no-such-page?lang=en")
    assert anonymous.status_code == 404 and "Page not found" in anonymous.text
    assert menu_links(anonymous.text) == []
    api = request_as(client, cookies, "command_centre", "GET", "/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"


def test_the_live_badge_is_shown_to_the_roles_that_follow_the_feed(
    matrix: tuple[TestClient, dict[str, str]],
) -> None:
    client, cookies = matrix
    for role in Role:
        page = request_as(client, cookies, role.value, "GET", "/status").text
        follows = role in PERMISSIONS_BY_NAME["alerts.view"].roles
        assert ('id="live-state"' in page) is follows, role
        assert ('sse-connect="/api/v1/live"' in page) is follows, role
