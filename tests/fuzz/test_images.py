"""Image uploads: the header and structure check of `ImageStore.save`."""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from tests.fuzz.inputs import ANY_BYTES, FUZZ
from zhian.errors import ZhianError
from zhian.ingest.images import ImageStore


def _encoded(fmt: str, width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(out, fmt)
    return out.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares any size, with (almost) no pixel data behind it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    fmt = draw(st.sampled_from(["JPEG", "PNG"]))
    data = _encoded(fmt, draw(st.integers(1, 16)), draw(st.integers(1, 16)))
    how = draw(st.sampled_from(["none", "truncate", "flip", "header"]))
    if how == "truncate":
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip":
        at = draw(st.integers(0, min(len(data), 64) - 1))
        return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    if how == "header":
        return _png_declaring(draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1)))
    return data


@FUZZ
@given(
    st.one_of(ANY_BYTES, damaged_images()),
    st.sampled_from(["image/jpeg", "image/png", "image/gif", None]),
)
@example(_png_declaring(1, 1), "image/png")  # no IDAT: Pillow's verify raised IndexError
@example(_png_declaring(40_000, 40_000), "image/png")
@example(_png_declaring(9_460, 9_460), "image/png")  # Pillow warns (89.5 MP), no error
@example(_png_declaring(2**31 - 1, 2**31 - 1), "image/png")
def test_save_stores_an_image_or_refuses(data: bytes, content_type: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = ImageStore(Path(folder), max_bytes=1_000_000)
        try:
            ref = store.save(data, content_type)
        except ZhianError:
            return
        assert store.exists(ref)
