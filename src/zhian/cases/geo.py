"""Case places: coordinates from WGS84, GCJ-02 or any EPSG system into WGS84, and distances.

GCJ-02 (the offset system of Chinese web maps) is no EPSG system, so pyproj cannot convert
it: its published forward formula is inverted here by fixed-point iteration, which reaches
a few centimetres in a handful of steps. Everything else goes through pyproj.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from zhian.errors import BadRequestError
from zhian.maps.coords import gcj02_to_wgs84, wgs84_to_gcj02

__all__ = ["gcj02_to_wgs84", "haversine_m", "normalise_crs", "to_wgs84", "wgs84_to_gcj02"]

WGS84 = "WGS84"
GCJ02 = "GCJ02"
EARTH_RADIUS_M = 6_371_008.8


def normalise_crs(name: str) -> str:
    """'WGS84', 'GCJ02' or 'EPSG:<code>'; BadRequestError (field `crs`) for anything else."""
    text = name.strip().upper().replace("-", "").replace("_", "")
    if text in {"WGS84", "EPSG4326", "EPSG:4326", "4326"}:
        return WGS84
    if text in {"GCJ02", "GCJ"}:
        return GCJ02
    code = text.removeprefix("EPSG:").removeprefix("EPSG")
    if code.isdigit():
        _transformer(int(code))  # unknown codes fail here, naming the code
        return f"EPSG:{code}"
    raise BadRequestError(
        f"unknown coordinate system '{name}'; use WGS84, GCJ02 or EPSG:<code>", field="crs"
    )


@lru_cache(maxsize=32)
def _transformer(code: int) -> Transformer:
    try:
        source = CRS.from_epsg(code)
    except CRSError:
        raise BadRequestError(
            f"EPSG:{code} is not a known coordinate system", field="crs"
        ) from None
    return Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)


def to_wgs84(x: float, y: float, crs: str) -> tuple[float, float]:
    """(latitude, longitude) in WGS84 of a point given as (x, y) in `crs`.

    For WGS84 and GCJ-02, x is the longitude and y the latitude; for a projected EPSG
    system, x is the easting and y the northing (metres). Refuses a result off the globe.
    """
    system = normalise_crs(crs)
    if system == WGS84:
        lat, lon = y, x
    elif system == GCJ02:
        lat, lon = gcj02_to_wgs84(y, x)
    else:
        lon, lat = _transformer(int(system.removeprefix("EPSG:"))).transform(x, y)
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequestError(
            f"({x}, {y}) in {system} is not a point on the globe "
            "(longitude and latitude swapped, or the wrong EPSG code?)",
            field="coordinates",
        )
    return lat, lon


def haversine_m(
    lat1: NDArray[np.float64] | float,
    lon1: NDArray[np.float64] | float,
    lat2: NDArray[np.float64] | float,
    lon2: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Great-circle distances in metres (element-wise)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    d_lat = p2 - p1
    d_lon = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(d_lat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(d_lon / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))), dtype=float)
