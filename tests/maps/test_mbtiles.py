"""Reading an MBTiles file: the TMS row flip, absent tiles, addresses out of range."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from zhian.maps.mbtiles import MBTilesReader, TileOutOfRangeError, media_type

PNG = b"\x89PNG\r\n\x1a\n" + b"tile"


def write_mbtiles(path: Path, tiles: dict[tuple[int, int, int], bytes]) -> Path:
    """An MBTiles file holding `tiles` keyed by their TMS address (z, column, row)."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        db.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", "t"), ("format", "png")])
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(z, x, y, data) for (z, x, y), data in tiles.items()],
        )
    db.close()
    return path


def test_an_xyz_request_reads_the_flipped_tms_row(tmp_path: Path) -> None:
    # At zoom 2 the XYZ row 0 (north) is the TMS row 3.
    reader = MBTilesReader(write_mbtiles(tmp_path / "a.mbtiles", {(2, 1, 3): PNG}))
    assert reader.tile(2, 1, 0) == PNG
    assert reader.tile(2, 1, 3) is None
    assert reader.metadata()["format"] == "png"
    reader.close()


def test_addresses_that_cannot_exist_are_refused(tmp_path: Path) -> None:
    reader = MBTilesReader(write_mbtiles(tmp_path / "a.mbtiles", {}))
    with pytest.raises(TileOutOfRangeError, match="does not exist at zoom 1"):
        reader.tile(1, 2, 0)
    with pytest.raises(TileOutOfRangeError, match="zoom 30"):
        reader.tile(30, 0, 0)
    reader.close()


def test_a_missing_file_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="no MBTiles file"):
        MBTilesReader(Path("/nonexistent/map.mbtiles"))


def test_media_type_from_the_tile_bytes() -> None:
    assert media_type(PNG) == "image/png"
    assert media_type(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert media_type(b"????") == "application/octet-stream"
