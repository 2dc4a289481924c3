"""Schema-driven fuzzing of the JSON API (schemathesis over the app's own OpenAPI document).

Every operation under /api/ is fuzzed for a user of jurisdiction A, by session cookie and by
API token, and the device intake by a device token, on SQLite and PostgreSQL. Checks: no 5xx,
statuses, content types and bodies as documented (errors in the envelope of
zhian.web.openapi_errors), and no trace of jurisdiction B: B's ids and names all carry the marker
LEAKCHECK, which must never appear in a response, and B's alerts must come out untouched.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.ingest.factories import load_master_data
from tests.web.conftest import FAST_HASHER, PASSWORD, alarm_event, submit
from tests.web.session import sign_in
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertFilter, AlertSummary
from zhian.config import load_settings
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

MARKER = "LEAKCHECK"
OTHER = "J-LEAKCHECK"  # jurisdiction B: a station beside J-STATION (jurisdiction A)
EXAMPLES = 12  # per operation and identity; the file runs in well under a minute
# The live feed is a server-sent event stream that only ends when the client goes: it is not
# a request/response operation (tests/web/test_live.py covers its scoping).
NOT_FUZZED = {("GET", "/api/v1/live")}
ALERT_READ = "GET /api/v1/alerts/{alert_id}"
DEVICE_OPERATIONS = {("POST", "/api/v1/events"), ("POST", "/api/v1/images")}

OTHER_DATA: dict[str, list[dict[str, Any]]] = {
    "jurisdictions": [
        {"id": OTHER, "parent_id": "J-CITY", "level": "station", "name": f"{MARKER} 南站"}
    ],
    "communities": [
        {
            "id": f"{MARKER}-C",
            "jurisdiction_id": OTHER,
            "name": f"{MARKER} 小区",
            "kind": "gated",
            "latitude": 30.28,
            "longitude": 120.16,
        }
    ],
    "devices": [
        {
            "id": f"{MARKER}-{kind.upper()}",
            "kind": kind,
            "name": f"{MARKER} {kind}",
            "gateway_id": None,
            "community_id": f"{MARKER}-C",
            "building_id": None,
            "unit_id": None,
            "zone_id": None,
            "latitude": 30.28,
            "longitude": 120.16,
            "is_enabled": True,
        }
        for kind in ("door", "face_camera")
    ],
}


class World:
    """The running node, its app, and what the checks need to know about A and B."""

    def __init__(self, node: Node, client: TestClient, device_token: str, api_token: str):
        self.node = node
        self.client = client
        self.device_token = device_token
        self.api_token = api_token
        self.seen: list[tuple[str, str, int]] = []  # (operation, URL path, status)
        alerts = all_alerts(node)
        self.own_alerts = [a for a in alerts if a.jurisdiction_id != OTHER]
        self.other_alerts = [a for a in alerts if a.jurisdiction_id == OTHER]


def all_alerts(node: Node) -> list[AlertSummary]:
    with node.alerts() as alerts:
        return list(
            alerts.list_alerts(
                AlertFilter(), page=1, per_page=100, scope=JurisdictionScope.unscoped()
            ).items
        )


def wait_until(predicate: Any, what: str, timeout_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_seconds} s: {what}")
        time.sleep(0.02)


@pytest.fixture
def world(workspace: Path, clock: ManualClock, database_url: str) -> Iterator[World]:
    settings_ = load_settings(
        workspace, database={"url": database_url}, web={"secret_key": "f" * 40}
    )
    with Node.open(settings_, clock, feed=False) as loading:
        tokens = load_master_data(loading, now=clock.now())
        with loading.db.session() as session:
            registry = RegistryService(session)
            for entity, rows in OTHER_DATA.items():
                report = registry.load_rows(entity, rows)
                assert report.rejected == 0, report.errors
            DeviceService(session).issue_tokens([f"{MARKER}-DOOR"], now=clock.now())
            access = AccessService(session, password_hasher=FAST_HASHER)
            for username, jurisdiction in (("officer", "J-STATION"), ("other", OTHER)):
                access.create_user(
                    username,
                    PASSWORD,
                    role="station_officer",
                    jurisdiction_id=jurisdiction,
                    display_name=f"测试·{username}",
                    now=clock.now(),
                )
            api_token = access.issue_api_token("officer", "fuzz", now=clock.now())
    with Node.open(settings_, clock) as node:
        now = clock.now()
        submit(
            node,
            alarm_event("fire-a", now, kind="fire"),
            alarm_event("tamper-a", now, kind="tamper", device_id="CAM1"),
            alarm_event(f"{MARKER}-fire", now, kind="fire", device_id=f"{MARKER}-DOOR"),
            alarm_event(f"{MARKER}-tamper", now, kind="tamper", device_id=f"{MARKER}-FACE_CAMERA"),
        )
        wait_until(lambda: len(all_alerts(node)) == 4, "four alerts raised")
        wait_until(
            lambda: f"{MARKER}-DOOR" in node.store.queries.device_last_seen(), "B's events stored"
        )
        with TestClient(create_app(node), follow_redirects=False) as client:
            yield World(node, client, tokens["DOOR1"], api_token)


def fuzzing_schema(world: World) -> Any:
    return schemathesis.openapi.from_dict(copy.deepcopy(world.client.app.openapi()))  # type: ignore[attr-defined]


def send(client: TestClient, case: Case, headers: dict[str, str]) -> Any:
    """The generated request through the test client (whose cookies hold the session)."""
    kwargs = case.as_transport_kwargs()
    kwargs.pop("cookies", None)
    kwargs["headers"] = {**client.headers, **kwargs.get("headers", {}), **headers}
    return client.request(**kwargs)


def assert_no_leak(body: str, label: str) -> None:
    assert MARKER not in body, f"{label} shows jurisdiction B's data:\n{body[:2000]}"


def fuzz(world: World, operation: Any, headers: dict[str, str], who: str, **fixed: Any) -> int:
    """Run the operation's examples (with path parameters `fixed`); returns how many ran."""
    sent = 0

    @given(case=operation.as_strategy(path_parameters=fixed or None))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case: Case) -> None:
        nonlocal sent
        sent += 1
        response = send(world.client, case, headers)
        label = f"{who} {case.method} {response.request.url}"
        world.seen.append((operation.label, response.request.url.path, response.status_code))
        assert response.status_code < 500, f"{label} -> {response.status_code}: {response.text}"
        assert_no_leak(response.text, label)
        for key, value in response.headers.items():
            assert_no_leak(f"{key}: {value}", label)
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )

    run()
    return sent


