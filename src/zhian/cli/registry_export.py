"""`zhian registry export`: a community's registry list exported upward (一标三实上报),
the same file the community archive page's export form gives.

Run as a named user (`--user`, holding `registry.export`), within that user's
jurisdiction, audited as them (`registry.export`, `via: cli`); residents travel masked and
tokenised, never in the clear (`zhian.registry.export`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from zhian.access.service import AccessService
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.cli.watchlist import UserOption, _acting_user, _session
from zhian.config import load_settings
from zhian.errors import ZhianError
from zhian.governance.context import Governance
from zhian.governance.reveal import RefusedReveal, RevealService, record_refusal
from zhian.kit.clock import SystemClock
from zhian.registry.export import EXPORT_KINDS
from zhian.registry.upward import EXPORT_ACTION, FORMATS, upward_file

app = typer.Typer(help="Master data (一标三实): the registry list exported upward.",
                  no_args_is_help=True)  # fmt: skip


@app.command("export")
def export_registry(
    community_id: Annotated[str, typer.Argument(help="The community whose list to export.")],
    user: UserOption,
    kind: Annotated[
        str, typer.Option(help=f"What to export: {', '.join(EXPORT_KINDS)}.")
    ] = "houses",
    file_format: Annotated[
        str, typer.Option("--format", help=f"The file's format: {' or '.join(FORMATS)}.")
    ] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file, or into this folder under the page's file name "
            "(registry-COMMUNITY-KIND-TIME.FORMAT). Default: the current folder.",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Write one community's houses, residents, vehicles or open registration drafts as
    the web's export does (CSV with a byte-order mark, or xlsx; formula-safe). Exit status
    2 on a bad option, a community outside the user's jurisdiction or a user without
    `registry.export`."""
    settings = load_settings(workspace)
    clock = SystemClock()
    governance = Governance.load(settings.governance, settings.workspace, clock)
    zone = timezone(timedelta(minutes=settings.pages.utc_offset_minutes))
    try:
        with _session(settings) as session:
            acting = _acting_user(session, user, EXPORT_ACTION)
            audit = governance.audit(session)

            def refused(refusal: RefusedReveal) -> None:
                record_refusal(audit, refusal)

            reveal = RevealService(session, audit=audit, refusals=refused,
                                   sealer=governance.sealer)  # fmt: skip
            exported = upward_file(
                session,
                reveal,
                user=acting,
                scope=AccessService(session).scope_for(acting),
                community_id=community_id,
                kind=kind,
                file_format=file_format,
                local_now=datetime.now(zone),
                via="cli",
            )
            target = output or Path.cwd()
            if target.is_dir():
                target = target / exported.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(exported.body)
    except ZhianError as error:
        error_console.print(f"[bold red]{error.field or 'error'}:[/bold red] {error.message}")
        raise typer.Exit(2) from None
    console.print(f"{exported.rows} rows ({kind}) of community {community_id} written to {target}")
