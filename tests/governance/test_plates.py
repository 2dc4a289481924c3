"""The one plate rule: every kind told apart, foreign and misread plates kept as `other`,
only readings that cannot be a plate refused, with the reason."""

from __future__ import annotations

import pytest

from zhian.governance.plates import (
    ALL_KINDS,
    PlateKind,
    PlateRefusedError,
    plate_kind,
    read_plate,
)


@pytest.mark.parametrize(
    ("reading", "kept", "kind"),
    [
        ("京A12345", "京A12345", PlateKind.CIVIL),
        ("京a 12345", "京A12345", PlateKind.CIVIL),  # blanks removed, upper case
        ("川A1234学", "川A1234学", PlateKind.CIVIL),  # special-use civil
        ("粤B·D12345", "粤BD12345", PlateKind.NEW_ENERGY),  # small vehicle
        ("沪A12345F", "沪A12345F", PlateKind.NEW_ENERGY),  # large vehicle
        ("苏E1234警", "苏E1234警", PlateKind.POLICE),
        ("VA12345", "VA12345", PlateKind.MILITARY),
        ("WJ京1234X", "WJ京1234X", PlateKind.MILITARY),  # armed police
        ("使123456", "使123456", PlateKind.EMBASSY),
        ("沪A1234领", "沪A1234领", PlateKind.EMBASSY),  # consulate
        ("粤Z1234港", "粤Z1234港", PlateKind.HK_MACAU),
        ("粤Z1234澳", "粤Z1234澳", PlateKind.HK_MACAU),
        ("B-AB 1234", "BAB1234", PlateKind.OTHER),  # German
        ("ABC-123", "ABC123", PlateKind.OTHER),  # no province: foreign or misread
        ("京AI2345", "京AI2345", PlateKind.OTHER),  # I reads like 1: a misread
        ("京A1234", "京A1234", PlateKind.OTHER),  # a character missed
        ("无车牌", "无车牌", PlateKind.OTHER),  # a camera's no-plate marker
    ],
)
def test_every_reading_of_a_plate_is_kept_with_its_kind(
    reading: str, kept: str, kind: PlateKind
) -> None:
    plate = read_plate(reading)
    assert plate == kept
    assert plate_kind(plate) is kind


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        ("", "must not be empty"),
        (" · ", "must not be empty"),
        ("京A\x0012345", "control characters \\(U\\+0000\\)"),
        ("京A12345\u202e", "control characters \\(U\\+202E\\)"),  # right-to-left override
        ("' OR 1=1 --", "only letters and digits, got '''"),
        ("京A" + "1" * 11, "at most 12 characters, got 13"),
    ],
)
def test_only_readings_that_cannot_be_a_plate_are_refused(reading: str, reason: str) -> None:
    with pytest.raises(PlateRefusedError, match=reason):
        read_plate(reading)


def test_a_kind_the_deployment_does_not_recognise_reads_as_other() -> None:
    without_military = ALL_KINDS - {PlateKind.MILITARY}
    assert plate_kind("VA12345", without_military) is PlateKind.OTHER
    assert plate_kind("京A12345", without_military) is PlateKind.CIVIL
