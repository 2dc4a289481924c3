"""Work a command asks of a node's durable log and event store, wherever that node runs.

The log and the event store admit one owning process (a folder lock, one DuckDB writer),
so `zhian ingest`, `quarantine replay`, `ferry`, `retention apply` and `quality report`
either run the work in their own process (no node runs on the workspace) or send it to the
node that runs (its control API, `zhian.web.node_api`). Both go through `NodeOperations`;
`InProcessOperations` is the one that does the work, in whichever process owns the node.
The results travel as JSON (`encode_result`/`decode_result`) in the same types.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar, get_origin

import msgspec

from zhian.access.scope import JurisdictionScope
from zhian.audit.service import Actor
from zhian.devices.protocols import protocol_of_source
from zhian.devices.service import DeviceService
from zhian.errors import NotFoundError
from zhian.governance.quality import QualityReport, QualityService
from zhian.governance.retention import RetentionReport, RetentionService
from zhian.ingest.ferry.service import ExportedPackage, FerryService, ImportReport, WatchOutcome
from zhian.ingest.quarantine.service import ReplayReport
from zhian.ingest.viid.repository import ViidRepository
from zhian.models.runner import ModelProgress, ModelRunReport, select_models
from zhian.node import Node, NodeRole
from zhian.retention_classes import node_retention_registry

CLI_ACTOR = Actor.system("cli")
# How often a web process looks at the worker's store position while a command waits.
STORED_POLL_SECONDS = 0.2
# The error code a refused ferry package travels with, so the caller raises PackageRejected.
PACKAGE_REJECTED = "package_rejected"

# How long a model run waits for the store to hold what the log does.
MODELS_CATCH_UP_SECONDS = 120.0

# A device's protocols are those it sent through in this window.
PROTOCOL_WINDOW = timedelta(hours=24)

ResultT = TypeVar("ResultT")


class DeviceCheck(msgspec.Struct, frozen=True, kw_only=True):
    """What a node knows of one device's connection: credentials, intake, traffic."""

    device_id: str
    kind: str
    name: str
    community_id: str | None
    is_enabled: bool
    is_known_to_intake: bool  # the running intake's directory holds the device
    has_token: bool
    token_issued_at: datetime | None
    viid_username: str | None  # None: no GA/T 1400 password set
    viid_password_set_at: datetime | None
    viid_session_since: datetime | None  # a live GA/T 1400 registration on this node
    last_seen_at: datetime | None  # the newest event time the store holds
    protocols: list[str]  # sent through in the last 24 h, the latest arrival first
    last_rejected_at: datetime | None
    last_rejected_reason: str | None


class IntakeCounts(msgspec.Struct, frozen=True):
    """What the intake made of one chunk of a file."""

    accepted: int
    duplicate: int
    rejected: int


class NodeOperations(Protocol):
    """What a command asks of the process that owns the log and the event store."""

    def ingest(self, items: list[bytes], *, refresh_directory: bool) -> IntakeCounts:
        """Submit raw events read from a file (source "file"); refused ones are held."""
        ...

    def wait_stored(self, timeout_seconds: float) -> bool:
        """Wait until the event store holds every event durable now; False on timeout."""
        ...

    def replay_quarantine(self, ids: list[int] | None, reason_code: str | None) -> ReplayReport: ...

    def ferry_export(
        self, since: datetime, until: datetime, out_dir: Path
    ) -> list[ExportedPackage]: ...

    def ferry_import(self, package: Path) -> ImportReport:
        """Raises `PackageRejected` when the package is refused whole."""
        ...

    def ferry_watch_once(self, directory: Path) -> list[WatchOutcome]: ...

    def apply_retention(self, *, dry_run: bool) -> RetentionReport: ...

    def quality_report(self, since: datetime, until: datetime) -> QualityReport: ...

    def run_models(
        self, model: str | None, as_of: datetime | None, progress: ModelProgress | None = None
    ) -> ModelRunReport:
        """Run the batch models once over the stored events (one model, or every one) as of
        a time (now by default), as the periodic run does; `progress` is told after each
        model where the work runs in this process."""
        ...

    def refresh_directory(self) -> None:
        """Reload devices into the intake and the rules (a token rotated, a device added)."""
        ...

    def device_check(self, device_id: str) -> DeviceCheck:
        """What the node knows of the device's connection; NotFoundError when unknown."""
        ...


