"""Ferry packages: the manifest and the events CSV files it lists."""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.inputs import ANY_BYTES, FUZZ, JSON_VALUES, ODD_TEXT, deep, mutated_json
from zhian.ingest.events import EVENT_TYPES
from zhian.ingest.ferry.csv_codec import columns_of
from zhian.ingest.ferry.package import (
    FORMAT,
    MANIFEST_NAME,
    SCHEMA_VERSION,
    PackageRejected,
    read_manifest,
    verify_package,
)

_TIME = "2026-01-01T00:00:00+08:00"


def _manifest(files: list[dict[str, Any]], counts: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "package_id": "p1",
        "created_at": _TIME,
        "since": _TIME,
        "until": _TIME,
        "counts": counts,
        "files": files,
    }


MANIFEST_LIKE = st.builds(
    _manifest,
    st.lists(
        st.fixed_dictionaries(
            {
                "path": st.one_of(ODD_TEXT, st.just("events/alarm.csv")),
                "size_bytes": st.integers(),
                "sha256": st.one_of(ODD_TEXT, st.just("0" * 64)),
            }
        ),
        max_size=3,
    ),
    st.dictionaries(st.one_of(ODD_TEXT, st.sampled_from(EVENT_TYPES)), JSON_VALUES, max_size=3),
)


@FUZZ
@given(st.one_of(ANY_BYTES, mutated_json(MANIFEST_LIKE), mutated_json(JSON_VALUES)))
@example(deep(100_000))
def test_read_manifest_reads_or_rejects(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / MANIFEST_NAME).write_bytes(data)
        with contextlib.suppress(PackageRejected):
            read_manifest(root)


def _csv_like(event_type: str) -> st.SearchStrategy[bytes]:
    header = ",".join(columns_of(event_type))
    cell = st.one_of(ODD_TEXT, st.sampled_from(["", _TIME, "1e999", "NaN", '"', "=1+1"]))
    row = st.lists(cell, max_size=len(columns_of(event_type)) + 1).map(",".join)
    text = st.lists(row, max_size=4).map(lambda rows: "\n".join([header, *rows]))
    return st.one_of(text.map(str.encode), ANY_BYTES, text.map(lambda t: t.encode()[:-1]))


@FUZZ
@given(st.sampled_from(EVENT_TYPES).flatmap(lambda t: st.tuples(st.just(t), _csv_like(t))))
def test_verify_package_reads_any_events_csv_or_rejects(case: tuple[str, bytes]) -> None:
    event_type, data = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = f"events/{event_type}.csv"
        (root / "events").mkdir()
        (root / path).write_bytes(data)
        entry = {"path": path, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        (root / MANIFEST_NAME).write_text(json.dumps(_manifest([entry], {event_type: 1})))
        with contextlib.suppress(PackageRejected):
            verify_package(root, image_known=lambda _: True)
