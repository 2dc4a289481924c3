"""Thumbnails of stored images (JPEG), for lists that show many pictures at once."""

from __future__ import annotations

import io

from PIL import Image

THUMBNAIL_SIDE_PX = 240
THUMBNAIL_QUALITY = 80


def thumbnail(data: bytes, side_px: int = THUMBNAIL_SIDE_PX) -> bytes:
    """`data` (any format Pillow reads) shrunk to fit a `side_px` square, as JPEG; an image
    already smaller keeps its size. ValueError when the bytes are no readable image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((side_px, side_px))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=THUMBNAIL_QUALITY)
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError(f"not a readable image: {error}") from None
    return out.getvalue()
