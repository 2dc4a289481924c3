"""`zhian cascade`: the health of this node's link to its parent (docs/cascade.md)."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from zhian.cascade.forwarder import read_health
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, settings_for

app = typer.Typer(help="The link of this node to its parent node.", no_args_is_help=True)


@app.command("status")
def status(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Show the upward link: up or down, last contact, cache depth, back-fill progress.

    Reads what the forwarder last wrote beside the workspace, so it works while the node
    runs (and shows the last state after it stopped)."""
    settings = settings_for(workspace)
    if not settings.parent.is_enabled:
        console.print("This node has no parent: set \\[parent] url, node_id and token.")
        return
    health = read_health(settings.workspace)
    if health is None:
        console.print(
            f"Parent {settings.parent.url}: the forwarder has not run yet on this workspace."
        )
        return
    table = Table("", "")
    table.add_row("parent", f"{health.parent_url} (as {health.node_id})")
    table.add_row("link", "up" if health.is_up else "[red]down[/red]")
    table.add_row("last contact (UTC)", _time(health.last_contact_at))
    if not health.is_up:
        table.add_row("next registration (UTC)", _time(health.next_attempt_at))
        table.add_row("last error", health.last_error or "-")
    table.add_row("registrations", str(health.registrations))
    table.add_row(
        "forwarded through log record", f"{health.forwarded_through_seq} of {health.durable_seq}"
    )
    alarm = " [red]cache alarm: filling[/red]" if health.is_cache_alarm else ""
    table.add_row("cache", f"{health.cache_records} records, {health.cache_bytes} bytes{alarm}")
    percent = health.backfill_percent
    table.add_row("back-fill", "-" if percent is None else f"{percent:.1f} %")
    table.add_row("events sent since start", str(health.events_sent))
    table.add_row("as of (UTC)", _time(health.updated_at))
    console.print(table)


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if isinstance(moment, datetime) else "-"
