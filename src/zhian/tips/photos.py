"""A resident's photo made safe to keep: checked to be a real JPEG or PNG, bounded in size
and pixels, and re-encoded from its pixels alone, so no EXIF (GPS position, camera make
and serial, time), XMP, comment or colour-profile chunk survives."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from zhian.errors import BadRequestError, PayloadTooLargeError
from zhian.ingest.images import MAX_IMAGE_PIXELS

_SAVE_AS = {"JPEG": ("JPEG", "image/jpeg"), "PNG": ("PNG", "image/png")}
# Modes each format keeps as they are; anything else is converted (palette → RGBA …).
_KEPT_MODES = {"JPEG": ("L", "RGB"), "PNG": ("L", "LA", "RGB", "RGBA")}
JPEG_QUALITY = 90


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    """A photo re-encoded without metadata, and the media type to store it under."""

    data: bytes
    content_type: str


def clean_photo(data: bytes, *, index: int, max_bytes: int) -> CleanPhoto:
    """`data` re-encoded from its pixels, or a 413/400 naming photo `index` (from 1)."""
    if len(data) > max_bytes:
        raise PayloadTooLargeError(
            f"photo {index} is {len(data)} bytes; the limit is {max_bytes} bytes",
            field="photos",
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            _check_size(probe.size, index)
            probe.verify()
            image_format = probe.format or ""
        if image_format not in _SAVE_AS:
            raise _not_an_image(index)
        with Image.open(io.BytesIO(data)) as image:
            # Turn the picture upright first: the orientation tag goes with the EXIF.
            upright = ImageOps.exif_transpose(image)
            upright.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLargeError(
            f"photo {index} declares more than {MAX_IMAGE_PIXELS} pixels", field="photos"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, IndexError):
        raise _not_an_image(index) from None
    return CleanPhoto(_pixels_only(upright, image_format), _SAVE_AS[image_format][1])


def _pixels_only(image: Image.Image, image_format: str) -> bytes:
    if image.mode not in _KEPT_MODES[image_format]:
        image = image.convert("RGB" if image_format == "JPEG" else "RGBA")
    # A fresh image from the raw pixels carries no `info` at all (EXIF, ICC, XMP, text).
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if image_format == "JPEG":
        bare.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        bare.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _check_size(size: tuple[int, int], index: int) -> None:
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise PayloadTooLargeError(
            f"photo {index} declares {width}×{height} pixels; the limit is {MAX_IMAGE_PIXELS}",
            field="photos",
        )


def _not_an_image(index: int) -> BadRequestError:
    return BadRequestError(f"photo {index} is not a JPEG or PNG image", field="photos")
