"""Ground truth: what the simulator planted, when, and about whom, as JSON lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

# Scenario names, as they appear in truth records.
DEVICE_OFFLINE = "device_offline"
DEVICE_FAULT = "device_fault"
TAILGATING = "tailgating"
REAL_FIRE = "real_fire"
FALSE_SMOKE_ALARM = "false_smoke_alarm"
SOS = "sos"
PERIMETER_INTRUSION = "perimeter_intrusion"
# Cases (zhian.sim.scenarios_cases): one offender's series, a near-repeat burglary near an
# earlier one by someone else, and a background case of no series.
CASE_SERIES = "case_series"
NEAR_REPEAT = "near_repeat"
BACKGROUND_CASE = "background_case"
# Noise: ordinary life that looks unusual and must not raise a warning.
NIGHT_SHIFT_WORKER = "night_shift_worker"
AWAY_ON_TRIP = "away_on_trip"
COURIER = "courier"


class TruthRecord(msgspec.Struct, frozen=True):
    """One planted situation: the scenario, its subject (a device, house, resident or courier
    reference), its interval (`end` None: still going on when the stream ends) and details."""

    scenario: str
    subject: str
    start: datetime
    end: datetime | None
    detail: dict[str, Any] = msgspec.field(default_factory=dict)


def write_truth(path: Path, records: Iterable[TruthRecord]) -> int:
    """Write records as JSON lines; returns how many were written."""
    encoder = msgspec.json.Encoder()
    count = 0
    with path.open("wb") as handle:
        for record in records:
            handle.write(encoder.encode(record))
            handle.write(b"\n")
            count += 1
    return count


def read_truth(path: Path) -> list[TruthRecord]:
    decoder = msgspec.json.Decoder(TruthRecord)
    with path.open("rb") as handle:
        return [decoder.decode(line) for line in handle if line.strip()]
