"""Plates at intake: any plate reading is kept (zhian.governance.plates); only readings that
cannot be a plate are refused, naming `plate`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import pytest

from zhian.ingest.events import Event, VehicleEvent
from zhian.ingest.validate import EventValidator, IntakeDirectory, ItemRejected, check_plate

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Device:
    id: str
    is_enabled: bool = True
    gateway_id: str | None = None


def _check(plate: str) -> Event | ItemRejected:
    event = VehicleEvent(
        id="V1",
        device_id="GATE1",
        time=NOW,
        plate=plate,
        plate_color="blue",
        vehicle_class="car",
        direction="in",
    )
    validator = EventValidator(max_future_seconds=60, max_age_days=7)
    [verdict] = validator.check_batch(
        [event],
        directory=IntakeDirectory(devices={"GATE1": _Device("GATE1")}),
        sender_id=None,
        now=NOW,
        image_exists=lambda _ref: False,
    )
    return verdict


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("浙A12345", "浙A12345"),
        ("京a 12345", "京A12345"),  # blanks removed, upper case
        ("粤B·D12345", "粤BD12345"),  # new-energy, small vehicle
        ("沪A12345F", "沪A12345F"),  # new-energy, large vehicle
        ("苏E1234学", "苏E1234学"),  # special use
        ("无车牌", "无车牌"),  # no readable plate: still a passage
        ("XA12345", "XA12345"),  # no province: kept, as kind other
        ("浙AI2345", "浙AI2345"),  # misread I: kept
        ("浙A1234", "浙A1234"),  # a character missed: kept
        ("HH 12-34", "HH1234"),  # foreign
    ],
)
def test_plates_are_accepted_in_canonical_form_whatever_their_format(
    sent: str, stored: str
) -> None:
    verdict = _check(sent)
    assert isinstance(verdict, VehicleEvent)
    assert verdict.plate == stored


@pytest.mark.parametrize(
    ("plate", "reason"),
    [
        ("浙A12345<", "only letters and digits"),
        ("' OR 1=1 --", "only letters and digits"),
        ("浙A1234567890123", "at most 12 characters"),
    ],
)
def test_bad_plates_are_refused_naming_the_field(plate: str, reason: str) -> None:
    verdict = _check(plate)
    assert isinstance(verdict, ItemRejected)
    assert verdict.code == "invalid"
    [error] = verdict.errors
    assert error.field == "plate"
    assert reason in error.reason and plate in error.reason


@pytest.mark.parametrize(
    ("plate", "reason"), [("   ", "is blank"), ("浙A\x0712345", "U+0007 (a control character)")]
)
def test_blank_plates_and_control_characters_are_refused_naming_the_field(
    plate: str, reason: str
) -> None:
    verdict = _check(plate)
    assert isinstance(verdict, ItemRejected)
    [error] = verdict.errors
    assert error.field == "plate" and reason in error.reason


def test_plate_and_image_errors_are_reported_together() -> None:
    event = msgspec.convert(
        {
            "type": "vehicle",
            "id": "V2",
            "device_id": "GATE1",
            "time": NOW.isoformat(),
            "plate": "bad!",
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in",
            "image": "img:" + "0" * 64 + ".jpg",
        },
        Event,
    )
    validator = EventValidator(max_future_seconds=60, max_age_days=7)
    [verdict] = validator.check_batch(
        [event],
        directory=IntakeDirectory(devices={"GATE1": _Device("GATE1")}),
        sender_id=None,
        now=NOW,
        image_exists=lambda _ref: False,
    )
    assert isinstance(verdict, ItemRejected)
    assert [error.field for error in verdict.errors] == ["plate", "image"]


def test_check_plate_is_a_pure_function() -> None:
    assert check_plate(" 京A12345 ") == "京A12345"
    assert check_plate("京A") == "京A"  # a partial reading is still a passage
    refused = check_plate("京A!")
    assert not isinstance(refused, str) and refused.field == "plate"
