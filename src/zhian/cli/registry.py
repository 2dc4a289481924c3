"""`zhian import`: load master-data files (CSV, .xlsx) into a node's database."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.config import load_settings
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.governance.context import Governance, migration_identity
from zhian.kit.clock import SystemClock
from zhian.registry.importer import import_paths
from zhian.registry.service import ImportFileError, ImportReport

# Row errors shown on screen per file; the --report file holds them all.
ERRORS_SHOWN = 20

registry_app = typer.Typer(help="Master data (一标三实).", no_args_is_help=True)


def _summary(reports: list[ImportReport]) -> Table:
    table = Table(title="Master data import")
    table.add_column("file", overflow="fold")
    table.add_column("entity", no_wrap=True)
    for heading in ("rows", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(heading, justify="right")
    for report in reports:
        rejected = f"[red]{report.rejected}[/red]" if report.rejected else "0"
        table.add_row(
            report.source or "",
            report.entity,
            str(report.total),
            str(report.inserted),
            str(report.updated),
            str(report.unchanged),
            rejected,
        )
    return table


def rejected_rows_table(report: ImportReport) -> Table:
    """The first rejected rows of one file (row, column, reason); the rest go to --report."""
    shown = report.errors[:ERRORS_SHOWN]
    more = len(report.errors) - len(shown)
    caption = f"… and {more} more (see --report)" if more > 0 else None
    table = Table(title=f"Rejected rows in {report.source or report.entity}", caption=caption)
    table.add_column("row", justify="right")
    table.add_column("column")
    table.add_column("reason", style="red")
    for error in shown:
        table.add_row(str(error.row), error.column, error.reason)
    return table


def write_error_report(path: Path, reports: list[ImportReport]) -> None:
    """Every row error as CSV (file, row, column, reason); with a BOM so Excel reads Chinese."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "column", "reason"])
        for report in reports:
            for error in report.errors:
                source = report.source or report.entity
                writer.writerow([source, error.row, error.column, error.reason])


@registry_app.command("import")
def import_master_data(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or .xlsx files, each named after its entity (houses.csv).", show_default=False
        ),
    ],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    report: Annotated[
        Path | None,
        typer.Option("--report", "-r", help="Write every row error to this CSV file."),
    ] = None,
) -> None:
    """Import master data; files load in dependency order, rejected rows are listed.

    Exits 1 when any row was rejected, 2 when a file cannot be imported at all.
    """
    settings = load_settings(workspace)
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    try:
        migrate.upgrade(
            engine, identity=migration_identity(settings.governance, settings.workspace)
        )
        db = Database(engine)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def advance(source: str, rows_read: int) -> None:
                if source not in tasks:
                    tasks[source] = progress.add_task(source, total=None)
                progress.update(tasks[source], completed=rows_read)

            # Identity cells (name, id_number, phone) are sealed with the key ring (#4), and
            # card references and plates kept as token + sealed copy (#12): the import
            # opens the workspace's ring, or creates it as the node would on a fresh one.
            sealer = Governance.for_node(
                settings.governance,
                settings.workspace,
                SystemClock(),
                sealed_data=(settings.log_dir, settings.event_store_path),
            ).sealer
            reports = import_paths(
                db, paths, clock=SystemClock(), progress=advance, identity=sealer
            )
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
