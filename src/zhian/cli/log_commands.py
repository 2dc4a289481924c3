"""`zhian log`: the durable event log's named readers and what it lost to damage."""

from __future__ import annotations

import getpass
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
from zhian.log.damage import DAMAGED_FOLDER, LogLoss, LossBook, read_losses
from zhian.log.factory import log_readers

app = typer.Typer(
    help="The durable event log's named readers and its recorded losses.", no_args_is_help=True
)


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


@app.command("damage")
def show_damage(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Show the records the log lost to a damaged disk, and the files it kept aside.

    Start-up recovery never numbers new records over lost ones: each loss is a gap in the
    log, recorded here for good. Exits with 1 while any loss is not acknowledged
    (`zhian log acknowledge-damage`). Works while the node runs."""
    log_dir = settings_for(workspace).log_dir
    losses = read_losses(log_dir)
    if not losses:
        console.print("The event log has recorded no loss.")
        return
    # One line per loss, not a table: causes and file names are long, and a line stays
    # whole for grep and for a narrow terminal.
    for loss in losses:
        _print_loss(loss)
    total = sum(loss.records for loss in losses)
    console.print(
        f"{total} records lost in {len(losses)} gaps; damaged files are kept in "
        f"{log_dir / DAMAGED_FOLDER}. Events the event store already held are not lost."
    )
    pending = [loss for loss in losses if loss.acknowledged is None]
    if not pending:
        console.print("Every loss is acknowledged.")
        return
    console.print(
        f"{len(pending)} of {len(losses)} gaps not acknowledged: health reports the node "
        "degraded until `zhian log acknowledge-damage` is run."
    )
    raise typer.Exit(1)


@app.command("acknowledge-damage")
def acknowledge_damage(
    note: Annotated[
        str,
        typer.Option(
            "--note", help="What was done about the loss (restored from a backup, accepted …)."
        ),
    ],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Acknowledge every recorded loss not yet acknowledged, so health stops reporting it.

    The losses stay in the book (their numbers are never reused); the acknowledgement
    records who ran this, when, and the note. A loss found later is reported again until
    it is acknowledged too. Works while the node runs."""
    text = note.strip()
    if not text or not text.isprintable() or len(text) > 500:
        error_console.print(
            "[red]--note: say in one line of at most 500 printable characters what was "
            "done about the loss.[/red]"
        )
        raise typer.Exit(2)
    log_dir = settings_for(workspace).log_dir
    acknowledged = LossBook(log_dir).acknowledge(getpass.getuser(), text)
    if not acknowledged:
        console.print("No loss waits for an acknowledgement.")
        return
    for loss in acknowledged:
        _print_loss(loss)
    console.print(f"Acknowledged {len(acknowledged)} gaps; health no longer reports them.")


def _print_loss(loss: LogLoss) -> None:
    kept = f"kept aside: {loss.kept_aside}" if loss.kept_aside else "nothing kept aside"
    ack = loss.acknowledged
    said = (
        ""
        if ack is None
        else f"; acknowledged {ack.acknowledged_at.strftime('%Y-%m-%d %H:%M:%S')} UTC "
        f"by {ack.by}: {ack.note}"
    )
    console.print(
        f"records {loss.first_seq}-{loss.last_seq} ({loss.records}) lost, found "
        f"{loss.found_at.strftime('%Y-%m-%d %H:%M:%S')} UTC: {loss.cause}; {kept}{said}",
        soft_wrap=True,
        markup=False,
    )
