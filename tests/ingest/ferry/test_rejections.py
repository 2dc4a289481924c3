"""A corrupted, truncated, tampered or inconsistent package is refused whole, with the reason."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from tests.conftest import CST
from tests.ingest.factories import load_master_data
from tests.ingest.ferry.conftest import ferry_of, logged_events, sample_events
from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.ingest.ferry.package import PackageRejected
from zhian.kit.clock import ManualClock
from zhian.node import Node

START = datetime(2026, 11, 20, 9, 0, tzinfo=CST)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One good package, exported once for every case of this module."""
    root = tmp_path_factory.mktemp("pristine")
    clock = ManualClock(START)
    with Node.open(load_settings(root / "outer"), clock) as node:
        load_master_data(node, now=clock.now())
        raws = [msgspec.json.encode(event) for event in sample_events(node, clock)]
        result = node.intake.submit_raw(
            raws, source="test", sender_id=None, content_type="application/json"
        )
        assert result.rejected == 0
        assert node.feeder.wait_caught_up(timeout_seconds=10)
        (package,) = ferry_of(node).export(
            since=START - timedelta(hours=1), until=START + timedelta(seconds=1), out_dir=root
        )
    return package.path


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """The inner node every case is tried against; it must stay empty throughout."""
    clock = ManualClock(START)
    with Node.open(load_settings(tmp_path_factory.mktemp("inner")), clock) as node:
        load_master_data(node, now=clock.now())
        yield node


def manifest_of(package: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((package / "manifest.json").read_text(encoding="utf-8"))


def write_manifest(package: Path, manifest: dict) -> None:  # type: ignore[type-arg]
    (package / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def resign(package: Path) -> None:
    """Recompute sizes and hashes, as an exporter with a bug (or a forger) would."""
    manifest = manifest_of(package)
    for entry in manifest["files"]:
        data = (package / entry["path"]).read_bytes()
        entry["size_bytes"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    write_manifest(package, manifest)


def flip_a_byte(package: Path) -> None:
    path = package / "events" / "access.csv"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(package: Path) -> None:
    path = package / "events" / "alarm.csv"
    path.write_bytes(path.read_bytes()[:40])


def remove_an_image(package: Path) -> None:
    next((package / "images").iterdir()).unlink()


def wrong_hash(package: Path) -> None:
    manifest = manifest_of(package)
    entry = next(e for e in manifest["files"] if e["path"] == "events/crowd.csv")
    entry["sha256"] = "0" * 64
    write_manifest(package, manifest)


def cut_manifest(package: Path) -> None:
    path = package / "manifest.json"
    path.write_bytes(path.read_bytes()[:100])


def nest_manifest(package: Path) -> None:
    (package / "manifest.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)


def edit_manifest(**changes: object) -> Callable[[Path], None]:
    def edit(package: Path) -> None:
        write_manifest(package, manifest_of(package) | changes)

    return edit


def drop_manifest(package: Path) -> None:
    (package / "manifest.json").unlink()


def add_a_file(package: Path) -> None:
    (package / "events" / "notes.txt").write_text("hello", encoding="utf-8")


def miscount(package: Path) -> None:
    manifest = manifest_of(package)
    manifest["counts"]["access"] = 6
    write_manifest(package, manifest)


def escape_the_folder(package: Path) -> None:
    manifest = manifest_of(package)
    manifest["files"][0]["path"] = "../outer/zhian.db"
    write_manifest(package, manifest)


def rewrite_access(old: str, new: str) -> Callable[[Path], None]:
    def rewrite(package: Path) -> None:
        path = package / "events" / "access.csv"
        path.write_text(path.read_text(encoding="utf-8-sig").replace(old, new, 1), "utf-8-sig")
        resign(package)

    return rewrite


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "tampered file": (flip_a_byte, "events/access.csv", "(altered or corrupted)"),
    "truncated file": (truncate, "events/alarm.csv", "is truncated: 40 bytes of"),
    "missing file": (remove_an_image, "images/", "is listed in the manifest but missing"),
    "wrong hash": (wrong_hash, "events/crowd.csv", "the manifest says 0000"),
    "truncated manifest": (cut_manifest, "manifest.json", "is not valid JSON"),
    "deep manifest": (nest_manifest, "manifest.json", "nests deeper than 64 levels"),
    "no manifest": (drop_manifest, "manifest.json", "is missing"),
    "newer schema": (
        edit_manifest(schema_version=2),
        "manifest.json",
        "schema_version 2 is not supported",
    ),
    "unknown manifest field": (
        edit_manifest(signed_by="x"),
        "manifest.json",
        "signed_by: is not allowed",
    ),
    "other format": (edit_manifest(format="csv-dump"), "manifest.json", "format is 'csv-dump'"),
    "unlisted file": (add_a_file, "events/notes.txt", "is not listed in the manifest"),
    "count differs": (miscount, "events/access.csv", "holds 5 events; the manifest counts 6"),
    "path outside": (escape_the_folder, "manifest.json", "files are events/<type>.csv"),
    "bad row": (
        rewrite_access(",in,", ",sideways,"),
        "events/access.csv",
        "line 2: direction: Invalid enum value 'sideways'",
    ),
    "unknown device": (
        rewrite_access(",DOOR1,", ",GHOST9,"),
        "events/access.csv",
        "1 of 14 events would be refused by the intake: event 'a4' of 'GHOST9': "
        "device_id: unknown device 'GHOST9'",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_package_is_refused_whole_and_nothing_is_applied(
    case: str, pristine: Path, receiver: Node, tmp_path: Path
) -> None:
    damage, file, reason = CASES[case]
    package = tmp_path / pristine.name
    shutil.copytree(pristine, package)
    damage(package)

    with pytest.raises(PackageRejected) as refused:
        ferry_of(receiver).import_package(package)

    assert refused.value.file.startswith(file), refused.value
    assert reason in refused.value.reason, refused.value
    assert logged_events(receiver) == []
    assert ferry_of(receiver).recent_imports() == []
    assert receiver.quarantine.list_held(scope=JurisdictionScope.unscoped()) == []


def test_the_pristine_package_itself_is_accepted(pristine: Path, tmp_path: Path) -> None:
    # The cases above fail for their damage alone: the same package, undamaged, goes in.
    clock = ManualClock(START)
    with Node.open(load_settings(tmp_path / "check"), clock) as node:
        load_master_data(node, now=clock.now())
        assert ferry_of(node).import_package(pristine).accepted == 14
