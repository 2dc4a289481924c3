"""`zhian ferry`: move events and images across a one-way gateway as files (跨网摆渡)."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, settings_for
from zhian.cli.running import node_operations
from zhian.errors import ZhianError
from zhian.ingest.ferry.package import PackageRejected
from zhian.ingest.ferry.service import ImportReport

app = typer.Typer(
    help="Ferry packages: events and images as files across a one-way gateway.",
    no_args_is_help=True,
)


def _moment(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is not an ISO 8601 date or time", param_hint=option
        ) from None
    # A time without an offset is read in this machine's time zone, as a person means it.
    return value if value.tzinfo is not None else value.astimezone()


@app.command("export")
def export(
    since: Annotated[str, typer.Option(help="From this event time on (ISO 8601), inclusive.")],
    until: Annotated[str, typer.Option(help="Up to this event time (ISO 8601), exclusive.")],
    out: Annotated[Path, typer.Option("--out", help="Folder the packages are written to.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Write the events of a time window, with their images, as self-describing packages.

    Done by the node when one runs on the workspace (it writes the folder), else here."""
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if end <= start:
        raise typer.BadParameter("must lie after --since", param_hint="--until")
    with node_operations(workspace) as node:
        try:
            packages = node.ferry_export(start, end, out)
        except ZhianError as error:
            if error.field != "since":
                raise
            # Retention pruned the log this far back: say which --since still works.
            raise typer.BadParameter(error.message, param_hint="--since") from None
    if not packages:
        console.print("No events in that window; no package written.")
        return
    table = Table("package", "events", "images", "folder")
    for package in packages:
        table.add_row(
            package.package_id, f"{package.events:,}", f"{package.images:,}", str(package.path)
        )
    console.print(table)


def _report_row(table: Table, name: str, report: ImportReport) -> None:
    table.add_row(
        name,
        report.status,
        f"{report.events:,}",
        f"{report.accepted:,}",
        f"{report.duplicate:,}",
        f"{report.rejected:,}",
    )


@app.command("import")
def import_packages(
    packages: Annotated[list[Path], typer.Argument(help="Package folders (with manifest.json).")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Verify each package completely, then apply it whole; a refused package changes nothing.

    Sent to the node when one runs on the workspace, else applied here."""
    table = Table("package", "status", "events", "accepted", "duplicate", "refused")
    refused = 0
    with node_operations(workspace) as node:
        for path in packages:
            try:
                report = node.ferry_import(path)
            except PackageRejected as exc:
                refused += 1
                table.add_row(path.name, f"[red]rejected: {exc}", "-", "-", "-", "-")
                continue
            _report_row(table, path.name, report)
        node.wait_stored(timeout_seconds=120)
    console.print(table)
    if refused:
        raise typer.Exit(1)


@app.command("watch")
def watch(
    directory: Annotated[Path, typer.Argument(help="Folder the gateway drops packages into.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    once: Annotated[bool, typer.Option(help="Look once and exit (for cron jobs).")] = False,
) -> None:
    """Import packages dropped into a folder; done ones go to done/, refused ones to rejected/."""
    if not directory.is_dir():
        raise typer.BadParameter(f"'{directory}' is not a folder", param_hint="DIRECTORY")
    settings = settings_for(workspace)
    with node_operations(workspace) as node:
        while True:
            for outcome in node.ferry_watch_once(directory):
                if outcome.report is not None:
                    report = outcome.report
                    console.print(
                        f"{outcome.package}: {report.status}, {report.accepted:,} accepted, "
                        f"{report.duplicate:,} duplicate, {report.rejected:,} refused"
                    )
                else:
                    console.print(f"[red]{outcome.package}: rejected: {outcome.rejected_reason}")
            if once:
                break
            time.sleep(settings.ferry.watch_poll_seconds)
        node.wait_stored(timeout_seconds=120)
