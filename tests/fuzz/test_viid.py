"""VIID (GA/T 1400): request bodies, objects and query strings."""

from __future__ import annotations

import contextlib
from datetime import timedelta, timezone
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.inputs import ANY_BYTES, FUZZ, JSON_VALUES, ODD_TEXT, deep, mutated_json
from zhian.errors import ZhianError
from zhian.ingest.viid.mapping import MappingOptions, ObjectRejected, map_object
from zhian.ingest.viid.objects import KINDS
from zhian.ingest.viid.query import ViidQuery, parse_query
from zhian.ingest.viid.wire import ViidRequestError, parse_body

OPTIONS = MappingOptions(timezone=timezone(timedelta(hours=8)), face_quality=0.5, direction="in")
FIELD_VALUES = st.one_of(
    JSON_VALUES, st.sampled_from(["20260101120000", "20260101120000000", "202601011200000001"])
)
OBJECT_LIKE = st.fixed_dictionaries(
    {},
    optional={
        name: FIELD_VALUES
        for name in (
            "FaceID",
            "MotorVehicleID",
            "PersonID",
            "NonMotorVehicleID",
            "DeviceID",
            "SourceID",
            "ShotTime",
            "PassTime",
            "FaceAppearTime",
            "PlateNo",
            "SubImageList",
        )
    },
)


@FUZZ
@given(
    st.one_of(ANY_BYTES, mutated_json(JSON_VALUES)),
    st.sampled_from(["application/VIID+JSON", "application/json", "text/xml", None, "x/y"]),
)
@example(deep(100_000), "application/json")
def test_parse_body_returns_json_or_a_viid_refusal(body: bytes, content_type: str | None) -> None:
    with contextlib.suppress(ViidRequestError):
        parse_body(body, content_type)


def _no_images(data: bytes, file_format: str) -> str:
    return "img:" + "0" * 64 + ".jpg"


@FUZZ
@given(st.sampled_from(sorted(KINDS)), st.one_of(OBJECT_LIKE, JSON_VALUES))
def test_map_object_maps_or_rejects(kind_name: str, obj: Any) -> None:
    with contextlib.suppress(ObjectRejected, ZhianError):
        map_object(
            KINDS[kind_name],
            obj,
            device_kind=lambda _: None,
            save_image=_no_images,
            options=OPTIONS,
        )


PARTS = st.one_of(
    ODD_TEXT,
    st.sampled_from(
        [
            "(Face.DeviceID='1')",
            "PageRecordNum=25",
            "RecordStartNo=x",
            "(A=1 AND B<>2)",
            "(a OR b)",
            "%28",
            "%",
            "((((",
            "'unclosed",
            "Sort=1",
            "MaxNumRecordReturn=" + "9" * 500,
        ]
    ),
)


@FUZZ
@given(st.one_of(ODD_TEXT, st.lists(PARTS, max_size=5).map("&".join)))
def test_parse_query_returns_a_query_or_a_viid_refusal(raw: str) -> None:
    try:
        query = parse_query(raw, default_page_size=20, max_page_size=100)
    except ViidRequestError:
        return
    assert isinstance(query, ViidQuery)
    assert 1 <= query.page_size <= 100
