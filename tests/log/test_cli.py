"""`zhian log readers`, `drop-reader` and `damage`, while the log is held open."""

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


def test_recorded_losses_are_shown(tmp_path: Path) -> None:
    runner = CliRunner()
    workspace = ["--workspace", str(tmp_path)]
    log_dir = tmp_path / "log"
    with LocalEventLog(log_dir, fsync=False) as log:
        log.append([b"a", b"b", b"c"])
    whole = runner.invoke(app, ["log", "damage", *workspace])
    assert whole.exit_code == 0, whole.output
    assert "recorded no loss" in whole.output

    # The last acknowledged record's payload damaged on disk.
    [segment] = log_dir.glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    with LocalEventLog(log_dir, fsync=False) as log:  # held open, as a running node holds it
        shown = runner.invoke(app, ["log", "damage", *workspace])
    assert shown.exit_code == 1, shown.output
    assert "records 3-3 (1) lost" in shown.output and "bad checksum" in shown.output
    assert "kept aside: 00000000000000000001.seg.from-byte-18." in shown.output
    assert "1 records lost in 1 gaps" in shown.output


def test_an_acknowledged_loss_stays_listed_and_no_longer_fails_the_command(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    workspace = ["--workspace", str(tmp_path)]
    log_dir = tmp_path / "log"
    with LocalEventLog(log_dir, fsync=False) as log:
        log.append([b"a", b"b", b"c"])
    [segment] = log_dir.glob("*.seg")
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))

    with LocalEventLog(log_dir, fsync=False):  # recovery records the loss; the node runs
        blank = runner.invoke(app, ["log", "acknowledge-damage", "--note", " ", *workspace])
        assert blank.exit_code == 2 and "--note" in blank.output
        assert runner.invoke(app, ["log", "damage", *workspace]).exit_code == 1

        done = runner.invoke(
            app, ["log", "acknowledge-damage", "--note", "restored from backup", *workspace]
        )
        assert done.exit_code == 0, done.output
        assert "records 3-3 (1) lost" in done.output and "Acknowledged 1 gaps" in done.output

        shown = runner.invoke(app, ["log", "damage", *workspace])
        again = runner.invoke(app, ["log", "acknowledge-damage", "--note", "x", *workspace])
    assert shown.exit_code == 0, shown.output
    # Still listed (the numbers stay used), with who acknowledged it and why.
    assert "records 3-3 (1) lost" in shown.output
    assert "restored from backup" in shown.output and "Every loss is acknowledged" in shown.output
    assert again.exit_code == 0 and "No loss waits" in again.output

    # Damage found later is reported again, the acknowledged loss is not.
    with LocalEventLog(log_dir, fsync=False) as log:
        log.append([b"d", b"e"])
    segment = max(log_dir.glob("*.seg"))
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF
    segment.write_bytes(bytes(data))
    with LocalEventLog(log_dir, fsync=False) as log:
        pending = [loss for loss in log.losses() if loss.acknowledged is None]
        later = runner.invoke(app, ["log", "damage", *workspace])
    assert [(loss.first_seq, loss.last_seq) for loss in pending] == [(5, 5)]
    assert later.exit_code == 1
    assert "1 of 2 gaps not acknowledged" in " ".join(later.output.split())
