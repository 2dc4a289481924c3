"""The ferry package on disk: writing one, and verifying one before anything is applied.

A package is a folder `<package_id>/` holding `events/<type>.csv` (one per event type),
`images/<sha256>.<jpg|png>` (the images the events refer to) and `manifest.json`, written
last: schema version, package id, time window, counts per type, and the size and SHA-256 of
every other file. A package is taken whole or not at all: every check below runs before the
first event is submitted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, BinaryIO, Final

import msgspec

from zhian.ingest.events import AwareTime, Event, FaceEvent, VehicleEvent
from zhian.ingest.ferry.csv_codec import (
    EVENT_CLASSES,
    columns_of,
    event_row,
    header_problem,
    row_event,
)
from zhian.ingest.json_depth import depth_error
from zhian.ingest.validate import FieldError, decode_error

FORMAT: Final = "zhian-ferry-package"
SCHEMA_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
MAX_MANIFEST_BYTES: Final = 16 * 1024 * 1024
# Spreadsheet-friendly: the BOM makes Excel and WPS read the UTF-8 (Chinese text) correctly.
CSV_ENCODING: Final = "utf-8-sig"

PackageId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
_EVENTS_PATH = re.compile(r"^events/(?P<type>[a-z]+)\.csv$")
_IMAGE_PATH = re.compile(r"^images/(?P<digest>[0-9a-f]{64})\.(?P<ext>jpg|png)$")
_HASH_CHUNK = 1024 * 1024


class ManifestFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One file of the package, as the exporter wrote it."""

    path: str
    size_bytes: Annotated[int, msgspec.Meta(ge=0)]
    sha256: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]


