"""`zhian webhooks`: outbound webhook subscriptions (add, list, remove); docs/webhooks.md.

The secret is read from an environment variable (`--secret-env`), never from the command
line, so it stays out of shell history and process lists.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from zhian.alerts.webhooks import WebhookService
from zhian.audit.service import Actor
from zhian.cli.common import DEFAULT_WORKSPACE, WorkspaceOption, console, error_console
from zhian.config import Settings, load_settings
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade
from zhian.errors import BadRequestError, ZhianError
from zhian.governance.context import Governance, migration_identity
from zhian.kit.clock import SystemClock

app = typer.Typer(help="Outbound webhooks (signed with HMAC-SHA256).", no_args_is_help=True)

CLI_ACTOR = Actor.system("cli")
# Live-feed message types a subscription may name (docs/dev/alerts-api.md, LiveFeed).
MESSAGE_TYPES = (
    "alert.created",
    "alert.updated",
    "alert.transition",
    "alert.warning",
    "alert.breached",
    "procedure.skipped",
    "incident.updated",
    # An archived report file (docs/reports.md): sent only to subscriptions naming it.
    "report.archived",
)
_ALERT_KIND = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def expand_events(events: list[str]) -> list[str] | None:
    """The subscription's kinds: message types, `<prefix>.*` patterns over them, or alert
    kinds (`alarm_fire`). None (every message) when nothing is named."""
    kinds: list[str] = []
    for raw in events:
        for event in (part.strip() for part in raw.split(",")):
            if not event:
                continue
            if event == "*":
                return None
            if event.endswith(".*"):
                prefix = event[:-1]
                found = [name for name in MESSAGE_TYPES if name.startswith(prefix)]
                if not found:
                    raise BadRequestError(
                        f"'{event}' matches no message type; types: {', '.join(MESSAGE_TYPES)}",
                        field="events",
                    )
            elif event in MESSAGE_TYPES or _ALERT_KIND.match(event):
                found = [event]
            else:
                raise BadRequestError(
                    f"'{event}' is neither a message type ({', '.join(MESSAGE_TYPES)}), "
                    "a pattern like alert.*, nor an alert kind like alarm_fire",
                    field="events",
                )
            kinds.extend(name for name in found if name not in kinds)
    return kinds or None


@contextmanager
def _service(settings: Settings) -> Iterator[tuple[WebhookService, Governance]]:
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    clock = SystemClock()
    try:
        upgrade(engine, identity=migration_identity(settings.governance, settings.workspace))
        with Database(engine).session() as session:
            governance = Governance.load(settings.governance, settings.workspace, clock)
            cipher = None if governance.sealer is None else governance.sealer.cipher
            service = WebhookService(session, clock=clock, settings=settings.alerts, cipher=cipher)
            yield service, governance
    finally:
        engine.dispose()


def _fail(error: ZhianError) -> typer.Exit:
    error_console.print(f"[bold red]{error.field or 'error'}:[/bold red] {error.message}")
    return typer.Exit(2)


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The receiver: an http:// or https:// address.")],
    secret_env: Annotated[
        str,
        typer.Option(
            "--secret-env", help="Environment variable holding the HMAC secret (16-200 chars)."
        ),
    ],
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            help="Message types (alert.created), patterns (alert.*) or alert kinds "
            "(alarm_fire); repeatable or comma-separated. Default: every message.",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Subscribe a receiver to the live messages; each delivery is signed and retried."""
    settings = load_settings(workspace)
    secret = os.environ.get(secret_env, "")
    try:
        if not secret:
            raise BadRequestError(
                f"environment variable '{secret_env}' is not set or empty", field="secret_env"
            )
        kinds = expand_events(events or [])
        with _service(settings) as (service, governance):
            created = service.subscribe(url, secret, kinds)
            governance.audit(service.repository.session).record(
                CLI_ACTOR,
                "webhook.subscribe",
                record_type="webhook_subscription",
                record_ids=[str(created.id)],
                details={"url": url, "kinds": kinds},
            )
    except ZhianError as error:
        raise _fail(error) from None
    shown = ", ".join(created.kinds) if created.kinds else "every message"
    console.print(f"Subscription {created.id}: {created.url} ({shown}).")


@app.command("list")
def list_subscriptions(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """Every subscription with its state (secrets are never shown)."""
    settings = load_settings(workspace)
    with _service(settings) as (service, _governance):
        rows = service.list_subscriptions()
    # One line per subscription (a table would wrap the addresses).
    for row in rows:
        events = ",".join(row.kinds) if row.kinds else "*"
        state = "active" if row.is_active else "removed"
        created = row.created_at.isoformat(timespec="seconds")
        console.print(f"{row.id}\t{state}\t{row.url}\t{events}\t{created}", soft_wrap=True)
    console.print(f"{len(rows)} subscriptions.")


@app.command("remove")
def remove(
    subscription_id: Annotated[int, typer.Argument(help="The subscription's id (see list).")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Stop delivering to a subscription; pending deliveries to it are given up."""
    settings = load_settings(workspace)
    try:
        with _service(settings) as (service, governance):
            service.deactivate(subscription_id)
            governance.audit(service.repository.session).record(
                CLI_ACTOR,
                "webhook.remove",
                record_type="webhook_subscription",
                record_ids=[str(subscription_id)],
            )
    except ZhianError as error:
        raise _fail(error) from None
    console.print(f"Subscription {subscription_id} removed.")
