"""Settings of the map page's base layer (docs/map.md)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, field_validator


class TileDatum(StrEnum):
    """The coordinate system a tile source is drawn in."""

    WGS84 = "wgs84"  # also CGCS2000 to within centimetres: PGIS, OSM-style servers
    GCJ02 = "gcj02"  # the obfuscated datum of Chinese commercial maps


class MapSettings(BaseModel):
    """The base layer: a tile server of the deployment, or an MBTiles file this node
    serves itself; with neither, the district's own geometry is the map."""

    tile_url: str | None = Field(
        default=None,
        max_length=500,
        description="Tile URL template of an offline tile server or PGIS, with {z}, {x} and "
        "{y} (e.g. http://10.1.2.3/tiles/{z}/{x}/{y}.png). Blank: no tile server.",
    )
    mbtiles_path: Path | None = Field(
        default=None,
        description="An MBTiles file (SQLite) this node serves at /map/tiles/{z}/{x}/{y}; used "
        "when no tile_url is set.",
    )
    tile_datum: TileDatum = Field(
        default=TileDatum.WGS84,
        description="Datum of the tiles: wgs84 (also CGCS2000, PGIS) or gcj02 (Chinese "
        "commercial maps); the map shifts its WGS84 layers onto gcj02 tiles.",
    )
    attribution: str = Field(
        default="", max_length=200, description="Attribution shown in the map's corner."
    )
    max_zoom: int = Field(default=19, ge=1, le=22, description="Highest zoom the map offers.")

    @field_validator("mbtiles_path", mode="before")
    @classmethod
    def _blank_path(cls, value: object) -> object:
        # The written default config holds `mbtiles_path = ""`: blank means none.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tile_url")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        missing = [part for part in ("{z}", "{x}", "{y}") if part not in value]
        if missing:
            raise ValueError(f"the tile URL template lacks {', '.join(missing)}")
        if not value.startswith(("http://", "https://", "/")):
            raise ValueError("the tile URL template starts with http://, https:// or /")
        return value
