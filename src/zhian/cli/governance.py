"""`zhian keys|audit|retention|quality`: key ring, audit verification, retention, data quality."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated

import duckdb
import typer
from rich.table import Table

from zhian.audit.service import Actor
from zhian.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    console,
    database,
    error_console,
)
from zhian.cli.running import node_operations
from zhian.config import Settings, load_settings
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.governance.crypto import FieldCipher, key_id_of
from zhian.governance.identity import key_census, reseal_all
from zhian.governance.keys import (
    KeyRing,
    KeyRingError,
    generate_keyring,
    key_file_path,
    load_keyring,
    write_keyring,
)
from zhian.ingest.images import ImageStore
from zhian.kit.clock import SystemClock
from zhian.kit.running import find_running_node
from zhian.log import EventLogError, LocalEventLog
from zhian.log.sealed import is_sealed
from zhian.store.engines import open_event_store, store_exists
from zhian.store.events import EventStore
from zhian.store.features import FEATURE_COLUMN, FEATURE_TABLE

keys_app = typer.Typer(help="Encryption and token keys (密钥).", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log (审计日志).", no_args_is_help=True)
retention_app = typer.Typer(help="Retention of data per class (数据保留).", no_args_is_help=True)
quality_app = typer.Typer(help="Data quality per source (数据质量).", no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")


# The store's sealed column, as rotation and the census report it.
STORE_FEATURES_LABEL = f"{FEATURE_TABLE}.{FEATURE_COLUMN} (event store)"
# Sealed capture images (#12), as rotation and the census report them.
BLOBS_LABEL = "blobs (capture images)"


def _images(settings: Settings, ring: KeyRing) -> ImageStore:
    return ImageStore(
        settings.blob_dir, max_bytes=settings.images.max_bytes, cipher=FieldCipher(ring)
    )


def _blob_key_counts(images: ImageStore) -> Counter[str]:
    return Counter(key_id_of(stored) for _, stored in images.sealed_files())


class _StoreInUseError(Exception):
    """A running node holds the event store (DuckDB allows one writing process)."""


@contextmanager
def _store_with_ring(
    settings: Settings, db: Database, ring: KeyRing
) -> Iterator[EventStore | None]:
    """The workspace's event store opened with `ring` for the key commands; None where the
    workspace has no store yet. Raises _StoreInUseError while a node runs on it."""
    if not store_exists(settings.store, settings.event_store_path, settings.parquet_store_path):
        yield None
        return
    vault = Governance(settings.governance, SystemClock(), ring).vault(db)
    try:
        store = open_event_store(
            settings.store, settings.event_store_path, settings.parquet_store_path, vault
        )
    except duckdb.IOException as exc:
        raise _StoreInUseError(str(exc)) from None
    with store:
        yield store


def _store_in_use_note(exc: _StoreInUseError) -> str:
    return (
        f"[yellow]The event store is in use by a running node[/yellow] ({exc}): its sealed "
        "face features were not reached."
    )


def _stored_log(settings: Settings) -> LocalEventLog:
    """The log as it lies on disk; EventLogError while a running node holds it."""
    return LocalEventLog(
        settings.log_dir, fsync=settings.log.fsync, segment_bytes=settings.log.segment_bytes
    )


def _log_key_counts(settings: Settings) -> Counter[str]:
    """Sealed intake-log records per key id, read from each record's header (nothing is
    decrypted). Raises EventLogError while a running node holds the log."""
    counts: Counter[str] = Counter()
    if not settings.log_dir.is_dir():
        return counts
    with _stored_log(settings) as stored:
        for _seq, record in stored.iter_records():
            if is_sealed(record):
                counts[key_id_of(record)] += 1
    return counts


def _log_in_use_note(exc: EventLogError) -> str:
    return (
        f"[yellow]The intake log is in use by a running node[/yellow] ({exc.message}): its "
        "sealed records were not counted."
    )


def _fail(message: str) -> typer.Exit:
    error_console.print(f"[bold red]{message}[/bold red]")
    return typer.Exit(2)


# --- keys ---------------------------------------------------------------------------------


@keys_app.command("init")
def keys_init(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Create the key ring file (mode 0600) in the workspace; refuses to overwrite one."""
    settings = load_settings(workspace)
    path = key_file_path(settings.governance, settings.workspace)
    try:
        write_keyring(path, generate_keyring())
    except KeyRingError as exc:
        raise _fail(exc.message) from None
    console.print(f"Key ring written to {path} (mode 0600). Back it up: without it the")
    console.print("encrypted identity fields cannot be read.")


