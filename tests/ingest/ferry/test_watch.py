"""Watch mode and the `zhian ferry` commands."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from typer.testing import CliRunner

from tests.ingest.factories import access_event, load_master_data
from tests.ingest.ferry.conftest import ferry_of, logged_events
from zhian.cli.main import app
from zhian.config import load_settings
from zhian.node import Node


def test_watch_imports_dropped_packages_and_sets_refused_ones_aside(
    inner: Node, package: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copytree(package, inbox / "good")
    shutil.copytree(package, inbox / "bad")
    (inbox / "bad" / "events" / "crowd.csv").write_text("tampered", encoding="utf-8")
    # Still being copied by the gateway: no manifest yet, so it is left alone.
    shutil.copytree(package, inbox / "incoming")
    (inbox / "incoming" / "manifest.json").unlink()

    outcomes = {o.package: o for o in ferry_of(inner).watch_once(inbox)}

    assert set(outcomes) == {"good", "bad"}
    assert outcomes["good"].report is not None
    assert outcomes["good"].report.accepted == 14
    assert (inbox / "done" / "good" / "manifest.json").is_file()
    assert (inbox / "rejected" / "bad").is_dir()
    reason = (inbox / "rejected" / "bad.reason.txt").read_text(encoding="utf-8")
    assert reason.startswith("events/crowd.csv: is truncated: 8 bytes of")
    assert sorted(p.name for p in inbox.iterdir()) == ["done", "incoming", "rejected"]
    assert len(logged_events(inner)) == 14
    # The same package dropped again later is recognised and filed as done.
    shutil.copytree(package, inbox / "good")
    again = ferry_of(inner).watch_once(inbox)
    assert [(o.package, o.report and o.report.status) for o in again] == [
        ("good", "already imported")
    ]
    assert (inbox / "done" / "good.2").is_dir()


def test_export_and_watch_commands_carry_events_between_workspaces(tmp_path: Path) -> None:
    outer, inner = tmp_path / "outer", tmp_path / "inner"
    now = datetime.now(UTC)  # the commands run on the system clock
    for workspace in (outer, inner):
        with Node.open(load_settings(workspace)) as node:
            load_master_data(node, now=now)
            if workspace == outer:
                events = [access_event(f"e{i}", now - timedelta(minutes=i)) for i in range(3)]
                result = node.intake.submit_raw(
                    [msgspec.json.encode(e) for e in events],
                    source="test",
                    sender_id=None,
                    content_type="application/json",
                )
                assert result.accepted == 3
    runner = CliRunner()
    since = (now - timedelta(hours=1)).isoformat()
    until = (now + timedelta(minutes=1)).isoformat()
    inbox = tmp_path / "inbox"

    exported = runner.invoke(
        app,
        [
            "ferry",
            "export",
            "-w",
            str(outer),
            "--since",
            since,
            "--until",
            until,
            "--out",
            str(inbox),
        ],
    )
    assert exported.exit_code == 0, exported.output
    watched = runner.invoke(app, ["ferry", "watch", str(inbox), "-w", str(inner), "--once"])
    assert watched.exit_code == 0, watched.output
    assert "3 accepted" in watched.output

    with Node.open(load_settings(inner), feed=False) as node:
        assert sorted(e.id for e in logged_events(node)) == ["e0", "e1", "e2"]