class Manifest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a package says about itself; `manifest.json`."""

    format: str
    schema_version: int
    package_id: PackageId
    created_at: AwareTime
    since: AwareTime
    until: AwareTime
    counts: dict[str, Annotated[int, msgspec.Meta(ge=0)]]
    files: list[ManifestFile]


class PackageRejected(Exception):  # noqa: N818 - a verdict on input, not a bug
    """The package as a whole is refused; nothing of it was applied."""

    def __init__(self, reason: str, *, file: str = MANIFEST_NAME) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True)
class VerifiedPackage:
    """A package whose every file matched its manifest and whose every row decoded."""

    root: Path
    manifest: Manifest
    manifest_sha256: str
    events: list[Event]
    images: dict[str, Path]  # image reference → its file in the package


def image_refs(events: Sequence[Event]) -> set[str]:
    """The image references events hold (vehicle and face snapshots)."""
    return {
        event.image
        for event in events
        if isinstance(event, VehicleEvent | FaceEvent) and event.image is not None
    }


# --- writing -------------------------------------------------------------------------------


def write_package(
    out_dir: Path,
    *,
    package_id: str,
    created_at: datetime,
    since: datetime,
    until: datetime,
    events: Sequence[Event],
    read_image: Callable[[str], bytes],
) -> Path:
    """Write a complete package folder under `out_dir` and return it.

    Everything goes to a hidden `.part` folder first, the manifest last, and the folder is
    renamed into place at the end: a reader never sees a package without its manifest, nor
    a manifest without its files.
    """
    root = out_dir / package_id
    if root.exists():
        raise FileExistsError(f"{root} exists already")
    staging = out_dir / f".{package_id}.part"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "events").mkdir(parents=True)
    files: list[ManifestFile] = []
    counts: dict[str, int] = {}
    by_type: dict[str, list[Event]] = {}
    for event in events:
        by_type.setdefault(_tag(event), []).append(event)
    for event_type in EVENT_CLASSES:
        members = sorted(by_type.get(event_type, []), key=lambda e: (e.time, e.device_id, e.id))
        counts[event_type] = len(members)
        if not members:
            continue
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns_of(event_type))
        writer.writerows(event_row(event) for event in members)
        files.append(
            _write(staging, f"events/{event_type}.csv", text.getvalue().encode(CSV_ENCODING))
        )
    refs = sorted(image_refs(events))
    if refs:
        (staging / "images").mkdir()
    for ref in refs:
        name = ref.removeprefix("img:")
        files.append(_write(staging, f"images/{name}", read_image(ref)))
    manifest = Manifest(
        format=FORMAT,
        schema_version=SCHEMA_VERSION,
        package_id=package_id,
        created_at=created_at,
        since=since,
        until=until,
        counts=counts,
        files=files,
    )
    _write(staging, MANIFEST_NAME, msgspec.json.format(msgspec.json.encode(manifest)))
    _fsync_dir(staging)
    staging.rename(root)
    _fsync_dir(out_dir)
    return root


def _tag(event: Event) -> str:
    return str(type(event).__struct_config__.tag)


def _write(root: Path, relative: str, data: bytes) -> ManifestFile:
    path = root / relative
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return ManifestFile(relative, len(data), hashlib.sha256(data).hexdigest())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- verifying -----------------------------------------------------------------------------


def read_manifest(root: Path) -> tuple[Manifest, str]:
    """The manifest of a package folder and its SHA-256, or why it cannot be used."""
    if MANIFEST_NAME not in plain_files(root):
        raise PackageRejected("is missing; the package is incomplete or not a ferry package")
    data = read_package_file(root, MANIFEST_NAME, limit=MAX_MANIFEST_BYTES)
    too_deep = depth_error(data)  # before the decoder, which recurses once per level
    if too_deep is not None:
        raise PackageRejected(f"is not valid JSON ({too_deep})")
    try:
        manifest = msgspec.json.decode(data, type=Manifest)
    except msgspec.ValidationError as exc:
        error = decode_error(exc)
        raise PackageRejected(f"{error.field or 'manifest'}: {error.reason}") from None
    except msgspec.DecodeError as exc:
        raise PackageRejected(f"is not valid JSON ({exc}); it may be truncated") from None
    if manifest.format != FORMAT:
        raise PackageRejected(f"format is '{manifest.format}', not '{FORMAT}'")
    if manifest.schema_version != SCHEMA_VERSION:
        raise PackageRejected(
            f"schema_version {manifest.schema_version} is not supported; this node reads "
            f"version {SCHEMA_VERSION}"
        )
    unknown = sorted(set(manifest.counts) - set(EVENT_CLASSES))
    if unknown:
        raise PackageRejected(f"counts names unknown event types: {', '.join(unknown)}")
    return manifest, hashlib.sha256(data).hexdigest()


def verify_package(root: Path, *, image_known: Callable[[str], bool]) -> VerifiedPackage:
    """Check a package completely: manifest, every file's size and hash, every CSV row.

    `image_known` says whether the node already holds an image a row refers to but the
    package does not carry. Raises `PackageRejected` with the first reason found.
    """
    manifest, manifest_sha256 = read_manifest(root)
    csv_data = _check_files(root, manifest)
    events: list[Event] = []
    images: dict[str, Path] = {}
    seen_types: set[str] = set()
    for entry in manifest.files:
        image = _IMAGE_PATH.match(entry.path)
        if image:
            images[f"img:{image.group('digest')}.{image.group('ext')}"] = root / entry.path
            continue
        event_type = _events_type(entry.path)
        seen_types.add(event_type)
        rows = _read_csv(csv_data[entry.path], entry.path, event_type)
        expected = manifest.counts.get(event_type, 0)
        if len(rows) != expected:
            raise PackageRejected(
                f"holds {len(rows)} events; the manifest counts {expected}", file=entry.path
            )
        events += rows
    for event_type, count in manifest.counts.items():
        if count and event_type not in seen_types:
            raise PackageRejected(
                f"counts {count} {event_type} events but lists no events/{event_type}.csv"
            )
    _check_unique(events)
    for ref in sorted(image_refs(events)):
        if ref not in images and not image_known(ref):
            raise PackageRejected(f"an event refers to image {ref}, which the package lacks")
    return VerifiedPackage(root, manifest, manifest_sha256, events, images)


def _check_files(root: Path, manifest: Manifest) -> dict[str, bytes]:
    """Every listed file against the manifest; the CSV files' content, read once (what was
    hashed is what is decoded)."""
    present = plain_files(root)
    listed: set[str] = set()
    csv_data: dict[str, bytes] = {}
    for entry in manifest.files:
        if entry.path in listed:
            raise PackageRejected(f"lists '{entry.path}' twice")
        if not (_EVENTS_PATH.match(entry.path) or _IMAGE_PATH.match(entry.path)):
            raise PackageRejected(
                f"lists '{entry.path}'; files are events/<type>.csv or images/<sha256>.<jpg|png>"
            )
        if entry.path not in present:
            raise PackageRejected("is listed in the manifest but missing", file=entry.path)
        descriptor = _open_plain(root, entry.path)
        with os.fdopen(descriptor, "rb") as handle:
            size = os.fstat(descriptor).st_size
            if size < entry.size_bytes:
                raise PackageRejected(
                    f"is truncated: {size} bytes of {entry.size_bytes}", file=entry.path
                )
            if size > entry.size_bytes:
                raise PackageRejected(
                    f"is {size} bytes; the manifest says {entry.size_bytes}", file=entry.path
                )
            image = _IMAGE_PATH.match(entry.path)
            if image:
                digest = _sha256_of(handle)
            else:
                data = csv_data[entry.path] = handle.read(entry.size_bytes + 1)
                digest = hashlib.sha256(data).hexdigest()
        if digest != entry.sha256:
            raise PackageRejected(
                f"SHA-256 is {digest}; the manifest says {entry.sha256} (altered or corrupted)",
                file=entry.path,
            )
        if image and image.group("digest") != digest:
            raise PackageRejected("content does not match its name (SHA-256)", file=entry.path)
        listed.add(entry.path)
    unlisted = sorted(present - listed - {MANIFEST_NAME})
    if unlisted:
        raise PackageRejected("is not listed in the manifest", file=unlisted[0])
    return csv_data


def _events_type(path: str) -> str:
    match = _EVENTS_PATH.match(path)
    assert match is not None  # _check_files admitted only these two shapes
    event_type = match.group("type")
    if event_type not in EVENT_CLASSES:
        raise PackageRejected(f"'{event_type}' is not an event type", file=path)
    return event_type


def _read_csv(data: bytes, name: str, event_type: str) -> list[Event]:
    try:
        text = data.decode(CSV_ENCODING)
    except UnicodeDecodeError as exc:
        raise PackageRejected(f"is not UTF-8 text ({exc.reason})", file=name) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise PackageRejected("is empty; it needs a header row", file=name)
        problem = header_problem(event_type, header)
        if problem:
            raise PackageRejected(problem, file=name)
        events: list[Event] = []
        for cells in reader:
            decoded = row_event(event_type, header, cells)
            if isinstance(decoded, FieldError):
                where = f"line {reader.line_num}"
                field = f" {decoded.field}:" if decoded.field else ""
                raise PackageRejected(f"{where}:{field} {decoded.reason}", file=name)
            events.append(decoded)
    except csv.Error as exc:
        raise PackageRejected(f"line {reader.line_num}: {exc}", file=name) from None
    return events


def _check_unique(events: Sequence[Event]) -> None:
    seen: set[tuple[str, str]] = set()
    for event in events:
        key = (event.device_id, event.id)
        if key in seen:
            raise PackageRejected(
                f"holds event '{event.id}' of device '{event.device_id}' twice",
                file=f"events/{_tag(event)}.csv",
            )
        seen.add(key)


def _sha256_of(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := handle.read(_HASH_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


# --- reading without following links -----------------------------------------------------
# A package arrives from elsewhere (a USB stick, a gateway's drop folder), so its folder may
# hold a link to a file the node's user can read and the sender cannot: following it would
# import that file, or hash it into a refusal message. A package is plain folders and plain
# files, each with one name; anything else refuses it whole. The walk says what is there,
# and every open walks the path again one folder at a time without following links, then
# checks what it opened, so a link swapped in after the walk is refused too.

_NO_FOLLOW_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
# Non-blocking: opening a FIFO swapped in for a file must not wait for a writer.
_NO_FOLLOW_FILE: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def plain_files(root: Path) -> set[str]:
    """The package's files (relative POSIX paths); refused if any entry is not plain."""
    try:
        info = root.lstat()
    except FileNotFoundError:
        raise PackageRejected(f"'{root}' is not a package folder", file=str(root)) from None
    if stat.S_ISLNK(info.st_mode):
        raise PackageRejected(
            "is a symbolic link; import the package folder itself", file=str(root)
        )
    if not stat.S_ISDIR(info.st_mode):
        raise PackageRejected(f"'{root}' is not a package folder", file=str(root))
    files: set[str] = set()
    # A stack, not recursion: a hostile package may nest folders thousands deep.
    folders: list[tuple[Path, str]] = [(root, "")]
    while folders:
        folder, prefix = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = prefix + entry.name
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    folders.append((Path(entry.path), relative + "/"))
                    continue
                problem = _not_plain(info)
                if problem:
                    raise PackageRejected(problem, file=relative)
                files.add(relative)
    return files


