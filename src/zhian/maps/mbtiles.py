"""Read tiles from an MBTiles file (SQLite, https://github.com/mapbox/mbtiles-spec).

MBTiles stores rows in the TMS scheme (row 0 at the south); web maps ask in the XYZ scheme
(row 0 at the north), so the row is flipped: tms_y = 2^z − 1 − y.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

MAX_ZOOM = 24

# Tile bytes start with one of these; the answer names its media type from them.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"RIFF", "image/webp"),
    (b"\x1f\x8b", "application/x-protobuf"),  # gzipped vector tile
)


class TileOutOfRangeError(ValueError):
    """A tile address that cannot exist at its zoom."""


def media_type(tile: bytes) -> str:
    for signature, kind in _SIGNATURES:
        if tile.startswith(signature):
            return kind
    return "application/octet-stream"


class MBTilesReader:
    """Tiles of one MBTiles file, opened read-only; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"no MBTiles file at {path}")
        self.path = path
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )

    def metadata(self) -> dict[str, str]:
        """The file's metadata table (name, format, bounds, minzoom, maxzoom …)."""
        with self._lock:
            rows = self._connection.execute("SELECT name, value FROM metadata").fetchall()
        return {str(name): str(value) for name, value in rows}

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ address (z, x, y), or None when the file has none there."""
        if not 0 <= z <= MAX_ZOOM:
            raise TileOutOfRangeError(f"zoom {z} is outside 0..{MAX_ZOOM}")
        side = 1 << z
        if not (0 <= x < side and 0 <= y < side):
            raise TileOutOfRangeError(f"tile {x}/{y} does not exist at zoom {z}")
        with self._lock:
            row = self._connection.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? "
                "AND tile_row = ?",
                (z, x, side - 1 - y),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()
