"""`zhian watchlist`: list the watchlist (布控), bulk import and bulk withdrawal (撤控).

Works on the database directly (no event store), so it runs beside a serving node. Changes
are made as a named user (`--user`), within that user's jurisdiction and audited under
their name; a running node picks the changes up at its next watchlist refresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService, UserRead, normalise_username
from zhian.audit.service import Actor, AuditService
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.config import Settings, load_settings
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade
from zhian.errors import ZhianError
from zhian.governance.context import Governance, migration_identity
from zhian.governance.identity import IdentitySealer
from zhian.kit.clock import Clock, SystemClock
from zhian.watchlists.importer import read_rows
from zhian.watchlists.service import (
    IMPORT_COLUMNS,
    WITHDRAW_COLUMNS,
    WatchlistImportReport,
    WatchlistService,
)

app = typer.Typer(
    help="The watchlist (布控): list, bulk import, bulk withdrawal.", no_args_is_help=True
)

MANAGE = "watchlists.manage"
CLI_ACTOR = Actor.system("cli")
UserOption = Annotated[
    str,
    typer.Option("--user", "-u", help="Act as this user: their jurisdiction, audited as them."),
]


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    try:
        upgrade(engine, identity=migration_identity(settings.governance, settings.workspace))
        with Database(engine).session() as session:
            yield session
    finally:
        engine.dispose()


def _sealer(settings: Settings, clock: Clock) -> IdentitySealer | None:
    return Governance.load(settings.governance, settings.workspace, clock).sealer


def _audit(settings: Settings, session: Session, clock: Clock) -> AuditService:
    return Governance.load(settings.governance, settings.workspace, clock).audit(session)


def _acting_user(session: Session, username: str, permission: str) -> UserRead:
    wanted = normalise_username(username)
    user = next((u for u in AccessService(session).list_users() if u.username == wanted), None)
    if user is None or not user.is_active:
        error_console.print(f"[bold red]user:[/bold red] no active user '{username}'")
        raise typer.Exit(2)
    if not user.can(permission):
        error_console.print(
            f"[bold red]permission:[/bold red] role '{user.role}' of '{user.username}' "
            f"does not hold '{permission}'"
        )
        raise typer.Exit(2)
    return user


def _print_report(report: WatchlistImportReport, verb: str) -> None:
    if report.errors:
        table = Table("row", "column", "reason", title="Refused rows")
        for error in report.errors:
            table.add_row(str(error.row), error.field, error.reason)
        console.print(table)
    console.print(f"{report.source}: {report.accepted} rows {verb}, {report.rejected} refused.")


def _bulk(workspace: Path, path: Path, username: str, *, withdraw: bool) -> None:
    settings = load_settings(workspace)
    clock = SystemClock()
    columns = WITHDRAW_COLUMNS if withdraw else IMPORT_COLUMNS
    try:
        with _session(settings) as session:
            user = _acting_user(session, username, MANAGE)
            scope = AccessService(session).scope_for(user)
            service = WatchlistService(
                session, clock=clock, scope=scope, identity=_sealer(settings, clock)
            )
            rows = read_rows(path, columns)
            run = service.withdraw_rows if withdraw else service.import_rows
            report = run(rows, user_id=user.id)
            report.source = str(path)
            _audit(settings, session, clock).record(
                Actor.user(user.id),
                "watchlist.bulk_withdraw" if withdraw else "watchlist.import",
                record_type="watchlist_entry",
                record_ids=[str(entry_id) for entry_id in report.entry_ids],
                details={
                    "file": path.name,
                    "accepted": report.accepted,
                    "rejected": report.rejected,
                    "via": "cli",
                },
            )
    except ZhianError as error:
        error_console.print(f"[bold red]{error.field or 'error'}:[/bold red] {error.message}")
        raise typer.Exit(2) from None
    _print_report(report, "withdrawn" if withdraw else "imported")
    if report.rejected:
        raise typer.Exit(1)


@app.command("import")
def import_entries(
    path: Annotated[Path, typer.Argument(help="A .csv or .xlsx file, header row first.")],
    user: UserOption,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Add one entry per row; refused rows are listed (row, column, reason), the rest kept.

    Columns: target, label, plate, subject_ref, feature, legal_basis_kind, legal_basis_ref,
    jurisdiction_id, expires_at, tier. Exit status 1 when any row was refused.
    """
    _bulk(workspace, path, user, withdraw=False)


@app.command("withdraw")
def withdraw_entries(
    path: Annotated[Path, typer.Argument(help="A .csv or .xlsx file, header row first.")],
    user: UserOption,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """撤控 the entries named by id, or by plate / subject_ref (+ legal_basis_ref), with a reason.

    Columns: id, plate, subject_ref, legal_basis_ref, reason. Exit status 1 when any row
    was refused.
    """
    _bulk(workspace, path, user, withdraw=True)


@app.command("list")
def list_entries(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="Only this user's jurisdiction (default: all)."),
    ] = None,
    include_inactive: Annotated[
        bool, typer.Option("--all", help="Include withdrawn and expired entries.")
    ] = False,
) -> None:
    """The watchlist entries (plates and subject references masked); the read is audited."""
    settings = load_settings(workspace)
    clock = SystemClock()
    with _session(settings) as session:
        if user is None:
            # The operator of the node, at its console: the whole watchlist, on purpose.
            scope, actor = JurisdictionScope.unscoped(), CLI_ACTOR
        else:
            acting = _acting_user(session, user, "watchlists.view")
            scope, actor = AccessService(session).scope_for(acting), Actor.user(acting.id)
        service = WatchlistService(session, clock=clock, scope=scope)  # masked plates only
        entries = service.list_entries(active_only=not include_inactive)
        _audit(settings, session, clock).record(
            actor,
            "watchlist.list",
            record_type="watchlist_entry",
            record_ids=[str(entry.id) for entry in entries],
            details={"include_inactive": include_inactive, "via": "cli"},
        )
    table = Table("id", "target", "label", "basis", "jurisdiction", "tier", "expires", "state")
    for entry in entries:
        target = entry.plate or _mask(entry.subject_ref) or ("face" if entry.has_feature else "")
        state = "withdrawn" if entry.withdrawn_at else "active"
        if entry.withdrawn_at is None and entry.expires_at <= clock.now():
            state = "expired"
        table.add_row(
            str(entry.id),
            target,
            entry.label,
            f"{entry.legal_basis_kind.value} {entry.legal_basis_ref}",
            entry.jurisdiction_id,
            entry.tier,
            entry.expires_at.isoformat(timespec="minutes"),
            state,
        )
    console.print(table)
    console.print(f"{len(entries)} entries.")


def _mask(value: str | None) -> str:
    if not value:
        return ""
    return "*" * len(value) if len(value) <= 3 else value[0] + "*" * (len(value) - 3) + value[-2:]
