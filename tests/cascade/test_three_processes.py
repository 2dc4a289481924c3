"""Three nodes as separate `zhian serve` processes on loopback: community → district → city.

During sustained intake at the community, the community↔district link (a fault proxy the
test controls) is slowed, then made lossy (answers lost), then connections are held back so
that a batch sent again can overtake its first copy, then it is cut for a minute, during which the
district is killed with SIGKILL and started again, and the link heals. Every event the
community acknowledged arrives at the city exactly once and in order per device, the alert's
state changes too; a city watchlist entry reaches the community and its hit comes back up
to the city.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.cascade.parents import ALL_DEVICES, PASSWORD
from tests.cascade.proxy import FaultProxy
from tests.cascade.test_orders import BASIS, PLATE
from tests.ingest.factories import access_event, load_master_data
from tests.ingest.test_durability import free_port
from zhian.access.service import AccessService
from zhian.config import load_settings
from zhian.kit.clock import SystemClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.watchlists.schemas import WatchlistEntryCreate

pytestmark = pytest.mark.slow

DEVICES = ("DOOR1", "CAM1")
CUT_SECONDS = 60  # the issue's minute without a link


def prepare(workspace: Path, *, devices: bool, child: str = "") -> dict[str, str]:
    """Master data, users and tokens of one node; returns the tokens by name."""
    clock = SystemClock()
    tokens: dict[str, str] = {}
    with Node.open(load_settings(workspace), feed=False) as node:
        device_tokens = load_master_data(
            node, now=clock.now(), skip_devices=() if devices else ALL_DEVICES
        )
        tokens |= {f"device:{d}": t for d, t in device_tokens.items()}
        with node.db.session() as session:
            RegistryService(session).load_rows(
                "jurisdictions",
                [{"id": "J-OTHER", "parent_id": "J-CITY", "level": "station", "name": "南站"}],
            )
            access = AccessService(session)
            for name, role, place in (
                ("installer", "integrator", "J-STATION"),
                ("officer", "command_centre", "J-CITY"),
            ):
                access.create_user(
                    name,
                    PASSWORD,
                    role=role,
                    jurisdiction_id=place,
                    display_name=name,
                    now=clock.now(),
                )
            tokens["node"] = access.issue_api_token(
                "installer", child or "no child", now=clock.now(), permissions=("cascade.forward",)
            )
            tokens["officer"] = access.issue_api_token("officer", "test", now=clock.now())
        if not devices:  # the city: a watchlist entry for every node below
            with node.watchlists() as watchlists:
                watchlists.add(
                    WatchlistEntryCreate(
                        target="plate",
                        plate=PLATE,
                        label="被盗车辆",
                        legal_basis_kind="stolen_vehicle",
                        legal_basis_ref=BASIS,
                        jurisdiction_id="J-CITY",
                        expires_at=clock.now() + timedelta(days=30),
                    ),
                    user_id=1,
                )
    return tokens


class Served:
    """One `zhian serve` process on a fixed port (kept across a restart)."""

    def __init__(self, workspace: Path, port: int, env: dict[str, str]) -> None:
        self.workspace, self.port, self.env = workspace, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.workspace / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "zhian",
                    "serve",
                    "-w",
                    str(self.workspace),
                    "--port",
                    str(self.port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, **self.env},
            )
        wait_for(lambda: self._healthy(), 180, f"{self.workspace.name} did not start")

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill_9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def get(self, token: str, path: str, **params: Any) -> Any:
        response = httpx.get(
            self.url + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()


def wait_for(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(message)


def parent_env(url: str, node_id: str, token: str) -> dict[str, str]:
    return {
        "ZHIAN_PARENT__URL": url,
        "ZHIAN_PARENT__NODE_ID": node_id,
        "ZHIAN_PARENT__TOKEN": token,
        "ZHIAN_PARENT__POLL_SECONDS": "0.2",
        "ZHIAN_PARENT__ACK_TIMEOUT_SECONDS": "3",
        "ZHIAN_PARENT__BACKOFF_INITIAL_SECONDS": "0.2",
        "ZHIAN_PARENT__BACKOFF_MAX_SECONDS": "1",
        "ZHIAN_PARENT__ORDERS_POLL_SECONDS": "1",
    }


def post(node: Served, token: str, events: list[dict[str, Any]]) -> list[str]:
    """Events to the community's intake; the ids it acknowledged."""
    body = b"\n".join(msgspec.json.encode(e) for e in events)
    response = httpx.post(
        f"{node.url}/api/v1/events",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"] if i["status"] == "accepted"]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Served, Served, Served, FaultProxy, dict[str, str]]]:
    secret = {"ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(32)}
    city_tokens = prepare(tmp_path / "city", devices=False, child="district-1")
    district_tokens = prepare(tmp_path / "district", devices=False, child="community-1")
    community_tokens = prepare(tmp_path / "community", devices=True)
    city = Served(tmp_path / "city", free_port(), secret)
    district_port = free_port()
    district = Served(
        tmp_path / "district",
        district_port,
        secret | parent_env(city.url, "district-1", city_tokens["node"]),
    )
    proxy = FaultProxy(district_port).start()
    community = Served(
        tmp_path / "community",
        free_port(),
        secret
        | parent_env(f"http://127.0.0.1:{proxy.port}", "community-1", district_tokens["node"]),
    )
    tokens = {
        "city": city_tokens["officer"],
        "community": community_tokens["officer"],
        **{k: v for k, v in community_tokens.items() if k.startswith("device:")},
    }
    try:
        for served in (city, district, community):
            served.start()
        yield city, district, community, proxy, tokens
    finally:
        for served in (community, district, city):
            served.stop()
        proxy.stop()


def test_every_event_and_alert_change_reaches_the_city_once_in_order_through_faults(
    nodes: tuple[Served, Served, Served, FaultProxy, dict[str, str]],
) -> None:
    city, district, community, proxy, tokens = nodes
    acknowledged: dict[str, list[str]] = {device: [] for device in DEVICES}
    stop = threading.Event()
    base = SystemClock().now() - timedelta(minutes=30)

    def intake() -> None:
        n = 0
        while not stop.is_set():
            for device in DEVICES:
                event = access_event(f"{device}-{n:05d}", base + timedelta(seconds=n), device)
                acknowledged[device] += post(community, tokens[f"device:{device}"], [event])
            n += 1
            time.sleep(0.02)

    feeder = threading.Thread(target=intake, daemon=True)
    feeder.start()
    time.sleep(2)
    proxy.delay_seconds = 0.05  # a slow link
    time.sleep(2)
    proxy.delay_seconds = 0.0
    proxy.loss_rate = 0.3  # lossy: a third of the answers lost, the requests gone through
    proxy.reconnect()
    time.sleep(4)
    # Reordered: each new connection held back up to 5 s (past the 3 s acknowledgement
    # timeout), so a batch sent again can overtake its first copy.
    proxy.loss_rate, proxy.hold_seconds = 0.0, 5.0
    proxy.reconnect()
    time.sleep(6)
    proxy.hold_seconds = 0.0
    cut_at = time.monotonic()
    proxy.cut()  # the community↔district link goes down for a minute during intake
    time.sleep(CUT_SECONDS / 3)
    district.kill_9()
    district.start()
    time.sleep(max(0.0, cut_at + CUT_SECONDS - time.monotonic()))
    proxy.heal()
    time.sleep(2)
    stop.set()
    feeder.join(timeout=30)
    assert proxy.answers_lost > 0  # the lossy phase did lose answers

    # An alarm at the community, signed there: both changes must reach the city.
    now = SystemClock().now()
    fire = {
        "type": "alarm",
        "id": "fire-1",
        "device_id": "DOOR1",
        "time": now.isoformat(),
        "kind": "fire",
        "level": 2,
        "detail": "",
    }
    acknowledged["DOOR1"] += post(community, tokens["device:DOOR1"], [fire])

    def community_alert() -> list[Any]:
        return list(
            community.get(tokens["community"], "/api/v1/alerts", kind="alarm_fire")["items"]
        )

    wait_for(lambda: bool(community_alert()), 30, "no fire alert at the community")
    alert_id = community_alert()[0]["id"]
    signed = httpx.post(
        f"{community.url}/api/v1/alerts/{alert_id}/sign",
        json={},
        headers={"Authorization": f"Bearer {tokens['community']}"},
        timeout=10,
    )
    assert signed.status_code == 200, signed.text

    # The city's watchlist entry reached the community: a passing plate hits there and
    # raises the alert at the city.
    def plate_hit_at_city() -> bool:
        plate = {
            "type": "vehicle",
            "id": f"plate-{time.monotonic_ns()}",
            "device_id": "CAM1",
            "time": SystemClock().now().isoformat(),
            "plate": PLATE,
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in",
        }
        acknowledged["CAM1"].extend(post(community, tokens["device:CAM1"], [plate]))
        found = city.get(tokens["city"], "/api/v1/alerts", kind="watchlist_plate")["items"]
        return bool(found)

    wait_for(plate_hit_at_city, 90, "the city's watchlist hit never came back up")

    total = sum(len(ids) for ids in acknowledged.values())

    def city_has_everything() -> bool:
        children = city.get(tokens["city"], "/api/v1/cascade/children")
        return bool(children) and children[0]["events_accepted"] >= total

    wait_for(city_has_everything, 120, "the city never received every acknowledged event")
    changes = city.get(tokens["city"], "/api/v1/cascade/alerts", node_id="community-1")
    fire_changes = [c["to_state"] for c in changes if c["alert_id"] == alert_id]
    assert fire_changes[:2] == ["new", "signed"]
    (child,) = city.get(tokens["city"], "/api/v1/cascade/children")
    assert child["events_accepted"] == total  # exactly once: the rest counted as duplicates

    city.stop()
    with Node.open(load_settings(city.workspace), feed=True) as opened:
        assert opened.feeder.wait_caught_up(60)
        for device, ids in acknowledged.items():
            stored = opened.event_reads.recent_events(limit=100_000, device_id=device)
            in_order = [e.event_id for e in sorted(stored, key=lambda e: (e.seq, e.time))]
            assert in_order == ids, f"{device}: not exactly once and in order"
