"""`zhian incidents`: import emergency-call records (110 警情) as alerts.

Works on the database directly, so it runs beside a serving node; the serving node's alert
loop then routes the alerts, keeps their deadlines and escalates them. Changes are made as
a named user (`--user`), within that user's jurisdiction, and audited under their name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.service import AlertService
from zhian.audit.service import Actor
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.cli.watchlist import UserOption, _acting_user, _audit, _session
from zhian.config import load_settings
from zhian.errors import ZhianError
from zhian.governance.context import Governance
from zhian.incidents.calls import CallMapping, read_call_rows
from zhian.incidents.service import CallImportReport, CallImportService
from zhian.kit.clock import SystemClock
from zhian.registry.service import RegistryService

app = typer.Typer(help="Incidents: import emergency-call records (110 警情).", no_args_is_help=True)


def _print_report(report: CallImportReport) -> None:
    if report.errors:
        table = Table("row", "column", "reason", title="Refused rows")
        for error in report.errors[:200]:
            table.add_row(str(error.row), error.field, error.reason)
        console.print(table)
        if len(report.errors) > 200:
            console.print(f"… and {len(report.errors) - 200} more.")
    console.print(
        f"{report.source}: {report.raised} alerts raised, {report.already_imported} "
        f"already imported, {report.rejected} refused."
    )


@app.command("import")
def import_calls(
    path: Annotated[Path, typer.Argument(help="A .csv or .xlsx export of a call centre.")],
    user: UserOption,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="TOML naming the columns, values and coordinate system (docs/incidents.md)."
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Raise one alert per record, at its place and the time of the call; a record whose
    id was imported before is skipped. Refused rows are listed (row, column, reason), the
    rest kept. Exit status 1 when any row was refused."""
    settings = load_settings(workspace)
    clock = SystemClock()
    try:
        plan = CallMapping.identity() if mapping is None else CallMapping.load(mapping)
        with _session(settings) as session:
            acting = _acting_user(session, user, "cases.manage")
            registry = RegistryService(session)
            everywhere = JurisdictionScope.unscoped()
            service = CallImportService(
                AlertService(
                    session,
                    clock=clock,
                    settings=settings.alerts,
                    # Alerts raised here queue webhook messages, sealed with the key ring.
                    cipher=Governance.load(settings.governance, settings.workspace, clock).cipher(),
                ),
                buildings=registry.buildings(scope=everywhere),
                communities=registry.list_communities(scope=everywhere),
                place_radius_m=settings.tips.place_radius_m,
                scope=AccessService(session).scope_for(acting),
            )
            report = service.import_rows(read_call_rows(path, plan), column_of=plan.column_of)
            report.source = str(path)
            _audit(settings, session, clock).record(
                Actor.user(acting.id),
                "incident.call_import",
                record_type="alert",
                record_ids=[str(alert_id) for alert_id in report.alert_ids],
                details={"file": path.name, "raised": report.raised,
                         "already_imported": report.already_imported,
                         "rejected": report.rejected, "via": "cli"},
            )  # fmt: skip
    except ZhianError as error:
        error_console.print(f"[bold red]{error.field or 'error'}:[/bold red] {error.message}")
        raise typer.Exit(2) from None
    _print_report(report)
    if report.rejected:
        raise typer.Exit(1)
