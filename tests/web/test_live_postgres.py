"""The SSE endpoint of a web process delivers an alert raised by another process, through
the postgres live feed (`live.type = "postgres"`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from tests.alerts.factories import load_place
from tests.web.test_live import next_event, next_frame, scope_at
from zhian.alerts.live_postgres import PostgresLiveFeed
from zhian.config import load_settings
from zhian.governance.keys import DEFAULT_KEY_FILE
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.live import live_stream

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web_node(tmp_path: Path, postgres_url: str, clock: ManualClock) -> Iterator[Node]:
    """A node as `zhian serve` opens it: pages only, no background loops."""
    settings = load_settings(
        tmp_path / "web",
        log={"fsync": False},
        database={"url": postgres_url},
        live={"type": "postgres"},
    )
    with Node.open(settings, clock, feed=False) as opened:
        load_place(opened, now=clock.now())
        yield opened


def raise_alert_in_another_process(workspace: Path, database_url: str) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "tests.web.live_worker", str(workspace), database_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


async def test_the_stream_delivers_an_alert_raised_by_another_process(
    web_node: Node, tmp_path: Path, postgres_url: str
) -> None:
    assert isinstance(web_node.live_feed, PostgresLiveFeed)
    stream = live_stream(web_node, scope_at(web_node, "J-STN"), keepalive_seconds=0.5)
    try:
        assert (await next_frame(stream)).startswith("retry: ")  # subscribed from here on
        # The worker holds the web node's key ring, as processes of one node do: the
        # messages they exchange through the database are sealed with it (#12).
        worker = tmp_path / "worker"
        (worker / DEFAULT_KEY_FILE).parent.mkdir(parents=True, mode=0o700)
        shutil.copy2(tmp_path / "web" / DEFAULT_KEY_FILE, worker / DEFAULT_KEY_FILE)
        alert_id = await anyio.to_thread.run_sync(
            raise_alert_in_another_process, worker, postgres_url
        )
        name, message = await next_event(stream)
    finally:
        await stream.aclose()
    assert name == "alert" and message["type"] == "alert.created"
    alert = message["alert"]
    assert isinstance(alert, dict)
    assert alert["id"] == alert_id and alert["jurisdiction_id"] == "J-STN"
    assert web_node.live_feed.published == 0  # this process only listened