def _not_plain(info: os.stat_result) -> str | None:
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "is a symbolic link; a package holds plain files and folders only"
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a special file"
        return f"is {kind}; a package holds plain files and folders only"
    if info.st_nlink > 1:
        return (
            f"has {info.st_nlink} hard links; a package file has one name only "
            "(another may lie outside the package)"
        )
    return None


def read_package_file(root: Path, relative: str, *, limit: int | None = None) -> bytes:
    """One file of a package, read without following links; refused if it is not plain or
    (with `limit`) larger than that."""
    descriptor = _open_plain(root, relative)
    with os.fdopen(descriptor, "rb") as handle:
        size = os.fstat(descriptor).st_size
        # Read no more than the limit even if the file grows while it is read.
        data = handle.read(-1 if limit is None else limit + 1)
    if limit is not None and len(data) > limit:
        raise PackageRejected(
            f"is {max(size, len(data))} bytes; the limit is {limit}", file=relative
        )
    return data


def _open_plain(root: Path, relative: str) -> int:
    *folders, name = relative.split("/")
    opened: list[int] = []
    try:
        try:
            opened.append(os.open(root, _NO_FOLLOW_DIR))
            for folder in folders:
                opened.append(os.open(folder, _NO_FOLLOW_DIR, dir_fd=opened[-1]))
            descriptor = os.open(name, _NO_FOLLOW_FILE, dir_fd=opened[-1])
        except FileNotFoundError:
            raise PackageRejected("is missing", file=relative) from None
        except OSError as exc:  # ELOOP, ENOTDIR: a link where a folder or file should be
            raise PackageRejected(
                f"cannot be opened as a plain file ({exc.strerror}); a package holds plain "
                "files and folders only",
                file=relative,
            ) from None
    finally:
        for folder_descriptor in opened:
            os.close(folder_descriptor)
    problem = _not_plain(os.fstat(descriptor))
    if problem:
        os.close(descriptor)
        raise PackageRejected(problem, file=relative)
    return descriptor
