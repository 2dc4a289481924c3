"""`zhian ingest`: NDJSON and CSV files through the same validation, refused rows quarantined."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.ingest.factories import access_event, load_master_data
from zhian.access.scope import JurisdictionScope
from zhian.cli.main import app
from zhian.config import Settings
from zhian.kit.clock import SystemClock
from zhian.node import Node


def test_ingest_ndjson_and_csv_files(settings: Settings, tmp_path: Path) -> None:
    now = SystemClock().now()  # the command runs on the wall clock
    with Node.open(settings) as node:
        load_master_data(node, now=now)
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text(
        "\n".join(
            [
                json.dumps(access_event("f1", now)),
                json.dumps(access_event("f2", now, device_id="NOPE")),
                "not json",
            ]
        )
    )
    csv_file = tmp_path / "events.csv"
    csv_file.write_text(
        "type,id,device_id,time,kind,level,detail\n"
        f"alarm,a1,CAM1,{now.isoformat()},smoke,2,kitchen\n"
        f"alarm,a2,CAM1,{now.isoformat()},smoke,seven,kitchen\n"
    )

    result = CliRunner().invoke(
        app, ["ingest", str(ndjson), str(csv_file), "--workspace", str(settings.workspace)]
    )

    assert result.exit_code == 0, result.output
    assert "3 events refused" in result.output
    with Node.open(settings) as node:
        assert node.feeder.wait_caught_up(timeout_seconds=10)
        assert node.store.count_event("DOOR1", "f1") == 1
        assert node.store.count_event("CAM1", "a1") == 1
        held = {
            item.event_id or item.raw.decode(): item
            for item in node.quarantine.list_held(scope=JurisdictionScope.unscoped())
        }
        assert set(held) == {"f2", "not json", "a2"}
        assert held["a2"].reasons == [{"field": "level", "reason": "Expected `int`, got `str`"}]


def test_ingest_refuses_missing_files(settings: Settings, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "nope.ndjson"), "--workspace", str(settings.workspace)]
    )
    assert result.exit_code == 2
    assert "No such file" in result.output
