"""`zhian simulate` writes master data, events and truth that read back."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from zhian.cli.demo import load_district
from zhian.cli.simulate import simulate
from zhian.config import load_settings
from zhian.ingest.events import Event
from zhian.node import Node
from zhian.registry.models import Resident
from zhian.sim import build_district, read_truth
from zhian.sim.tables import TABLE_ORDER


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(simulate)
    return app


def test_simulate_writes_everything(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        _app(),
        [str(out), "--days", "0.25", "--scale", "0.1", "--seed", "3", "--start", "2026-11-16"],
    )
    assert result.exit_code == 0, result.output
    for entity in TABLE_ORDER:
        with (out / f"{entity}.csv").open(encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle))
    decoder = msgspec.json.Decoder(Event)
    with (out / "events.ndjson").open("rb") as handle:
        events = [decoder.decode(line) for line in handle]
    assert len(events) > 1_000
    assert events[0].time.isoformat() >= "2026-11-16T00:00:00+08:00"
    assert events[-1].time.isoformat() < "2026-11-16T06:00:00+08:00"
    truth = read_truth(out / "truth.jsonl")
    assert truth
    manifest = msgspec.json.decode((out / "manifest.json").read_bytes())
    assert manifest["events"] == len(events)
    assert "events/s" in result.output


def test_simulate_rejects_a_bad_start(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), [str(tmp_path), "--start", "yesterday"])
    assert result.exit_code == 2
    assert "ISO" in result.output


def test_same_seed_same_files(tmp_path: Path) -> None:
    args = ["--days", "0.1", "--scale", "0.05", "--seed", "5", "--start", "2026-11-16T08:00"]
    for name in ("a", "b"):
        result = CliRunner().invoke(_app(), [str(tmp_path / name), *args])
        assert result.exit_code == 0, result.output
    for name in ("events.ndjson", "truth.jsonl", "residents.csv", "devices.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_enrolled_face_features_only_when_asked(tmp_path: Path) -> None:
    args = ["--days", "0.05", "--scale", "0.05", "--seed", "5", "--start", "2026-11-16T08:00"]
    headers = {}
    for name, extra in (("plain", []), ("faces", ["--face-features"])):
        result = CliRunner().invoke(_app(), [str(tmp_path / name), *args, *extra])
        assert result.exit_code == 0, result.output
        with (tmp_path / name / "residents.csv").open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        headers[name] = set(rows[0])
        if extra:
            assert all(row["face_feature"] for row in rows)
    assert headers["faces"] - headers["plain"] == {"face_feature"}


def test_the_demo_district_loads_with_sealed_face_features(tmp_path: Path) -> None:
    district = build_district(seed=7, scale=0.05)
    settings = load_settings(tmp_path / "workspace", log={"fsync": False})
    with Node.open(settings, feed=False) as node:
        tokens = load_district(node, district)
        with node.db.session() as session:
            enrolled = session.scalars(
                select(Resident.face_feature_enc).where(Resident.face_feature_enc.is_not(None))
            ).all()
    assert len(tokens) == len(district.tables["devices"])
    # Every resident is enrolled, each feature sealed (no base64 of floats in the column).
    assert len(enrolled) == len(district.tables["residents"])
    assert all(not bytes(sealed).isascii() for sealed in enrolled)