@keys_app.command("status")
def keys_status(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Show the key ids, the active one and how many sealed values each key holds."""
    settings = load_settings(workspace)
    try:
        ring = load_keyring(settings.governance, settings.workspace)
    except KeyRingError as exc:
        raise _fail(exc.message) from None
    with database(settings) as db:
        with db.session() as session:
            census = key_census(session)
        census += _blob_key_counts(_images(settings, ring))
        try:
            with _store_with_ring(settings, db, ring) as store:
                if store is not None:
                    census += store.sealed_key_counts()
        except _StoreInUseError as exc:
            error_console.print(_store_in_use_note(exc) + " They are not counted below.")
    try:
        log_counts = _log_key_counts(settings)
    except EventLogError as exc:
        log_counts = Counter()
        error_console.print(_log_in_use_note(exc))
    table = Table(title="Key ring")
    table.add_column("key id")
    table.add_column("active")
    # The log's records are not re-sealed by rotation: they go as retention prunes them.
    table.add_column("intake-log records", justify="right")
    table.add_column("sealed values", justify="right")
    for key_id in sorted(set(ring.keys) | set(census) | set(log_counts)):
        present = "" if key_id in ring.keys else " [red](missing from ring)[/red]"
        table.add_row(
            key_id + present,
            "yes" if key_id == ring.active else "",
            str(log_counts[key_id]),
            str(census[key_id]),
        )
    console.print(table)


@keys_app.command("rotate")
def keys_rotate(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Add a new active key, re-encrypt every sealed value to it, then retire the old keys.

    The new ring is written before anything is re-encrypted, so an interrupted rotation
    leaves every value readable; run it again to finish. The event store's face features
    are re-sealed too, which needs the node stopped: while it runs, the old keys are kept.
    The intake log's records are not re-sealed: a key they use is kept until retention
    prunes them.
    """
    settings = load_settings(workspace)
    governance = settings.governance
    path = key_file_path(governance, settings.workspace)
    try:
        ring = load_keyring(governance, settings.workspace, environ={})
    except KeyRingError as exc:
        raise _fail(f"{exc.message} (rotation rewrites the key file)") from None
    rotated = ring.with_new_active()
    write_keyring(path, rotated, replace=True)
    clock = SystemClock()
    store_busy: _StoreInUseError | None = None
    log_busy: EventLogError | None = None
    try:
        # Not re-sealed: a record's key is kept until retention prunes the record.
        log_counts = _log_key_counts(settings)
    except EventLogError as exc:
        log_counts, log_busy = Counter(), exc
    store_counts: dict[str, int] = {}
    leftover: Counter[str] = Counter()
    with database(settings) as db:
        try:
            with _store_with_ring(settings, db, rotated) as store:
                if store is not None:
                    store_counts[STORE_FEATURES_LABEL] = store.reseal_features()
                    leftover += store.sealed_key_counts()
        except _StoreInUseError as exc:
            store_busy = exc
        images = _images(settings, rotated)
        store_counts[BLOBS_LABEL] = images.reseal()
        leftover += _blob_key_counts(images)
        with db.session() as session:
            counts = reseal_all(session, FieldCipher(rotated)) | store_counts
            leftover += key_census(session)
            Governance(governance, clock, rotated).audit(session).record(
                CLI_ACTOR,
                "keys.rotate",
                record_type="key_ring",
                record_ids=[rotated.active],
                details={"resealed": counts, "previous": ring.active},
            )
    # A key still sealing a value stays; so do all of them while the store or the log was
    # out of reach.
    old_keys = {k for k in rotated.keys if k != rotated.active}
    retired = set() if store_busy or log_busy else old_keys - set(leftover) - set(log_counts)
    if retired:
        write_keyring(path, rotated.without(retired), replace=True)
    total = sum(counts.values())
    console.print(f"Active key is now {rotated.active}; {total} values re-encrypted.")
    for label, count in counts.items():
        console.print(f"  {label}: {count}")
    if retired:
        console.print(f"Retired keys: {', '.join(sorted(retired))}")
    for key_id in sorted(old_keys & set(log_counts)):
        console.print(
            f"Kept {key_id}: {log_counts[key_id]} intake-log records until retention prunes them."
        )
    if log_busy is not None:
        error_console.print(_log_in_use_note(log_busy))
    if store_busy is not None:
        error_console.print(_store_in_use_note(store_busy))
    if store_busy is not None or log_busy is not None:
        error_console.print(
            "The old keys are kept. Stop the node and run `zhian keys rotate` again to finish."
        )
    running = find_running_node(settings.workspace)
    if running is not None:
        # The node read its key ring at start: values re-sealed just now use a key it lacks.
        error_console.print(
            f"A node is running at {running.url} (pid {running.pid}) with the ring it read at "
            "start: restart it so that it reads the new key.",
            soft_wrap=True,
        )


# --- audit --------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Check the audit chain; exits 1 and names each entry when anything was tampered with."""
    settings = load_settings(workspace)
    governance = Governance.load(settings.governance, settings.workspace, SystemClock())
    with database(settings) as db, db.session() as session:
        report = governance.audit(session).verify()
    span = f"entries {report.first_id}..{report.last_id}" if report.checked else "no entries"
    seal = "sealed head" if report.is_sealed else "unsealed head (no key ring)"
    if report.ok:
        console.print(f"[green]Audit chain intact[/green]: {report.checked} {span}, {seal}.")
        return
    table = Table(title=f"Audit chain broken ({report.checked} checked, {span})")
    table.add_column("entry", justify="right")
    table.add_column("finding")
    table.add_column("detail", style="red")
    for problem in report.problems:
        table.add_row(str(problem.entry_id), problem.kind, problem.detail)
    console.print(table)
    raise typer.Exit(1)


# --- retention ----------------------------------------------------------------------------


@retention_app.command("apply")
def retention_apply(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would go; change nothing.")
    ] = False,
) -> None:
    """Purge data past its retention from every store (legal holds are kept); audited.

    Done by the node when one runs on the workspace, else here."""
    with node_operations(workspace, feed=False) as node:
        report = node.apply_retention(dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    table = Table(title="Retention (dry run)" if dry_run else "Retention")
    table.add_column("data class")
    table.add_column("kept for", justify="right")
    table.add_column("older than")
    table.add_column(verb, justify="right")
    table.add_column("held", justify="right")
    for outcome in report.outcomes:
        days = f"{outcome.retention_days:g} d" if outcome.retention_days else "unreferenced"
        cutoff = outcome.cutoff.strftime("%Y-%m-%d %H:%M") if outcome.cutoff else ""
        table.add_row(outcome.data_class, days, cutoff, str(outcome.removed), str(outcome.held))
    console.print(table)


# --- quality ------------------------------------------------------------------------------


@quality_app.command("report")
def quality_report(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    hours: Annotated[float, typer.Option(help="Window to report, in hours back from now.")] = 24,
    limit: Annotated[int, typer.Option(help="Sources to list, worst first.")] = 20,
) -> None:
    """Validity, completeness, lateness and clock skew per device and source, worst first."""
    until = SystemClock().now()
    since = until - timedelta(hours=hours)
    with node_operations(workspace, feed=False) as node:
        report = node.quality_report(since, until)
    table = Table(title=f"Data quality, last {hours:g} h (goal ≥ {report.goal:.0%} valid)")
    for heading in ("device", "source", "received", "valid", "complete", "late", "ahead"):
        table.add_column(heading, justify="left" if heading in ("device", "source") else "right")
    table.add_column("max lag s", justify="right")
    table.add_column("top reasons")
    for source in report.sources[:limit]:
        valid = f"{source.validity:.1%}"
        if source.validity < report.goal:
            valid = f"[red]{valid}[/red]"
        reasons = ", ".join(f"{code} {n}" for code, n in source.rejected_by_reason.most_common(3))
        max_lag = f"{source.max_lag_seconds:.0f}" if source.max_lag_seconds is not None else ""
        table.add_row(
            source.device_id,
            source.source,
            str(source.received),
            valid,
            f"{source.completeness:.1%}",
            f"{source.late_share:.1%}",
            f"{source.skew_share:.1%}",
            max_lag,
            reasons,
        )
    console.print(table)
    console.print(f"{len(report.below_goal)} of {len(report.sources)} sources below the goal.")
