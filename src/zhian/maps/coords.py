"""Coordinate systems: WGS84 (= CGCS2000 at map scale) ⇄ GCJ-02, the datum Chinese
commercial maps are drawn in (docs/map.md).

GCJ-02 adds a smooth, position-dependent offset (a few hundred metres) to WGS84 inside
mainland China and nothing outside it. The forward transform is the widely published one
(Krasovsky ellipsoid constants); the inverse has no closed form and is found by fixed-point
iteration, which converges to well under a centimetre in a few rounds.
"""

from __future__ import annotations

import math

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid, metres
_EE = 0.00669342162296594323  # its first eccentricity squared
_INVERSE_ROUNDS = 30
_INVERSE_TOLERANCE_DEGREES = 1e-10


def is_outside_china(latitude: float, longitude: float) -> bool:
    """Outside the rough box GCJ-02 applies to: the transform leaves such points alone."""
    return not (73.66 < longitude < 135.05 and 3.86 < latitude < 53.55)


def _delta(latitude: float, longitude: float) -> tuple[float, float]:
    x, y = longitude - 105.0, latitude - 35.0
    lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    radians = latitude / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radians) ** 2
    root = math.sqrt(magic)
    d_lat = (lat * 180.0) / ((_A * (1 - _EE)) / (magic * root) * math.pi)
    d_lon = (lon * 180.0) / (_A / root * math.cos(radians) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    """A WGS84 (or CGCS2000) point as GCJ-02 (latitude, longitude)."""
    if is_outside_china(latitude, longitude):
        return latitude, longitude
    d_lat, d_lon = _delta(latitude, longitude)
    return latitude + d_lat, longitude + d_lon


def gcj02_to_wgs84(latitude: float, longitude: float) -> tuple[float, float]:
    """A GCJ-02 point back to WGS84 (latitude, longitude), by iterating the forward map."""
    if is_outside_china(latitude, longitude):
        return latitude, longitude
    lat, lon = latitude, longitude
    for _ in range(_INVERSE_ROUNDS):
        shifted_lat, shifted_lon = wgs84_to_gcj02(lat, lon)
        error_lat, error_lon = shifted_lat - latitude, shifted_lon - longitude
        lat, lon = lat - error_lat, lon - error_lon
        if max(abs(error_lat), abs(error_lon)) < _INVERSE_TOLERANCE_DEGREES:
            break
    return lat, lon


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, h)))
