"""The `zhian` command."""

from __future__ import annotations

import typer

from zhian import __version__
from zhian.cli import (
    access,
    cases,
    demo,
    devices,
    eval_hotspots,
    ferry,
    governance,
    incidents,
    intake,
    node_commands,
    quarantine,
    utilities,
)
from zhian.cli import eval as eval_commands
from zhian.cli import watchlist as watchlist_commands
from zhian.cli import webhooks as webhook_commands
from zhian.cli.cascade_commands import app as cascade_app
from zhian.cli.clear_errors import ClearErrorsGroup
from zhian.cli.log_commands import app as log_app
from zhian.cli.model_commands import app as models_app
from zhian.cli.registry import import_master_data
from zhian.cli.registry_export import app as registry_app
from zhian.cli.simulate import simulate
from zhian.kit.private_files import create_owner_only

app = typer.Typer(
    name="zhian",
    help="Zhian 治安: an open platform for community public safety.",
    no_args_is_help=True,
    add_completion=False,
    cls=ClearErrorsGroup,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"zhian {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Collect security-device events, turn them into warnings, close the loop."""
    # Every command may write into a workspace (databases, exports, key rings): for this
    # user alone, like the node itself writes.
    create_owner_only()


app.command("init")(node_commands.init)
app.command("migrate")(node_commands.migrate)
app.command("serve")(node_commands.serve)
app.command("worker")(node_commands.worker)
app.command("demo")(demo.demo)
app.command("simulate")(simulate)
eval_commands.app.command("hotspots")(eval_hotspots.eval_hotspots)
app.add_typer(eval_commands.app, name="eval")
app.command("import")(import_master_data)
app.command("import-utilities")(utilities.import_utilities)
app.command("ingest")(intake.ingest)
app.add_typer(devices.app, name="devices")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(log_app, name="log")
app.add_typer(cascade_app, name="cascade")
app.add_typer(watchlist_commands.app, name="watchlist")
app.add_typer(cases.app, name="cases")
app.add_typer(incidents.app, name="incidents")
app.add_typer(models_app, name="models")
app.add_typer(webhook_commands.app, name="webhooks")
app.add_typer(registry_app, name="registry")
app.add_typer(ferry.app, name="ferry")
app.add_typer(node_commands.docs_app, name="docs")
app.add_typer(access.users_app, name="users")
app.add_typer(access.tokens_app, name="tokens")
node_commands.docs_app.command("permissions")(access.docs_permissions)
app.add_typer(governance.keys_app, name="keys")
app.add_typer(governance.audit_app, name="audit")
app.add_typer(governance.retention_app, name="retention")
app.add_typer(governance.quality_app, name="quality")
