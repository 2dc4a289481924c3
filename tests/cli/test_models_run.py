"""`zhian models run`: the batch models once over stored events, without a node serving
(the case with a node serving is in test_while_serving.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from typer.testing import CliRunner, Result

from zhian.cli.main import app
from zhian.ingest.events import VehicleEvent
from zhian.sim import TZ, build_district


def zhian(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def flat(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with a district's master data and one muck truck entering a site by day
    yesterday (muck trucks may pass only at night by default)."""
    ws = tmp_path / "ws"
    assert zhian("init", "-w", str(ws)).exit_code == 0
    district = build_district(seed=5, scale=0.2)
    district.write_csv(tmp_path / "csv")
    imported = zhian("import", *map(str, sorted((tmp_path / "csv").glob("*.csv"))), "-w", str(ws))
    assert imported.exit_code == 0, imported.output
    site = next(s for s in district.sites if s.vehicle_gates)
    truck = district.muck_trucks[0]
    day = datetime.now(TZ) - timedelta(days=1)
    event = VehicleEvent(
        id="m1",
        device_id=site.vehicle_gates[0],
        time=day.replace(hour=14, minute=0, second=0, microsecond=0),
        plate=truck.plate,
        plate_color=truck.plate_color,
        vehicle_class=truck.vehicle_class,
        direction="in",
    )
    events = tmp_path / "events.ndjson"
    events.write_bytes(msgspec.json.encode(event) + b"\n")
    ingested = zhian("ingest", str(events), "-w", str(ws))
    assert ingested.exit_code == 0 and "│ 1 │ 0 │ 0 │" in flat(ingested), ingested.output
    return ws


def test_one_model_runs_as_of_a_time_and_raises_its_alert_once(workspace: Path) -> None:
    yesterday = (datetime.now(TZ) - timedelta(days=1)).date()
    before = f"{yesterday.isoformat()}T13:00:00+08:00"  # before the truck came: nothing
    result = zhian("models", "run", "--model", "restricted_vehicle", "--as-of", before,
                   "-w", str(workspace))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "model.restricted_vehicle │ 0 │" in flat(result) and "0 alert(s)" in flat(result)
    after = f"{yesterday.isoformat()}T15:00:00+08:00"
    for _ in range(2):  # a second run updates the same open alert
        result = zhian("models", "run", "--model", "model.restricted_vehicle", "--as-of", after,
                       "-w", str(workspace))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "model.restricted_vehicle │ 1 │" in flat(result)
        assert "1 alert(s) raised or updated" in flat(result)
        assert "model.moved_out" not in result.output  # only the model asked for


def test_every_model_runs_by_default_with_progress(workspace: Path) -> None:
    result = zhian("models", "run", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    for name in ("unregistered_resident", "moved_out", "zombie_vehicle", "welfare_check"):
        assert f"model.{name}: " in result.output  # told as each model finishes
        assert f"model.{name} │ 0 │" in flat(result)


def test_an_unknown_model_or_time_is_refused_naming_the_option(workspace: Path) -> None:
    result = zhian("models", "run", "--model", "ethnicity", "-w", str(workspace))
    assert result.exit_code == 2
    assert "--model" in flat(result) and "unknown model 'ethnicity'" in flat(result)
    result = zhian("models", "run", "--as-of", "yesterday", "-w", str(workspace))
    assert result.exit_code == 2
    assert "--as-of" in flat(result) and "ISO 8601" in flat(result)
