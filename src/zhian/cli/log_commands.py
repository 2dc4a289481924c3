"""`zhian log`: the named readers of the durable event log and their positions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhian.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    console,
    error_console,
    settings_for,
)
from zhian.log.factory import log_readers

app = typer.Typer(help="The durable event log's named readers.", no_args_is_help=True)


@app.command("readers")
def list_readers(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Show each reader's acknowledged position, slowest first (retention prunes below it).

    Reads the positions beside the log, so it works while the node runs."""
    settings = settings_for(workspace)
    with log_readers(settings.log, settings.log_dir) as readers:
        positions = readers.positions()
    if not positions:
        console.print("No reader of the log is registered: retention keeps the whole log.")
        return
    table = Table("reader", "acknowledged through", "last acknowledged (UTC)")
    for position in positions:
        table.add_row(
            position.name, str(position.seq), position.updated_at.strftime("%Y-%m-%d %H:%M:%S")
        )
    console.print(table)
    console.print(f"Retention may prune through record {positions[0].seq} ({positions[0].name}).")


@app.command("drop-reader")
def drop_reader(
    name: Annotated[str, typer.Argument(help="The reader's name, as `zhian log readers` shows.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Forget a reader that will not come back, so it no longer holds retention back.

    A reader still running registers again at its next start (or acknowledgement)."""
    settings = settings_for(workspace)
    with log_readers(settings.log, settings.log_dir) as readers:
        dropped = readers.drop(name)
    if not dropped:
        error_console.print(f"[red]No log reader named {name!r}.[/red]")
        raise typer.Exit(1)
    console.print(f"Dropped log reader {name!r}.")
