"""The crowd rule: levels with hysteresis, reconciliation, forecast, alerts through a node."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from tests.web.session import sign_in
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertFilter
from zhian.config import CrowdSettings, load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.rules.crowd import CROWD_KIND, CrowdConfig
from zhian.rules.crowd_forecast import Holt, Reconciler
from zhian.web.app import create_app

CONFIG = CrowdConfig.from_settings(CrowdSettings())
PASSWORD = "correct horse battery"


def test_levels_go_up_at_thresholds_and_down_only_past_the_margin() -> None:
    assert CONFIG.level(0.4, 0) == 0
    assert CONFIG.level(1.5, 0) == 3
    assert CONFIG.level(1.45, 3) == 3  # within the 0.1 margin below 1.5: still warning
    assert CONFIG.level(1.39, 3) == 2
    assert CONFIG.level(4.2, 2) == 5
    assert CONFIG.level(0.1, 5) == 0


def test_camera_readings_remove_the_drift_of_counting_lines() -> None:
    lines_only, reconciled = Reconciler(), Reconciler()
    for minute in range(300):
        # The true occupancy stays at 1,000; one line double-counts 5 entries a minute.
        for r in (lines_only, reconciled):
            r.add_lines(105 if minute else 1105, 100)
        if minute % 2 == 0:
            reconciled.add_camera(1000)
    assert lines_only.estimate > 2000
    assert abs(reconciled.estimate - 1000) < 60


def test_holt_forecasts_a_rising_crowd_with_growing_uncertainty() -> None:
    holt = Holt()
    for minute in range(30):
        holt.add(1000 + 50 * minute + (7 if minute % 2 else -7))
    forecast = holt.forecast(20)
    assert 1000 + 50 * 49 * 0.8 < forecast.mean < 1000 + 50 * 49 * 1.05
    assert forecast.path[0][1] < forecast.sd


@pytest.fixture
def crowd_node(workspace: Path, clock: ManualClock) -> Iterator[Node]:
    settings = load_settings(workspace, log={"fsync": False}, web={"secret_key": "k" * 40})
    with Node.open(settings, clock, feed=False) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            AccessService(
                session, password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
            ).create_user(
                "command", PASSWORD, role="command_centre", jurisdiction_id="J-CITY",
                display_name="指挥中心", now=clock.now(),
            )  # fmt: skip
        yield node


def _feed(node: Node, clock: ManualClock, occupancies: list[int]) -> None:
    """One camera reading of the 1,200 m² plaza a minute; the engine ticks every minute."""
    engine = node.rule_engine
    start = clock.now() + timedelta(seconds=30)
    for minute, people in enumerate(occupancies):
        at = start + timedelta(minutes=minute)
        event = {"type": "crowd", "id": f"c-{at:%H%M%S}", "device_id": "CNT1",
                 "time": at.isoformat(), "zone_id": "Z-PLAZA", "occupancy": people}  # fmt: skip
        clock.set(at + timedelta(seconds=30))
        raw = [json.dumps(event).encode()]
        result = node.intake.submit_raw(
            raw, source="test", sender_id=None, content_type="application/json"
        )
        assert result.accepted == 1
        engine.drain()
        engine.evaluate(at + timedelta(minutes=1))


def _open_crowd_alerts(node: Node) -> list[tuple[str, str]]:
    with node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(kind=CROWD_KIND, is_open=True), scope=JurisdictionScope.unscoped()
        )
    return [(a.tier, a.title_zh) for a in page.items]


def test_a_rising_crowd_is_warned_before_the_threshold_and_cleared_after(
    crowd_node: Node, clock: ManualClock
) -> None:
    # 0.6 persons/m², then +24 people a minute (0.02 persons/m²/min): 1.5 after 45 minutes.
    _feed(crowd_node, clock, [720] * 10)
    assert _open_crowd_alerts(crowd_node) == []
    rising = [720 + 24 * m for m in range(1, 60)]
    engine_clock_start = clock.now()
    warned_at: datetime | None = None
    for minute, people in enumerate(rising):
        _feed(crowd_node, clock, [people])
        alerts = _open_crowd_alerts(crowd_node)
        if warned_at is None and any(tier == "general" for tier, _ in alerts):
            warned_at = engine_clock_start + timedelta(minutes=minute)
            assert people / 1200 < 1.5
            ((_, title),) = alerts
            assert "Plaza" in title and "预计" in title and "需警力" in title
    assert warned_at is not None
    crossing = engine_clock_start + timedelta(minutes=(1800 - 720) / 24 - 1)
    assert crossing - warned_at >= timedelta(minutes=10)
    _feed(crowd_node, clock, [300] * 10)
    assert _open_crowd_alerts(crowd_node) == []


def test_the_crowd_page_shows_each_zone(crowd_node: Node, clock: ManualClock) -> None:
    _feed(crowd_node, clock, [1300] * 8)
    with TestClient(create_app(crowd_node), follow_redirects=False) as client:
        sign_in(client, "command", PASSWORD)
        page = client.get("/crowd?lang=zh")
        assert page.status_code == 200
        assert 'data-zone="Z-PLAZA"' in page.text and 'data-level="pre_warning"' in page.text
        assert "crowd-chart-data-Z-PLAZA" in page.text and "人流态势" in page.text
        english = client.get("/crowd?lang=en")
        assert "Crowd situation" in english.text


def test_a_lines_process_noise_follows_its_reading_interval() -> None:
    per_second, per_minute, hourly = Reconciler(), Reconciler(), Reconciler()
    for _ in range(60):
        per_second.add_lines(0, 0, 1)
    per_minute.add_lines(0, 0, 60)
    hourly.add_lines(0, 0, 3600)
    assert per_second.variance == pytest.approx(per_minute.variance)
    assert hourly.variance - 1e12 == pytest.approx(60 * (per_minute.variance - 1e12))


def test_a_planned_event_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="is not after start"):
        CrowdSettings.model_validate(
            {
                "planned_events": [
                    {
                        "zone_id": "F02",
                        "start": "2026-11-16T10:00",
                        "end": "2026-11-16T09:00",
                        "expected": 5000,
                    }
                ]
            }
        )
    config = CrowdConfig.from_settings(
        CrowdSettings.model_validate(
            {
                "planned_events": [
                    {
                        "zone_id": "F02",
                        "start": "2026-11-16T10:00",
                        "end": "2026-11-16T18:00",
                        "expected": 5000,
                    }
                ]
            }
        )
    )
    ((zone, window),) = config.planned_events
    assert zone == "F02" and window.start.utcoffset() == timedelta(hours=8)
