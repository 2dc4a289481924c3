"""`zhian cases`: import case files through a column mapping, train the linkage model,
list its versions and roll back.

Works on the database directly (no event store), so it runs beside a serving node. Changes
are made as a named user (`--user`), within that user's jurisdiction and audited under
their name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.audit.service import Actor
from zhian.cases.importer import CaseMapping, read_case_rows
from zhian.cases.schemas import ModelVersionRead
from zhian.cases.service import CaseImportReport, CaseService
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.cli.watchlist import UserOption, _acting_user, _audit, _session
from zhian.config import Settings, load_settings
from zhian.errors import ZhianError
from zhian.governance.context import Governance
from zhian.governance.tokens import Tokeniser
from zhian.kit.clock import SystemClock

app = typer.Typer(
    help="Cases (警情/案件): import, and the case-linkage model (串并).", no_args_is_help=True
)


def _tokeniser(settings: Settings) -> Tokeniser | None:
    ring = Governance.load(settings.governance, settings.workspace, SystemClock()).ring
    return Tokeniser(ring.token_key) if ring is not None else None


def _service(settings: Settings, session: Session, scope: JurisdictionScope) -> CaseService:
    return CaseService(
        session,
        clock=SystemClock(),
        settings=settings.cases,
        scope=scope,
        tokeniser=_tokeniser(settings),
    )


def _fail(error: ZhianError) -> typer.Exit:
    error_console.print(f"[bold red]{error.field or 'error'}:[/bold red] {error.message}")
    return typer.Exit(2)


def _print_report(report: CaseImportReport) -> None:
    if report.errors:
        table = Table("row", "column", "reason", title="Refused rows")
        for error in report.errors[:200]:
            table.add_row(str(error.row), error.field, error.reason)
        console.print(table)
        if len(report.errors) > 200:
            console.print(f"… and {len(report.errors) - 200} more.")
    console.print(
        f"{report.source}: {report.created} cases created, {report.updated} updated, "
        f"{report.rejected} refused."
    )
    if report.retrained is not None:
        console.print(f"Linkage model retrained: version {report.retrained.id}.")


@app.command("import")
def import_cases(
    path: Annotated[
        Path, typer.Argument(help="A .csv, .xlsx, .json or .jsonl export of a case system.")
    ],
    user: UserOption,
    mapping: Annotated[
        Path | None,
        typer.Option(help="TOML naming the columns, values and coordinate system (docs/cases.md)."),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Create or replace one case per row; refused rows are listed (row, column, reason),
    the rest kept. Exit status 1 when any row was refused."""
    settings = load_settings(workspace)
    clock = SystemClock()
    try:
        with _session(settings) as session:
            acting = _acting_user(session, user, "cases.manage")
            scope = AccessService(session).scope_for(acting)
            service = _service(settings, session, scope)
            plan = (
                CaseMapping.identity(settings.cases.mo_features)
                if mapping is None
                else CaseMapping.load(mapping, settings.cases.mo_features)
            )
            report = service.save_rows(
                read_case_rows(path, plan),
                user_id=acting.id,
                source=f"import:{path.name}",
                column_of=plan.column_of,
            )
            report.source = str(path)
            _audit(settings, session, clock).record(
                Actor.user(acting.id),
                "case.import",
                record_type="case",
                record_ids=report.case_ids,
                details={"file": path.name, "created": report.created,
                         "updated": report.updated, "rejected": report.rejected, "via": "cli"},
            )  # fmt: skip
            system = _service(settings, session, JurisdictionScope.unscoped())
            report.retrained = system.retrain_if_due()
            if report.retrained is not None:
                _audit(settings, session, clock).record(
                    Actor.system("linkage"), "case.model_train", record_type="linkage_model",
                    record_ids=[str(report.retrained.id)],
                    details={"auc": report.retrained.auc, "automatic": True},
                )  # fmt: skip
    except ZhianError as error:
        raise _fail(error) from None
    _print_report(report)
    if report.rejected:
        raise typer.Exit(1)


def _versions_table(versions: list[ModelVersionRead]) -> Table:
    def figure(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    table = Table("version", "active", "trained", "by", "labelled", "test pairs", "AUC",
                  "AUC distance", "AUC time", "AUC dist+time", "reason",
                  title="Linkage model versions")  # fmt: skip
    for v in versions:
        table.add_row(
            str(v.id), "*" if v.is_active else "", f"{v.created_at:%Y-%m-%d %H:%M}",
            "auto" if v.created_by is None else str(v.created_by), str(v.labelled_cases),
            str(v.test_pairs), figure(v.auc), figure(v.auc_distance), figure(v.auc_time),
            figure(v.auc_distance_time), v.reason,
        )  # fmt: skip
    return table


@app.command("train")
def train(user: UserOption, workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Train a new linkage model version on every solved case, evaluate it on the later
    30 % (time-based split) and make it the active version."""
    settings = load_settings(workspace)
    clock = SystemClock()
    try:
        with _session(settings) as session:
            acting = _acting_user(session, user, "cases.models")
            service = _service(settings, session, JurisdictionScope.unscoped())
            version = service.train(user_id=acting.id, reason="trained from the command line")
            _audit(settings, session, clock).record(
                Actor.user(acting.id), "case.model_train", record_type="linkage_model",
                record_ids=[str(version.id)], details={"auc": version.auc, "via": "cli"},
            )  # fmt: skip
    except ZhianError as error:
        raise _fail(error) from None
    console.print(_versions_table([version]))


@app.command("models")
def list_models(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """The linkage model versions, newest first, with their held-out evaluation."""
    settings = load_settings(workspace)
    with _session(settings) as session:
        versions = _service(settings, session, JurisdictionScope.unscoped()).versions()
    console.print(_versions_table(versions))
    console.print(f"{len(versions)} versions.")


@app.command("rollback")
def rollback(
    version: Annotated[int, typer.Argument(help="The version to make active.")],
    user: UserOption,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Make an earlier linkage model version the active one."""
    settings = load_settings(workspace)
    clock = SystemClock()
    try:
        with _session(settings) as session:
            acting = _acting_user(session, user, "cases.models")
            chosen = _service(settings, session, JurisdictionScope.unscoped()).activate(version)
            _audit(settings, session, clock).record(
                Actor.user(acting.id), "case.model_rollback", record_type="linkage_model",
                record_ids=[str(version)], details={"via": "cli"},
            )  # fmt: skip
    except ZhianError as error:
        raise _fail(error) from None
    console.print(f"Linkage model version {chosen.id} is active (AUC {chosen.auc}).")
