"""Faults the operator must fix by hand end a command in one clear line, exit 2, no traceback."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhian.cli.main import app


def damaged_workspace(workspace: Path, damage: bytes) -> Path:
    result = CliRunner().invoke(app, ["init", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    (workspace / "zhian.db").write_bytes(damage)
    return workspace


def serve(workspace: Path) -> subprocess.CompletedProcess[str]:
    """`zhian serve` as an operator runs it: its real stderr, where a traceback would show."""
    env = {**os.environ, "ZHIAN_WEB__SECRET_KEY": secrets.token_urlsafe(48)}
    return subprocess.run(
        [sys.executable, "-m", "zhian", "serve", "-w", str(workspace), "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


DAMAGES = {
    "random bytes": secrets.token_bytes(8192),
    "a torn header": b"SQLite format 3\x00" + secrets.token_bytes(100),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
@pytest.mark.parametrize("command", [["users", "list"], ["quarantine", "list"], ["migrate"]])
def test_a_damaged_database_is_one_line(tmp_path: Path, command: list[str], damage: bytes) -> None:
    workspace = damaged_workspace(tmp_path / "workspace", damage)
    result = CliRunner().invoke(app, [*command, "-w", str(workspace)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "SQLite database is damaged" in lines[0]
    assert "backup" in lines[0]


def test_serve_on_a_damaged_database_is_one_line(tmp_path: Path) -> None:
    workspace = damaged_workspace(tmp_path / "workspace", DAMAGES["random bytes"])
    done = serve(workspace)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "SQLite database is damaged" in done.stderr


def test_a_broken_key_ring_is_one_line(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    assert CliRunner().invoke(app, ["init", "-w", str(workspace)]).exit_code == 0
    key_file = workspace / "keys" / "zhian-keys.json"
    key_file.parent.mkdir(mode=0o700, exist_ok=True)
    key_file.write_text("{not json")
    key_file.chmod(0o600)
    done = serve(workspace)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "not a valid key ring" in done.stderr


def test_a_missing_key_ring_over_sealed_data_is_one_line(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    assert CliRunner().invoke(app, ["init", "-w", str(workspace)]).exit_code == 0
    # What a node leaves after its first start: a sealed log segment, then the ring lost.
    (workspace / "log").mkdir(mode=0o700)
    (workspace / "log" / "00000000000000000001.seg").write_bytes(b"sealed")
    done = serve(workspace)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "key ring is missing" in done.stderr
    assert "restore the key ring" in done.stderr
    assert not (workspace / "keys" / "zhian-keys.json").exists()
