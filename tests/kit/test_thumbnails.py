"""Thumbnails: shrunk to fit, never enlarged, always JPEG; unreadable bytes refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from zhian.kit.thumbnails import thumbnail


def image_bytes(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 200)).save(out, format=fmt)
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size


def test_a_large_image_fits_the_square_keeping_its_shape() -> None:
    assert size_of(thumbnail(image_bytes(1920, 1080))) == (240, 135)


def test_a_small_image_keeps_its_size() -> None:
    assert size_of(thumbnail(image_bytes(64, 48, "JPEG"))) == (64, 48)


def test_bytes_that_are_no_image_are_refused() -> None:
    with pytest.raises(ValueError, match="not a readable image"):
        thumbnail(b"not an image")
