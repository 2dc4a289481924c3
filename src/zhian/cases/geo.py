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

WGS84 = "WGS84"
GCJ02 = "GCJ02"
EARTH_RADIUS_M = 6_371_008.8

# The parameters of the GCJ-02 formula (Krasovsky 1940 ellipsoid).
_A = 6378245.0
_EE = 0.00669342162296594323


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


def _out_of_china(lat: float, lon: float) -> bool:
    return not (0.8293 <= lat <= 55.8271 and 72.004 <= lon <= 137.8347)


def _gcj_offset(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 position of a WGS84 point (unchanged outside China, as the formula says)."""
    if _out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _gcj_offset(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """The WGS84 point whose GCJ-02 position is (lat, lon), to about a centimetre."""
    if _out_of_china(lat, lon):
        return lat, lon
    guess_lat, guess_lon = lat, lon
    for _ in range(30):
        fwd_lat, fwd_lon = wgs84_to_gcj02(guess_lat, guess_lon)
        err_lat, err_lon = fwd_lat - lat, fwd_lon - lon
        guess_lat, guess_lon = guess_lat - err_lat, guess_lon - err_lon
        if abs(err_lat) < 1e-9 and abs(err_lon) < 1e-9:
            break
    return guess_lat, guess_lon


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
