"""GA/T 1400 times: the documented forms are read, anything else is refused per object with
a reason that names the field, never the platform's own parser message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.ingest.viid.conftest import FIXTURES
from zhian.ingest.viid.fake import DeviceEmulator, statuses
from zhian.ingest.viid.wire import parse_time


def faces_with_time(value: object) -> dict[str, Any]:
    listing: dict[str, Any] = json.loads((FIXTURES / "faces_standard.json").read_text())
    for face in listing["FaceListObject"]["FaceObject"]:
        face["LocationMarkTime"] = value
        face["FaceAppearTime"] = value
    return listing


@pytest.mark.parametrize(
    "value",
    [
        "2026112008590000",  # two extra digits
        "202611200859000000",  # four extra digits
        "20261320085900",  # month 13: strptime said "unconverted data remains: 0"
        "20261120256000",
        1e20,  # epoch milliseconds past year 9999: an OSError before
        10**30,  # an OverflowError before
    ],
)
def test_a_bad_time_is_refused_with_a_reason(registered: DeviceEmulator, value: object) -> None:
    response = registered.post("/VIID/Faces", faces_with_time(value))
    assert response.status_code == 200, response.text[:300]
    for status in statuses(response.json()):
        assert status["StatusCode"] == 8
        reason = str(status["StatusString"])
        assert "AppearTime" in reason or "LocationMarkTime" in reason
        assert "time" in reason or "yyyyMMddHHmmss" in reason
        assert "unconverted data" not in reason


def test_milliseconds_are_read() -> None:
    assert parse_time("20261120085900123") == parse_time("20261120085900").replace(
        microsecond=123_000
    )


def test_a_documented_time_with_milliseconds_is_accepted(registered: DeviceEmulator) -> None:
    response = registered.post("/VIID/Faces", faces_with_time("20261120085900500"))
    assert [status["StatusCode"] for status in statuses(response.json())] == [0] * len(
        statuses(response.json())
    )
