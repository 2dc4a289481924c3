"""`zhian import-utilities`: load utility readings (water, electricity per house and day)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.cli.registry import rejected_rows_table, write_error_report
from zhian.config import load_settings
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.governance.context import migration_identity
from zhian.models.utilities import UtilityService, read_readings
from zhian.registry.service import ImportFileError, ImportReport

# Row errors shown on screen per file; the --report file holds them all.


def _summary(reports: list[ImportReport]) -> Table:
    table = Table(title="Utility readings import")
    table.add_column("file", overflow="fold")
    for heading in ("rows", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(heading, justify="right")
    for report in reports:
        table.add_row(
            report.source or "",
            str(report.total),
            str(report.inserted),
            str(report.updated),
            str(report.unchanged),
            f"[red]{report.rejected}[/red]" if report.rejected else "0",
        )
    return table


def import_utilities(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or .xlsx files with columns house_id, day, water_m3, electricity_kwh.",
            show_default=False,
        ),
    ],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    report: Annotated[
        Path | None,
        typer.Option("--report", "-r", help="Write every row error to this CSV file."),
    ] = None,
) -> None:
    """Import daily utility readings for the vacant-house model; rejected rows are listed.

    A house and day already held is replaced by the new reading. Exits 1 when any row was
    rejected, 2 when a file cannot be imported at all (nothing is written then).
    """
    settings = load_settings(workspace)
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    try:
        tables = [(str(path), read_readings(path)) for path in paths]
        migrate.upgrade(
            engine, identity=migration_identity(settings.governance, settings.workspace)
        )
        db = Database(engine)
        reports = []
        # One transaction for all files; a later file's reading of a house and day wins.
        with db.session() as session:
            service = UtilityService(session)
            for source, rows in tables:
                reports.append(service.load_rows(rows, source=source))
    except ImportFileError as exc:
        error_console.print(f"[bold red]Import stopped:[/bold red] {exc.message}")
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    console.print(_summary(reports))
    for file_report in reports:
        if file_report.errors:
            console.print(rejected_rows_table(file_report))
    if report is not None:
        write_error_report(report, reports)
        console.print(f"Error report written to {report}")
    if any(file_report.rejected for file_report in reports):
        raise typer.Exit(1)
