"""Shared simulator fixtures: the pilot district and one Monday of its events, built once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from zhian.ingest.events import Event
from zhian.sim import TZ, District, Simulation, TruthRecord, build_district

DAY_START = datetime(2026, 11, 16, tzinfo=TZ)  # a Monday
DAY_END = DAY_START + timedelta(days=1)


@pytest.fixture(scope="session")
def district() -> District:
    return build_district(seed=7, scale=1.0)


@pytest.fixture(scope="session")
def day_run(district: District) -> tuple[list[Event], list[TruthRecord]]:
    simulation = Simulation(district, start=DAY_START, end=DAY_END, seed=7)
    events = list(simulation.events())
    return events, simulation.truth


@pytest.fixture(scope="session")
def day_events(day_run: tuple[list[Event], list[TruthRecord]]) -> list[Event]:
    return day_run[0]


@pytest.fixture(scope="session")
def day_truth(day_run: tuple[list[Event], list[TruthRecord]]) -> list[TruthRecord]:
    return day_run[1]
