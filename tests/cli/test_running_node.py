"""The running-node marker: claimed by one node, found by commands, ignored once stale."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.ingest.test_durability import free_port
from zhian.cli import running
from zhian.cli.main import app
from zhian.config import Settings
from zhian.kit.running import (
    LOCK_FILE_NAME,
    MARKER_FILE_NAME,
    NodeAlreadyRunningError,
    claim_workspace,
    find_running_node,
    loopback_url,
    read_marker,
)

CLAIM_AND_WAIT = """
import sys
from pathlib import Path
from zhian.kit.running import claim_workspace
claim_workspace(Path(sys.argv[1]), "http://127.0.0.1:1")
print("claimed", flush=True)
sys.stdin.read()
"""


def test_a_claim_is_found_until_released_and_only_one_holds(tmp_path: Path) -> None:
    assert find_running_node(tmp_path) is None
    claim = claim_workspace(tmp_path, "http://127.0.0.1:8000")
    try:
        found = find_running_node(tmp_path)
        assert found == claim.marker and found.pid == os.getpid()
        # The token lets its bearer run retention on the node: owner-only.
        assert stat.S_IMODE((tmp_path / MARKER_FILE_NAME).stat().st_mode) == 0o600
        with pytest.raises(NodeAlreadyRunningError, match="already running"):
            claim_workspace(tmp_path, "http://127.0.0.1:8001")
        assert found.accepts(claim.marker.token) and not found.accepts("guess")
    finally:
        claim.release()
    assert find_running_node(tmp_path) is None
    assert not (tmp_path / MARKER_FILE_NAME).exists()


def test_the_marker_of_a_killed_node_is_ignored(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_WAIT, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "claimed"
        assert find_running_node(tmp_path) is not None
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    # The file stays behind, naming a pid that is gone; the lock went with the process.
    assert read_marker(tmp_path) is not None and (tmp_path / LOCK_FILE_NAME).exists()
    assert find_running_node(tmp_path) is None
    claim_workspace(tmp_path, "http://127.0.0.1:8000").release()  # a new node may start


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:80"),  # noqa: S104 - a listen address, read
        ("::", "http://[::1]:80"),
        ("10.0.0.5", "http://10.0.0.5:80"),
        ("127.0.0.1", "http://127.0.0.1:80"),
    ],
)
def test_loopback_url_reaches_a_wildcard_listener(host: str, url: str) -> None:
    assert loopback_url(host, 80) == url


def test_without_a_node_the_command_opens_the_workspace_and_says_so(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["quality", "report", "-w", str(settings.workspace)])
    assert result.exit_code == 0, result.output
    assert "no node running: opening the workspace directly" in result.stderr


def test_a_node_that_does_not_answer_ends_the_command_in_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(running, "CONNECT_PATIENCE_SECONDS", 0.0)
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    claim = claim_workspace(settings.workspace, url)
    try:
        result = CliRunner().invoke(app, ["retention", "apply", "-w", str(settings.workspace)])
    finally:
        claim.release()
    assert result.exit_code == 2, result.output
    assert f"node running at {url}: sending to it" in result.stderr
    assert "does not answer" in result.stderr and "Traceback" not in result.output
