"""Identity values: GB 11643 check character, mobile numbers, names, with their reasons
(plates: tests/governance/test_plates.py)."""

from __future__ import annotations

from datetime import date

import pytest

from zhian.governance.masking import mask, mask_id_number, mask_name, mask_phone, mask_plate
from zhian.governance.validation import (
    InvalidValueError,
    id_check_character,
    normalise_id_number,
    normalise_name,
    normalise_phone,
)


def valid_id(first17: str) -> str:
    return first17 + id_check_character(first17)


def test_id_number_check_character_of_the_standard_example() -> None:
    # The example of GB 11643-1999 itself.
    assert normalise_id_number("11010519491231002x") == "11010519491231002X"
    assert normalise_id_number(" 1101 0519 4912 3100 2X ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("110105194912310021", "check character is 1, expected X (GB 11643)"),
        ("110105491231002", "15-digit first-generation numbers are not accepted"),
        ("1101051949123100", "must have 18 characters, got 16"),
        ("11010519491231A02X", "the first 17 characters must be digits"),
        ("11010519491231002Y", "the last character must be a digit or X"),
        (valid_id("99010519491231002"), "region code 99 is not a province"),
        (valid_id("11010519490231002"), "birth date 19490231 is not a real date"),
        (valid_id("11010518991231002"), "birth year 1899 is before 1900"),
    ],
)
def test_id_number_rejections_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidValueError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        normalise_id_number(value)


def test_id_number_birth_date_not_in_the_future() -> None:
    number = valid_id("11010520300101002")
    assert normalise_id_number(number) == number
    with pytest.raises(InvalidValueError, match="lies in the future"):
        normalise_id_number(number, today=date(2026, 11, 20))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 19912345678", "19912345678"),
        ("8613812345678", "13812345678"),
    ],
)
def test_mobile_numbers_are_normalised(value: str, expected: str) -> None:
    assert normalise_phone(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1381234567", "must have 11 digits, got 10"),
        ("12812345678", "is not a mainland mobile number"),
        ("010-12345678", "is not a mainland mobile number"),
        ("138abc45678", "must contain only digits"),
    ],
)
def test_bad_phone_numbers_say_why(value: str, reason: str) -> None:
    with pytest.raises(InvalidValueError, match=reason):
        normalise_phone(value)


def test_names() -> None:
    assert normalise_name("  欧阳   娜娜 ") == "欧阳 娜娜"
    with pytest.raises(InvalidValueError, match="must not contain digits"):
        normalise_name("张3")


def test_masks() -> None:
    assert mask_id_number("110105194912310021") == "1101**********0021"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_plate("京A12345") == "京A***45"
    assert mask("phone", None) is None
    assert mask_phone("123") == "***"