def test_fuzzing_the_api_shows_no_server_error_and_nothing_of_another_jurisdiction(
    world: World,
) -> None:
    # The marker would be seen: B's alerts carry it, and there are alerts on both sides.
    assert len(world.own_alerts) == 2 and len(world.other_alerts) == 2
    with world.node.alerts() as alerts:
        for alert in world.other_alerts:
            assert (
                MARKER
                in alerts.get_alert(alert.id, scope=JurisdictionScope.unscoped()).model_dump_json()
            )
    before = {a.id: a.model_dump_json() for a in world.other_alerts}

    schema = fuzzing_schema(world)
    sign_in(world.client, "officer", PASSWORD)
    session_headers = {"X-CSRF-Token": world.client.headers["X-CSRF-Token"]}
    covered: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if not operation.path.startswith("/api/") or key in NOT_FUZZED:
            continue
        if key in DEVICE_OPERATIONS:
            token = {"Authorization": f"Bearer {world.device_token}"}
            covered[f"{operation.label} (device)"] = fuzz(world, operation, token, "device")
            continue
        covered[f"{operation.label} (session)"] = fuzz(world, operation, session_headers, "session")
        token = {"Authorization": f"Bearer {world.api_token}"}
        covered[f"{operation.label} (API token)"] = fuzz(world, operation, token, "API token")
        if "{alert_id}" in operation.path:
            # Random ids never hit B's alerts: aim at each of them, everything else fuzzed.
            for alert in world.other_alerts:
                covered[f"{operation.label} (session, B's {alert.id})"] = fuzz(
                    world, operation, session_headers, "session", alert_id=alert.id
                )

    documented = {
        (method.upper(), path)
        for path, ops in world.client.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in ops
        if path.startswith("/api/")
    }
    assert {label.split(" (")[0] for label in covered} == {
        f"{method} {path}" for method, path in documented - NOT_FUZZED
    }
    assert all(count >= 1 for count in covered.values()), covered
    # Nothing the A user sent touched B's alerts.
    assert {a.id: a.model_dump_json() for a in all_alerts(world.node) if a.id in before} == before
    # The fuzzer reached real alerts: A's in full, B's only as a 404.
    reads = [(path, status) for label, path, status in world.seen if label == ALERT_READ]
    assert any(status == 200 for _, status in reads), reads
    other_paths = {f"/api/v1/alerts/{a.id}" for a in world.other_alerts}
    assert {status for path, status in reads if path in other_paths} == {404}, reads
    # Errors were fuzzed too, so their statuses and envelopes were checked against the
    # document: 404 for B's alerts, 400 for the unknown actions the fuzzer makes up.
    assert {400, 404} <= {status for _, _, status in world.seen}, world.seen
