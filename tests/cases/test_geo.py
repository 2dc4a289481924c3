"""Case coordinates: WGS84 kept, GCJ-02 and projected EPSG systems converted."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from zhian.cases.geo import gcj02_to_wgs84, haversine_m, to_wgs84, wgs84_to_gcj02
from zhian.errors import BadRequestError

WEST_LAKE = (30.2590, 120.1485)


def test_gcj02_is_offset_by_hundreds_of_metres_and_converted_back() -> None:
    gcj = wgs84_to_gcj02(*WEST_LAKE)
    assert 100 < float(haversine_m(*WEST_LAKE, *gcj)) < 1000
    back = gcj02_to_wgs84(*gcj)
    assert float(haversine_m(*WEST_LAKE, *back)) < 0.05
    lat, lon = to_wgs84(gcj[1], gcj[0], "GCJ-02")
    assert float(haversine_m(*WEST_LAKE, lat, lon)) < 0.05


def test_a_projected_epsg_system_is_converted() -> None:
    # CGCS2000 / 3-degree Gauss-Kruger CM 120E: what Chinese survey exports use.
    forward = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    easting, northing = forward.transform(WEST_LAKE[1], WEST_LAKE[0])
    lat, lon = to_wgs84(easting, northing, "EPSG:4549")
    assert float(haversine_m(*WEST_LAKE, lat, lon)) < 0.01


def test_wgs84_is_kept_and_a_swapped_pair_refused() -> None:
    assert to_wgs84(120.1485, 30.259, "wgs84") == (30.259, 120.1485)
    with pytest.raises(BadRequestError) as error:
        to_wgs84(30.259, 120.1485, "WGS84")
    assert error.value.field == "coordinates"


@pytest.mark.parametrize("crs", ["EPSG:999999", "BD09"])
def test_an_unknown_system_is_refused(crs: str) -> None:
    with pytest.raises(BadRequestError) as error:
        to_wgs84(1.0, 2.0, crs)
    assert error.value.field == "crs"
