"""`zhian log readers` and `zhian log drop-reader`, while the log is held open."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from zhian.cli.main import app
from zhian.log import LocalEventLog


def test_the_readers_are_shown_and_a_stopped_one_is_dropped(tmp_path: Path) -> None:
    runner = CliRunner()
    workspace = ["--workspace", str(tmp_path)]
    empty = runner.invoke(app, ["log", "readers", *workspace])
    assert empty.exit_code == 0, empty.output
    assert "No reader of the log is registered" in empty.output

    # Held open as a running node holds it: the command reads the positions beside it.
    with LocalEventLog(tmp_path / "log", fsync=False) as log:
        log.append([b"a", b"b", b"c"])
        log.readers.ack("store", 3)
        log.readers.ack("cascade", 1)

        shown = runner.invoke(app, ["log", "readers", *workspace])
        assert shown.exit_code == 0, shown.output
        assert shown.output.index("cascade") < shown.output.index("store")
        assert "prune through record 1 (cascade)" in shown.output

        dropped = runner.invoke(app, ["log", "drop-reader", "cascade", *workspace])
        assert dropped.exit_code == 0, dropped.output
        assert [p.name for p in log.readers.positions()] == ["store"]

        unknown = runner.invoke(app, ["log", "drop-reader", "cascade", *workspace])
        assert unknown.exit_code == 1
        assert "No log reader named 'cascade'" in unknown.output
