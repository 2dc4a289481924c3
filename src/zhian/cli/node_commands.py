"""Commands that set up and run a node: init, migrate, serve, worker, docs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zhian.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    console,
    error_console,
    settings_for,
)
from zhian.config import (
    CONFIG_FILE_NAME,
    Settings,
    config_reference_markdown,
    default_config_toml,
)
from zhian.db.migrate import upgrade_url
from zhian.kit.logs import configure_logging
from zhian.log.base import EventLogError

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
    run_all: Annotated[
        bool | None,
        typer.Option(
            "--all/--web-only",
            help=(
                "Run everything in this one process, or the web only (with `zhian worker` "
                "beside it). Default: worker.separate in the config (false: everything)."
            ),
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help=(
                'Intake and web processes sharing the port (needs log.type = "nats"); '
                "default: web.workers in the config (1)."
            ),
        ),
    ] = None,
) -> None:
    """Run the node: intake API and web pages, and unless split, the background loops."""
    import uvicorn

    from zhian.cli.access import refuse_weak_secret
    from zhian.cli.running import claim_for_serving
    from zhian.cli.serving import serve_several
    from zhian.kit.running import loopback_url
    from zhian.node import Node, NodeRole
    from zhian.web.app import create_app

    settings = settings_for(workspace)
    configure_logging(settings.logging.format, settings.logging.level)
    refuse_weak_secret(settings)  # before anything opens: no default secrets outside the demo
    count = workers if workers is not None else settings.web.workers
    refuse_several_web_processes(settings, count)
    if run_all is None:
        run_all = not settings.worker.separate
    role = NodeRole.ALL if run_all else NodeRole.WEB
    if (role is NodeRole.WEB or count > 1) and settings.live.type == "memory":
        error_console.print(
            'live.type = "memory": alerts the worker raises reach these pages when they '
            'reload, not live. Set live.type = "postgres" for the live feed across processes.'
        )
    listen_host, listen_port = host or settings.web.host, port or settings.web.port
    # The running-node marker: CLI commands send their log and store work here meanwhile.
    url = loopback_url(listen_host, listen_port)
    try:
        with claim_for_serving(settings.workspace, url):
            if count > 1:
                runs = "the loops in this process" if run_all else "start `zhian worker` too"
                console.print(
                    f"Zhian listening on http://{listen_host}:{listen_port}/ ({count} web "
                    f"processes; {runs})"
                )
                serve_several(
                    settings,
                    listen_host,
                    listen_port,
                    count,
                    run_all=run_all,
                    on_ready=lambda _url: None,
                )
                return
            with Node.open(settings, role=role) as node:
                runs = (
                    "everything" if role is NodeRole.ALL else "the web (start `zhian worker` too)"
                )
                console.print(f"Zhian listening on http://{listen_host}:{listen_port}/ ({runs})")
                uvicorn.run(
                    create_app(node),
                    host=listen_host,
                    port=listen_port,
                    log_level="warning",
                    log_config=None,  # records go to configure_logging's handler
                )
    except EventLogError as error:
        error_console.print(f"Refusing to start: {error.message}", soft_wrap=True)
        raise typer.Exit(2) from None


def refuse_several_web_processes(settings: Settings, count: int) -> None:
    """Stop at start-up when more web processes are asked for than the log allows."""
    if count > 1 and settings.log.type != "nats":
        error_console.print(
            f"{count} web processes (--workers or web.workers) would each append to the "
            "event log, and the local log admits one writing process. Run one (--workers 1), "
            'or put the log on NATS JetStream (log.type = "nats", docs/deploy-scaled.md).'
        )
        raise typer.Exit(2)


def worker(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Run the background loops (store feeder, rules, SLA, webhooks, models, pushers,
    retention) beside a `zhian serve --web-only` of the same workspace."""
    import duckdb

    from zhian.worker.main import run_worker

    settings = settings_for(workspace)
    configure_logging(settings.logging.format, settings.logging.level)

    def ready(url: str) -> None:
        console.print(f"Zhian worker running (store queries for the web on {url})")

    try:
        run_worker(settings, on_ready=ready)
    except EventLogError as error:
        error_console.print(f"Refusing to start: {error.message}", soft_wrap=True)
        raise typer.Exit(2) from None
    except duckdb.IOException:
        # DuckDB admits one process per store file: a `serve --all` or another worker.
        error_console.print(
            f"The event store {settings.active_event_store_path} is held by another process (a "
            "`zhian serve --all` or another `zhian worker` on this workspace). A worker runs "
            "beside `zhian serve --web-only`; stop the other process first."
        )
        raise typer.Exit(2) from None


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