class InProcessOperations:
    """The operations run on a node this process holds open."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def ingest(self, items: list[bytes], *, refresh_directory: bool) -> IntakeCounts:
        if refresh_directory:
            # Devices imported a moment ago by another command are known before the file is.
            self._node.refresh_directory()
        result = self._node.intake.submit_raw(
            items, source="file", sender_id=None, content_type="application/json"
        )
        return IntakeCounts(result.accepted, result.duplicate, result.rejected)

    def wait_stored(self, timeout_seconds: float) -> bool:
        node = self._node
        if node.role is not NodeRole.WEB:
            return node.feeder.wait_caught_up(timeout_seconds=timeout_seconds)
        # Split: the store is fed in the worker; watch its position through `event_reads`.
        target = node.log.durable_seq
        deadline = time.monotonic() + timeout_seconds
        while node.event_reads.last_seq() < target:
            if time.monotonic() >= deadline:
                return False
            time.sleep(STORED_POLL_SECONDS)
        return True

    def replay_quarantine(self, ids: list[int] | None, reason_code: str | None) -> ReplayReport:
        return self._node.replay_quarantine(ids=ids, reason_code=reason_code)

    def ferry_export(
        self, since: datetime, until: datetime, out_dir: Path
    ) -> list[ExportedPackage]:
        # The window's events must be in the store before they can be exported.
        self._node.feeder.wait_caught_up(timeout_seconds=120)
        return ferry_service(self._node).export(since=since, until=until, out_dir=out_dir)

    def ferry_import(self, package: Path) -> ImportReport:
        return ferry_service(self._node).import_package(package)

    def ferry_watch_once(self, directory: Path) -> list[WatchOutcome]:
        return ferry_service(self._node).watch_once(directory)

    def apply_retention(self, *, dry_run: bool) -> RetentionReport:
        node = self._node
        with node.db.session() as session:
            return RetentionService(
                session,
                registry=node_retention_registry(node.store, node.settings.blob_dir),
                settings=node.settings.governance,
                clock=node.clock,
                audit=node.governance.audit(session),
                log=node.log,
                intake=node.settings.intake,
            ).apply(CLI_ACTOR, dry_run=dry_run)

    def quality_report(self, since: datetime, until: datetime) -> QualityReport:
        governance = self._node.settings.governance
        with self._node.db.session() as session:
            return QualityService(
                session,
                self._node.event_reads,
                late_after_minutes=governance.late_after_minutes,
                goal=governance.valid_goal,
            ).report(since, until)

    def run_models(
        self, model: str | None, as_of: datetime | None, progress: ModelProgress | None = None
    ) -> ModelRunReport:
        models = select_models(model)  # an unknown name is refused before any wait
        node = self._node
        # The models read the store: what the log holds durable now is stored first.
        node.feeder.wait_caught_up(timeout_seconds=MODELS_CATCH_UP_SECONDS)
        return node.models.run(as_of, models, progress)

    def refresh_directory(self) -> None:
        self._node.refresh_directory()

    def device_check(self, device_id: str) -> DeviceCheck:
        node = self._node
        with node.db.session() as session:
            service = DeviceService(session)
            device = service.get_device(device_id, scope=JurisdictionScope.unscoped())
            if device is None:
                raise NotFoundError(f"unknown device '{device_id}'", field="device_id")
            held = ViidRepository(session).credential(device_id)
            credential = None if held is None else (held.username, held.issued_at)
            rejected = service.rejected_input(device_id, limit=1)
        now = node.clock.now()
        stats = node.event_reads.arrival_stats(
            now - PROTOCOL_WINDOW, now + timedelta(seconds=1), late_after_seconds=300
        )
        latest: dict[str, datetime] = {}
        for row in stats:
            if row.device_id == device_id:
                protocol = protocol_of_source(row.source)
                latest[protocol] = max(row.hour, latest.get(protocol, row.hour))
        session_of = next(
            (s for s in node.viid.service.sessions.live() if s.device_id == device_id), None
        )
        return DeviceCheck(
            device_id=device.id,
            kind=device.kind.value,
            name=device.name,
            community_id=device.community_id,
            is_enabled=device.is_enabled,
            is_known_to_intake=device_id in node.intake.directory.devices,
            has_token=device.has_token,
            token_issued_at=device.token_issued_at,
            viid_username=None if credential is None else credential[0],
            viid_password_set_at=None if credential is None else credential[1],
            viid_session_since=None if session_of is None else session_of.registered_at,
            last_seen_at=node.event_reads.device_last_seen().get(device_id),
            protocols=sorted(latest, key=lambda name: latest[name], reverse=True),
            last_rejected_at=rejected[0].received_at if rejected else None,
            last_rejected_reason=(
                "; ".join(f"{r['field']}: {r['reason']}" for r in rejected[0].reasons)
                or rejected[0].reason_code
                if rejected
                else None
            ),
        )


def ferry_service(node: Node) -> FerryService:
    """The ferry (跨网摆渡) on a node's intake, log and store."""
    return FerryService(
        intake=node.intake,
        images=node.images,
        db=node.db,
        log=node.log,
        store=node.store,
        clock=node.clock,
        settings=node.settings.ferry,
        intake_settings=node.settings.intake,
    )


def _encode_extra(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


def _decode_extra(wanted: type, value: Any) -> Any:
    if wanted is Path:
        return Path(value)
    if get_origin(wanted) is Counter or wanted is Counter:
        return Counter(value)
    raise NotImplementedError(f"cannot decode {wanted}")


def encode_result(result: object) -> bytes:
    """A result of `NodeOperations` as JSON (paths as text)."""
    return msgspec.json.encode(result, enc_hook=_encode_extra)


def decode_result(body: bytes, result_type: type[ResultT]) -> ResultT:
    """The result `encode_result` wrote, back in its own type."""
    return msgspec.json.decode(body, type=result_type, dec_hook=_decode_extra)
