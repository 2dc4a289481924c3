"""Files at rest: everything a node writes in its workspace is for its user alone.

Each test starts from a permissive umask (022, the usual default) so that it checks what
the node does, not what the test runner happened to set.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.conftest import CST
from tests.ingest.factories import load_master_data
from tests.ingest.ferry.conftest import ferry_of, image_bytes, sample_events
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node

START = datetime(2026, 11, 20, 9, 0, tzinfo=CST)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def open_to_others(root: Path) -> list[str]:
    """Every file and folder under `root` (itself included) that group or others may use."""
    found: list[str] = []
    for directory, _folders, files in os.walk(root):
        for path in [Path(directory), *(Path(directory, name) for name in files)]:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & (stat.S_IRWXG | stat.S_IRWXO):
                found.append(f"{path.relative_to(root)} {stat.filemode(mode)}")
    return found


@pytest.mark.usefixtures("permissive_umask")
def test_a_node_writes_for_its_user_only_and_tightens_what_was_left_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    workspace = tmp_path / "node"
    # What an older version left: an open workspace, database and capture-image folder.
    (workspace / "blobs" / "ab").mkdir(parents=True, mode=0o755)
    workspace.chmod(0o755)
    (workspace / "blobs" / "ab" / "old.jpg").write_bytes(b"old capture")
    (workspace / "blobs" / "ab" / "old.jpg").chmod(0o644)
    (workspace / "zhian.toml").write_text("", encoding="utf-8")
    (workspace / "zhian.toml").chmod(0o644)
    assert open_to_others(workspace)
    clock = ManualClock(START)
    exports = tmp_path / "exports"

    with caplog.at_level(logging.WARNING, logger="zhian.node"):
        node_context = Node.open(load_settings(workspace), clock)
    with node_context as node:
        load_master_data(node, now=clock.now())
        node.images.save(image_bytes((1, 2, 3)), "image/png")
        raws = [msgspec.json.encode(event) for event in sample_events(node, clock)]
        result = node.intake.submit_raw(
            [*raws, b'{"type": "alarm"}'],  # one refusal: the quarantine holds raw input
            source="test",
            sender_id=None,
            content_type="application/json",
        )
        assert result.rejected == 1
        assert node.feeder.wait_caught_up(timeout_seconds=10)
        (package,) = ferry_of(node).export(
            since=START - timedelta(hours=1), until=START + timedelta(seconds=1), out_dir=exports
        )
        written = {p.name for p in workspace.iterdir()}
        assert open_to_others(workspace) == []  # while it runs, -wal and -shm included

    assert {"zhian.db", "events.duckdb", "log", "blobs", "keys", "intake-keys.sqlite3"} <= written
    assert open_to_others(workspace) == []
    assert open_to_others(exports) == []
    assert any("took group and other permissions off" in r.message for r in caplog.records)
    assert (package.path / "manifest.json").is_file()


@pytest.mark.usefixtures("permissive_umask")
def test_the_demo_command_leaves_a_workspace_for_its_user_only(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    command = ["demo", "--no-serve", "--days", "0.05", "--scale", "0.05", "-w", str(workspace)]
    done = subprocess.run(
        [sys.executable, "-m", "zhian", *command],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert (workspace / "zhian.db").is_file()
    assert open_to_others(workspace) == []
