"""The operational database on both backends: migrations, master data, quarantine, replay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ingest.factories import MASTER_DATA, access_event, load_master_data
from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.db.engine import make_engine
from zhian.db.migrate import check, upgrade
from zhian.devices.service import DeviceService
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService


@pytest.mark.empty_database
def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)  # by name: the real migrations from empty, not the session's template
    check(engine)  # raises when models and migrations disagree
    engine.dispose()


def test_master_data_quarantine_and_replay(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = load_settings(tmp_path / "ws", database={"url": database_url})
    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now(), skip_devices=("OFF1",))
        with node.db.session() as session:
            counts = RegistryService(session).count_by_entity()
            devices = {
                d.id
                for d in DeviceService(session).list_devices(scope=JurisdictionScope.unscoped())
            }
        assert counts["devices"] == len(MASTER_DATA["devices"]) - 1
        assert "OFF1" not in devices

        raw = json.dumps(access_event("q1", clock.now(), device_id="OFF1")).encode()
        result = node.intake.submit_raw(
            [raw], source="file", sender_id=None, content_type="application/json"
        )
        assert result.rejected == 1
        [held] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
        assert (held.raw, held.reason_code, held.device_id) == (raw, "unknown_device", "OFF1")
        assert held.received_at == clock.now()

        with node.db.session() as session:
            RegistryService(session).load_rows(
                "devices", [dict(r, is_enabled=True) for r in MASTER_DATA["devices"]]
            )
        report = node.replay_quarantine()
        assert (report.accepted, report.still_rejected) == (1, 0)
        assert node.quarantine.list_held(scope=JurisdictionScope.unscoped()) == []
