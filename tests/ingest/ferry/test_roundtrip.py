"""Export on one node, import on another: the same events arrive, once, with their images."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.ingest.ferry.conftest import RISKY_REFS, ferry_of, logged_events
from zhian.access.scope import JurisdictionScope
from zhian.ingest.events import AccessEvent, FaceEvent, VehicleEvent
from zhian.ingest.ferry.package import PackageRejected
from zhian.kit.clock import ManualClock
from zhian.node import Node


def test_a_package_is_self_describing(package: Path) -> None:
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))

    assert manifest["format"] == "zhian-ferry-package"
    assert manifest["schema_version"] == 1
    assert manifest["package_id"] == package.name
    assert manifest["counts"] == {
        "access": 5,
        "vehicle": 1,
        "face": 2,
        "alarm": 2,
        "heartbeat": 2,
        "crowd": 2,
    }
    paths = sorted(entry["path"] for entry in manifest["files"])
    assert paths[:6] == [f"events/{t}.csv" for t in sorted(manifest["counts"])]
    assert len(paths) == 8  # and the two images
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"])


def test_round_trip_gives_identical_events_and_images(
    outer: Node, inner: Node, package: Path
) -> None:
    report = ferry_of(inner).import_package(package)

    assert (report.status, report.events, report.accepted, report.rejected) == (
        "imported",
        14,
        14,
        0,
    )
    assert logged_events(inner) == logged_events(outer)
    assert inner.feeder.wait_caught_up(timeout_seconds=10)
    assert inner.store.queries.count_by_type() == outer.store.queries.count_by_type()
    for event in logged_events(inner):
        if isinstance(event, VehicleEvent | FaceEvent) and event.image:
            assert inner.images.read(event.image) == outer.images.read(event.image)
    assert inner.quarantine.list_held(scope=JurisdictionScope.unscoped()) == []


def test_csv_cells_cannot_run_as_formulas_and_come_back_unchanged(
    outer: Node, inner: Node, package: Path
) -> None:
    text = (package / "events" / "access.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    refs = {row[rows[0].index("subject_ref")] for row in rows[1:]}
    assert refs == {"'" + ref for ref in RISKY_REFS}
    alarm = (package / "events" / "alarm.csv").read_text(encoding="utf-8-sig")
    assert all(
        not cell.startswith(("=", "+", "-", "@"))
        for row in csv.reader(io.StringIO(alarm))
        for cell in row
    )

    ferry_of(inner).import_package(package)

    imported = {e.subject.ref for e in logged_events(inner) if isinstance(e, AccessEvent)}
    assert imported == set(RISKY_REFS)


def test_importing_a_package_twice_is_a_no_op(inner: Node, package: Path) -> None:
    ferry = ferry_of(inner)
    ferry.import_package(package)
    before = logged_events(inner)

    again = ferry.import_package(package)

    assert again.status == "already imported"
    assert logged_events(inner) == before
    assert [row.package_id for row in ferry.recent_imports()] == [package.name]


def test_a_different_package_under_an_imported_id_is_refused(inner: Node, package: Path) -> None:
    ferry = ferry_of(inner)
    ferry.import_package(package)
    manifest = json.loads((package / "manifest.json").read_text(encoding="utf-8"))
    manifest["until"] = "2030-01-01T00:00:00+08:00"
    (package / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    with pytest.raises(PackageRejected, match="with a different manifest"):
        ferry.import_package(package)


def test_export_splits_a_window_into_packages_and_leaves_out_other_times(
    outer: Node, inner: Node, clock: ManualClock, tmp_path: Path
) -> None:
    now = clock.now()
    ferry = ferry_of(outer)
    ferry._settings = ferry._settings.model_copy(update={"max_events_per_package": 4})
    # The last six minutes hold a0..a4 (0-4 min ago), v1 (3) and f1 (4): seven events.
    packages = ferry.export(
        since=now - timedelta(minutes=4, seconds=30),
        until=now + timedelta(seconds=1),
        out_dir=tmp_path / "split",
    )

    assert [p.events for p in packages] == [4, 3]
    for exported in packages:
        ferry_of(inner).import_package(exported.path)
    assert sorted(e.id for e in logged_events(inner)) == ["a0", "a1", "a2", "a3", "a4", "f1", "v1"]
