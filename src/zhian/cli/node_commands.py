"""Commands that set up and run a node: init, migrate, serve, docs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, settings_for
from zhian.config import CONFIG_FILE_NAME, config_reference_markdown, default_config_toml
from zhian.db.migrate import upgrade_url

WORKSPACE_MARKER = ".zhian-workspace"


def write_workspace(workspace: Path, *, overwrite: bool = False) -> Path:
    """Create a workspace folder with a commented default zhian.toml."""
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / WORKSPACE_MARKER).touch()
    config = workspace / CONFIG_FILE_NAME
    if config.exists() and not overwrite:
        return config
    config.write_text(default_config_toml(), encoding="utf-8")
    return config


def init(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    force: Annotated[bool, typer.Option(help="Overwrite an existing zhian.toml.")] = False,
) -> None:
    """Create a workspace with a commented default configuration and an empty database."""
    config = write_workspace(workspace, overwrite=force)
    upgrade_url(settings_for(workspace).database_url)
    console.print(f"Workspace ready: [bold]{workspace}[/] (configuration in {config})")


def migrate(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Bring the operational database schema up to date."""
    settings = settings_for(workspace)
    upgrade_url(settings.database_url)
    console.print("Database schema is up to date.")


def serve(
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
    host: Annotated[str | None, typer.Option(help="Listen address (default from config).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config).")] = None,
) -> None:
    """Run the node: intake API, event store feeder and web pages."""
    import uvicorn

    from zhian.cli.access import refuse_weak_secret
    from zhian.cli.running import claim_for_serving
    from zhian.kit.running import loopback_url
    from zhian.node import Node
    from zhian.web.app import create_app

    settings = settings_for(workspace)
    refuse_weak_secret(settings)  # before anything opens: no default secrets outside the demo
    # The running-node marker: CLI commands send their log and store work here meanwhile.
    url = loopback_url(host or settings.web.host, port or settings.web.port)
    with claim_for_serving(settings.workspace, url), Node.open(settings) as node:
        console.print(
            f"Zhian listening on http://{host or settings.web.host}:{port or settings.web.port}/"
        )
        uvicorn.run(
            create_app(node),
            host=host or settings.web.host,
            port=port or settings.web.port,
            log_level="warning",
        )


docs_app = typer.Typer(help="Generate reference documentation from the code.")


@docs_app.command("config")
def docs_config(
    out: Annotated[Path, typer.Option(help="Where to write the Markdown.")] = Path(
        "docs/configuration.md"
    ),
) -> None:
    """Write the configuration reference (docs/configuration.md)."""
    out.write_text(config_reference_markdown(), encoding="utf-8")
    console.print(f"Wrote {out}")
