"""Image blobs (face captures, vehicle snapshots), content-addressed in the workspace.

A capture shows a face or a plate: with a cipher (the node's field cipher, AES-256-GCM
with the key id inside) each file is sealed at rest, bound to its own reference, and is
opened only when read for an authorised use (an audited evidence image, a ferry export, a
forward to the parent node). Files an older version wrote in clear still read.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Protocol

from PIL import Image, UnidentifiedImageError

from zhian.errors import BadRequestError, PayloadTooLargeError, UnsupportedMediaTypeError

_REF = re.compile(r"^img:(?P<digest>[0-9a-f]{64})\.(?P<ext>jpg|png)$")
_FORMATS = {"JPEG": "jpg", "PNG": "png"}
_MEDIA_TYPES = {"image/jpeg": "JPEG", "image/jpg": "JPEG", "image/png": "PNG"}
MAX_IMAGE_PIXELS = 50_000_000
"""The most pixels an image may declare: a 50-megapixel capture is larger than any camera
sends, and a tiny PNG declaring 40000×40000 would otherwise take gigabytes to decode."""


# The first byte of a sealed value (the cipher's format version): a JPEG starts 0xFF, a
# PNG 0x89, so a clear file from before sealing is told apart by this byte alone.
SEALED_MARK: Final = 0x01


class BlobCipher(Protocol):
    """Seals and opens whole files (`zhian.governance.crypto.FieldCipher` is one)."""

    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...

    def open_bytes(self, sealed: bytes, context: str) -> bytes: ...

    def reseal_bytes(self, sealed: bytes, context: str) -> bytes | None:
        """The file under the active key, or None when it already is."""
        ...


def blob_context(ref: str) -> str:
    """What a blob is sealed for: its reference, so a file swapped for another fails."""
    return f"blobs:{ref}"


class ImageStore:
    """Checks that an upload really is a JPEG or PNG and keeps it under its sha256,
    sealed with `cipher` when one is given (every node gives one)."""

    def __init__(
        self, directory: Path, *, max_bytes: int, cipher: BlobCipher | None = None
    ) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._cipher = cipher

    def save(self, data: bytes, content_type: str | None) -> str:
        """Store an image durably and return its reference, e.g. `img:<sha256>.jpg`."""
        declared = _MEDIA_TYPES.get((content_type or "").split(";")[0].strip().lower())
        if declared is None:
            raise UnsupportedMediaTypeError(
                f"content type '{content_type}' is not an accepted image; use image/jpeg or "
                "image/png",
                field="Content-Type",
            )
        if len(data) > self._max_bytes:
            raise PayloadTooLargeError(
                f"image is {len(data)} bytes; the limit is {self._max_bytes}", field="body"
            )
        found = _sniff(data)  # raises PayloadTooLargeError for a decompression bomb
        if found != declared:
            raise BadRequestError(
                f"body is not a valid {declared} image"
                + (f" (it looks like {found})" if found else ""),
                field="body",
            )
        digest = hashlib.sha256(data).hexdigest()
        ref = f"img:{digest}.{_FORMATS[found]}"
        path = self.path_of(ref)
        if not path.exists():
            stored = (
                data if self._cipher is None else self._cipher.seal_bytes(data, blob_context(ref))
            )
            _write_durably(path, stored)
        return ref

    def path_of(self, ref: str) -> Path:
        """The file behind a reference; refuses anything that is not a well-formed reference."""
        match = _REF.match(ref)
        if match is None:
            raise BadRequestError(f"'{ref}' is not an image reference", field="image")
        digest = match.group("digest")
        return self._directory / digest[:2] / f"{digest}.{match.group('ext')}"

    def exists(self, ref: str) -> bool:
        return _REF.match(ref) is not None and self.path_of(ref).exists()

    def read(self, ref: str) -> bytes:
        """The image in clear: the caller serves it only to an authorised, audited use."""
        stored = self.path_of(ref).read_bytes()
        if stored[:1] != bytes([SEALED_MARK]):
            return stored  # written in clear by a version before sealing
        if self._cipher is None:
            raise BadRequestError(
                f"image '{ref}' is sealed and this store has no key ring to open it",
                field="image",
            )
        return self._cipher.open_bytes(stored, blob_context(ref))

    def sealed_files(self) -> Iterator[tuple[str, bytes]]:
        """Every sealed image as (reference, stored bytes), for key rotation and census."""
        if not self._directory.is_dir():
            return
        for path in sorted(self._directory.glob("??/*")):
            ref = f"img:{path.name}"
            if _REF.match(ref) is None or self.path_of(ref) != path:
                continue  # a `.part` left by a crash, or a stray file
            stored = path.read_bytes()
            if stored[:1] == bytes([SEALED_MARK]):
                yield ref, stored

    def reseal(self) -> int:
        """Re-encrypt every sealed image not under the cipher's active key (key rotation);
        returns how many were rewritten. Each file is replaced atomically, so an interrupted
        run leaves every image readable under the old or the new key."""
        if self._cipher is None:
            raise BadRequestError("resealing images needs a key ring", field="image")
        count = 0
        for ref, stored in self.sealed_files():
            fresh = self._cipher.reseal_bytes(stored, blob_context(ref))
            if fresh is not None:
                _write_durably(self.path_of(ref), fresh)
                count += 1
        return count


def image_format(data: bytes) -> str | None:
    """'JPEG' or 'PNG' after a full structural check, or None for anything else;
    PayloadTooLargeError for a decompression bomb (a search by photo checks its upload so)."""
    return _sniff(data)


def _sniff(data: bytes) -> str | None:
    """The image format Pillow finds after a full structural check, or None.

    The declared size is read from the header (`Image.open` decodes no pixels) and an image
    over `MAX_IMAGE_PIXELS` is refused before anything else is done with it.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            _check_pixels(*image.size)
            image.verify()
            return image.format if image.format in _FORMATS else None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # The warning (between Pillow's limit and twice it) is an exception only where
        # warnings are errors, as under pytest; elsewhere `_check_pixels` refuses the size.
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fires inside `open`, before the
        # size can be read here; the image is far over the limit either way.
        raise PayloadTooLargeError(
            f"image declares more than {MAX_IMAGE_PIXELS} pixels; the limit is "
            f"{MAX_IMAGE_PIXELS} (a decompression bomb is refused unread)",
            field="body",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, IndexError):
        # IndexError: Pillow's PNG `verify` indexes the first image-data chunk, and a PNG
        # with a header but no IDAT has none (found by tests/fuzz/test_images.py).
        return None


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        raise PayloadTooLargeError(
            f"image declares {width}×{height} pixels ({width * height}); the limit is "
            f"{MAX_IMAGE_PIXELS} (a decompression bomb is refused unread)",
            field="body",
        )


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".part")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
