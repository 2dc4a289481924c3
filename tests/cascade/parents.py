"""A parent node, a child node and a faulty link between them, for the forwarder's tests.

The parent is a real app behind a TestClient; the child's forwarder reaches it through an
httpx transport that is a plain function (STYLE: a fake transport makes a fake server),
which the tests can cut, slow down (no answer within the timeout) or make lose answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.ingest.factories import MASTER_DATA, load_master_data
from zhian.access.service import AccessService
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.settings import ParentSettings
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService

PASSWORD = "a-long-test-password-1"
CHILD_ID = "community-1"
PARENT_URL = "http://parent.test"
ALL_DEVICES = tuple(str(row["id"]) for row in MASTER_DATA["devices"])


@dataclass
class FaultyLink:
    """The child → parent link: passes requests to the parent app unless told to fail.

    `down`: no connection; `silent`: the parent never answers in time (a timeout, the
    request not delivered); `lose_answers`: the parent gets and stores the request, but its
    answer is lost on the way back (the child must send again, the parent keep one copy).
    """

    client: TestClient
    down: bool = False
    silent: bool = False
    lose_answers: int = 0
    requests: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.silent:
            raise httpx.ReadTimeout("no answer within the timeout", request=request)
        answer = self.client.request(
            request.method,
            request.url.raw_path.decode(),  # the path with its query
            content=request.read(),
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def open_parent(workspace: Path, clock: ManualClock, **sections: Any) -> Node:
    """A district node that knows the jurisdictions and communities (the city-wide standard
    address registry) but none of the community's devices, and a second station beside.
    `sections`: settings sections to override (e.g. intake={...})."""
    node = Node.open(load_settings(workspace, web={"secret_key": "p" * 40}, **sections), clock)
    load_master_data(node, now=clock.now(), skip_devices=ALL_DEVICES)
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        report = registry.load_rows(
            "jurisdictions",
            [{"id": "J-OTHER", "parent_id": "J-CITY", "level": "station", "name": "南站"}],
        )
        assert report.rejected == 0, report.errors
    return node


def add_user(node: Node, clock: ManualClock, username: str, role: str, place: str) -> None:
    with node.db.session() as session:
        AccessService(session).create_user(
            username,
            PASSWORD,
            role=role,
            jurisdiction_id=place,
            display_name=username,
            now=clock.now(),
        )


# The parent's users, by the part each plays in the tests: who forwards from the child's
# station, an integrator of another station, the city's command centre, an officer of another
# station, an auditor and a grid worker.
STAFF: dict[str, tuple[str, str]] = {
    "installer": ("integrator", "J-STATION"),
    "elsewhere": ("integrator", "J-OTHER"),
    "command": ("command_centre", "J-CITY"),
    "outsider": ("station_officer", "J-OTHER"),
    "auditor": ("auditor", "J-CITY"),
    "grid": ("grid_worker", "J-STATION"),
}


def add_staff(node: Node, clock: ManualClock) -> None:
    for username, (role, place) in STAFF.items():
        add_user(node, clock, username, role, place)


def issue_token(
    node: Node,
    clock: ManualClock,
    owner: str,
    *,
    permissions: tuple[str, ...] = (),
    place: str | None = None,
    name: str | None = None,
) -> str:
    """An API token of `owner`; a node credential is named after its child node (`name`)."""
    with node.db.session() as session:
        return AccessService(session).issue_api_token(
            owner,
            name or f"{owner} token",
            now=clock.now(),
            permissions=permissions,
            jurisdiction_id=place,
        )


def open_child(workspace: Path, clock: ManualClock) -> Node:
    node = Node.open(load_settings(workspace, web={"secret_key": "c" * 40}), clock)
    load_master_data(node, now=clock.now())
    return node


def parent_settings(token: str, **overrides: Any) -> ParentSettings:
    values: dict[str, Any] = {
        "url": PARENT_URL,
        "node_id": CHILD_ID,
        "token": SecretStr(token),
        "backoff_initial_seconds": 1.0,
        "backoff_max_seconds": 8.0,
        "poll_seconds": 0.05,
        **overrides,
    }
    return ParentSettings(**values)


def forwarder(
    child: Node,
    link: FaultyLink,
    settings: ParentSettings,
    *,
    draw: float = 0.0,
    kpis: bool = False,
) -> UpwardForwarder:
    """The child's forwarder over `link`, with a fixed jitter draw (0: no jitter); with
    `kpis`, it sends the KPI summaries of its event store as the node's does."""
    return UpwardForwarder(
        db=child.db,
        log=child.log,
        images=child.images,
        clock=child.clock,
        settings=settings,
        alert_settings=child.settings.alerts,
        workspace=child.settings.workspace,
        log_dir=child.settings.log_dir,
        identity=child.governance.sealer,
        on_orders_changed=child.refresh_directory,
        transport=link.transport,
        draw=lambda: draw,
        event_reads=child.event_reads if kpis else None,
    )


def submit(node: Node, events: list[dict[str, Any]]) -> None:
    result = node.intake.submit_raw(
        [json.dumps(event).encode() for event in events],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == len(events), result.items


def drain(forward: UpwardForwarder, *, limit: int = 200) -> int:
    """Step the forwarder until nothing more goes up; returns the items sent."""
    sent = 0
    for _ in range(limit):
        step = forward.step()
        if step == 0:
            return sent
        sent += step
    raise AssertionError("the forwarder never ran dry")


def parent_events(parent: Node, device_id: str) -> list[str]:
    """The child's events of one device as the parent stored them, in arrival order.

    The parent takes each batch in as one log record (one `seq`), its events in the
    batch's order; the store keeps no position inside a record, so events of one batch
    are told apart by time (the tests send each device's events in time order within a
    record, and send late ones in records of their own)."""
    assert parent.feeder.wait_caught_up(30)
    stored = parent.event_reads.recent_events(limit=10_000, device_id=device_id)
    return [e.event_id for e in sorted(stored, key=lambda e: (e.seq, e.time))]


def parent_batches(parent: Node, device_id: str) -> int:
    """How many of the parent's log records hold the device's events (batches received)."""
    stored = parent.event_reads.recent_events(limit=10_000, device_id=device_id)
    return len({e.seq for e in stored})


def api(client: TestClient, token: str, path: str, **params: Any) -> httpx.Response:
    return client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
