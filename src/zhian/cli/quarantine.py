"""`zhian quarantine`: browse refused input and replay it after a fix."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhian.access.scope import JurisdictionScope
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, database, settings_for
from zhian.cli.running import node_operations
from zhian.governance.context import Governance
from zhian.ingest.quarantine.masking import masked_raw
from zhian.ingest.quarantine.service import QuarantineService
from zhian.kit.clock import SystemClock

app = typer.Typer(help="Refused input, kept verbatim with its reasons.", no_args_is_help=True)


@app.command("list")
def list_items(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    device: Annotated[str | None, typer.Option(help="Only this device id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most rows shown.")] = 50,
    raw: Annotated[
        bool, typer.Option("--raw", help="Also print each item's raw input, identifiers masked.")
    ] = False,
) -> None:
    """List held items with the field and reason each was refused for."""
    settings = settings_for(workspace)
    # Raw input is sealed at rest (#12): the key ring opens it, to be shown masked.
    governance = Governance.load(settings.governance, settings.workspace, SystemClock())
    # The quarantine lives in the database alone: no need to reach the log or the store.
    with database(settings) as db:
        quarantine = QuarantineService(db, cipher=governance.cipher())
        # The command line is the node administrator's: the whole node.
        everywhere = JurisdictionScope.unscoped()
        counts = quarantine.count_by_reason(scope=everywhere)
        items = quarantine.list_held(
            reason_code=reason, device_id=device, limit=limit, scope=everywhere
        )
    table = Table("id", "received", "source", "device", "event", "reason", "field: why")
    for item in items:
        why = "; ".join(f"{r['field']}: {r['reason']}" for r in item.reasons)
        table.add_row(
            str(item.id),
            item.received_at.strftime("%Y-%m-%d %H:%M:%S"),
            item.source,
            item.device_id or "-",
            item.event_id or "-",
            item.reason_code,
            why,
        )
    console.print(table)
    if raw:
        for item in items:
            console.print(f"#{item.id} {item.content_type}:", markup=False)
            console.print(masked_raw(item.raw), markup=False, highlight=False)
    summary = ", ".join(f"{code}: {n}" for code, n in sorted(counts.items())) or "empty"
    console.print(f"Held by reason: {summary}")


@app.command("replay")
def replay(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    item_id: Annotated[
        list[int] | None, typer.Option("--id", help="Replay only these items (repeatable).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Replay only this reason code.")] = None,
) -> None:
    """Send held items through the intake again, e.g. after the missing device was imported.

    Sent to the node when one runs on the workspace, else replayed here."""
    with node_operations(workspace) as node:
        report = node.replay_quarantine(item_id, reason)
        node.wait_stored(timeout_seconds=60)
    console.print(
        f"Replayed {report.replayed}: {report.accepted} accepted, {report.duplicate} duplicate, "
        f"{report.still_rejected} still refused."
    )
