"""`zhian models run`: the batch models once over the stored events, as the node's periodic
run does them (docs/models.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console
from zhian.cli.running import RemoteOperations, node_operations
from zhian.errors import BadRequestError
from zhian.models.runner import ModelRunReport, select_models

app = typer.Typer(help="Batch analytic models.", no_args_is_help=True)


def _as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is not an ISO 8601 date or time", param_hint="--as-of"
        ) from None
    # A time without an offset is read in this machine's time zone, as a person means it.
    return value if value.tzinfo is not None else value.astimezone()


@app.command("run")
def run(
    model: Annotated[
        str | None,
        typer.Option(help="Run only this model (e.g. moved_out or model.moved_out)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Run as of this time (ISO 8601); now by default."),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Run the batch models once over the stored events and raise their alerts.

    Sent to the node when one serves the workspace (it runs them as its periodic run does),
    else run here once the store holds what the log does."""
    moment = _as_of(as_of)
    try:
        chosen = select_models(model)  # refused here before anything is opened
    except BadRequestError as error:
        raise typer.BadParameter(error.message, param_hint="--model") from None
    with node_operations(workspace) as node:
        if isinstance(node, RemoteOperations):
            with console.status(f"The node is running {len(chosen)} model(s)…"):
                report = node.run_models(model, moment)
        else:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console, transient=True) as progress:
                task = progress.add_task("Running models", total=len(chosen))

                def advance(name: str, drafts: int) -> None:
                    progress.console.print(f"{name}: {drafts} draft(s)")
                    progress.advance(task)

                report = node.run_models(model, moment, advance)
    console.print(_table(report))


def _table(report: ModelRunReport) -> Table:
    table = Table(title=f"Models run as of {report.as_of.isoformat(timespec='minutes')}")
    table.add_column("model")
    table.add_column("drafts", justify="right")
    for outcome in report.outcomes:
        table.add_row(outcome.model, str(outcome.drafts))
    table.caption = f"{len(report.alert_ids)} alert(s) raised or updated"
    return table
