"""WGS84 ⇄ GCJ-02 against published reference points, and the inverse's round trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhian.maps.coords import distance_m, gcj02_to_wgs84, is_outside_china, wgs84_to_gcj02


def test_a_beijing_point_moves_by_the_known_offset() -> None:
    # The reference pair of the coordtransform library's README: WGS84 (39.915, 116.404)
    # is GCJ-02 (39.91640428150164, 116.41024449916938), about 560 m away.
    lat, lon = wgs84_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)
    assert 400 < distance_m((39.915, 116.404), (lat, lon)) < 700


def test_points_outside_china_are_left_alone() -> None:
    assert is_outside_china(51.5, -0.12)
    assert wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)
    assert gcj02_to_wgs84(-33.86, 151.2) == (-33.86, 151.2)


@given(
    st.floats(min_value=18.0, max_value=53.0),
    st.floats(min_value=74.0, max_value=134.0),
)
def test_the_inverse_returns_the_original_point_within_a_centimetre(
    latitude: float, longitude: float
) -> None:
    back = gcj02_to_wgs84(*wgs84_to_gcj02(latitude, longitude))
    assert distance_m((latitude, longitude), back) < 0.01


def test_distance_of_one_degree_of_latitude() -> None:
    assert distance_m((30.0, 120.0), (31.0, 120.0)) == pytest.approx(111_195, rel=1e-3)
