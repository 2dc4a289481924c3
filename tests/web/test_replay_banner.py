"""The demo's pages while it replays history: open at once, say how far the replay has
come, and keep a signed-in user signed in while the node's clock runs through the days."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import access_event, load_master_data
from tests.web.conftest import FAST_HASHER, PASSWORD
from tests.web.session import sign_in
from zhian.access.service import AccessService
from zhian.cli.demo import DemoBackground, LiveStream, demo_district
from zhian.config import load_settings
from zhian.ingest.events import Event
from zhian.ingest.validate import decode_event
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.sim import Simulation
from zhian.sim.replay import ArrivalClock, ReplayProgress
from zhian.web.app import create_app

DAYS = 22


@pytest.fixture
def replaying(
    workspace: Path, clock: ManualClock
) -> Iterator[tuple[TestClient, ArrivalClock, ReplayProgress]]:
    start = clock.now() - timedelta(days=DAYS)
    arrival = ArrivalClock(start, live=clock)
    settings = load_settings(workspace, web={"secret_key": "k" * 40})
    with Node.open(settings, arrival, wall_clock=clock) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            AccessService(session, password_hasher=FAST_HASHER).create_user(
                "command",
                PASSWORD,
                role="command_centre",
                jurisdiction_id="J-CITY",
                now=clock.now(),
            )
        progress = ReplayProgress(start, clock.now())
        app = create_app(node)
        app.state.replay = progress
        with TestClient(app, follow_redirects=False) as client:
            yield client, arrival, progress


def _history_event(arrival: ArrivalClock, days: float) -> Event:
    raw = access_event(f"h{days}", arrival.now() + timedelta(days=days))
    event = decode_event(json.dumps(raw, default=str).encode())
    assert isinstance(event, Event)
    return event


def test_the_pages_show_the_replays_progress_and_keep_the_session(
    replaying: tuple[TestClient, ArrivalClock, ReplayProgress],
) -> None:
    client, arrival, progress = replaying
    sign_in(client, "command", PASSWORD)
    # A third of the history replayed: the node's clock is 7 days in.
    event = _history_event(arrival, 7.3)
    arrival.arrive([event])
    progress.advance(event.time, 1)

    zh = client.get("/alerts")
    en = client.get("/alerts?lang=en")

    assert zh.status_code == 200, zh.text  # still signed in, days later on the node's clock
    assert "演示数据回放中" in zh.text and "33%" in zh.text and f"共 {DAYS} 天" in zh.text
    assert "The demo is replaying its history" in en.text and f"of {DAYS} days" in en.text
    # Ten more days go by on the node's clock in a moment of wall time: still signed in.
    arrival.arrive([_history_event(arrival, 10)])
    assert client.get("/alerts").status_code == 200

    progress.finish()
    done = client.get("/alerts")
    assert done.status_code == 200 and "演示数据回放中" not in done.text


def test_a_node_without_a_replay_shows_no_banner(
    replaying: tuple[TestClient, ArrivalClock, ReplayProgress],
) -> None:
    client, _arrival, _progress = replaying
    sign_in(client, "command", PASSWORD)
    del client.app.state.replay  # type: ignore[attr-defined]
    page = client.get("/alerts")
    assert page.status_code == 200 and "replay-banner" not in page.text


def test_a_failed_replay_says_so_on_every_page_and_in_the_log(
    replaying: tuple[TestClient, ArrivalClock, ReplayProgress],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, arrival, progress = replaying
    node: Node = client.app.state.node  # type: ignore[attr-defined]
    sign_in(client, "command", PASSWORD)

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(node.intake, "submit_events", disk_full)
    district = demo_district(seed=7, scale=0.05)
    history = Simulation(district, start=arrival.now(), end=clock.now(), seed=7)
    live = LiveStream(node, iter(()), clock)
    background = DemoBackground(node, history, arrival, progress, live)
    with caplog.at_level(logging.ERROR):
        background.start()
        background.join(timeout=60)
    assert not background.is_alive() and not live.is_alive()

    zh = client.get("/alerts")
    en = client.get("/alerts?lang=en")
    assert zh.status_code == 200
    assert "演示数据回放失败" in zh.text and "No space left on device" in zh.text
    assert "Ctrl+C" in zh.text and "演示数据回放中" not in zh.text  # no progress to wait for
    assert 'role="alert"' in zh.text
    assert "replay of its history failed" in en.text and "OSError" in en.text
    assert "No space left on device" in caplog.text  # the error in full, in the log
    assert any(record.exc_info for record in caplog.records)
