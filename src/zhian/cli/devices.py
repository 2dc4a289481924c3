"""`zhian devices`: what an integrator does to put devices on a node, from the console.

List devices, register them in bulk, disable or enable one, issue or rotate a device's
intake token, set its GA/T 1400 (VIID) Digest password, and test its connection. Changes
work on the database as a named user (`--user`, who must hold `devices.manage`: an
integrator or an admin; `list` needs `devices.view`), within that user's jurisdiction and
audited under their name. While a node serves the workspace the changes go to the shared
database and the node is told to reload its devices through its control API; `test` asks
the node itself (it knows the live sessions and what arrived).
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService, UserRead, normalise_username
from zhian.audit.service import Actor
from zhian.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    console,
    database,
    error_console,
    settings_for,
)
from zhian.cli.registry import ERRORS_SHOWN
from zhian.cli.running import node_operations, tell_running_node
from zhian.config import Settings
from zhian.devices.models import DeviceKind
from zhian.devices.service import BulkRegistration, DeviceService
from zhian.errors import NotFoundError, ZhianError
from zhian.governance.context import Governance
from zhian.ingest.viid.service import store_password
from zhian.kit.clock import SystemClock
from zhian.kit.tables import open_sheets
from zhian.node_operations import DeviceCheck
from zhian.registry.service import check_header

app = typer.Typer(
    help="Devices: list, register in bulk, enable or disable, intake tokens, GA/T 1400 "
    "passwords, connection test.",
    no_args_is_help=True,
)

MANAGE = "devices.manage"
VIEW = "devices.view"
# A generated GA/T 1400 password: 18 random bytes, 24 URL-safe characters.
GENERATED_PASSWORD_BYTES = 18
UserOption = Annotated[
    str,
    typer.Option(
        "--user", "-u", help="Act as this user (integrator or admin): their jurisdiction, audited."
    ),
]
DeviceIdArgument = Annotated[str, typer.Argument(help="The device's id.", show_default=False)]


class Acting:
    """The user a command acts as, with their scope, in the command's transaction."""

    def __init__(self, session: Session, settings: Settings, user: UserRead) -> None:
        self.session = session
        self.user = user
        self.scope: JurisdictionScope = AccessService(session).scope_for(user)
        self._audit = Governance.load(settings.governance, settings.workspace, SystemClock()).audit(
            session
        )

    def audit(self, action: str, device_ids: list[str], details: dict[str, Any]) -> None:
        self._audit.record(
            Actor.user(self.user.id),
            action,
            record_type="device",
            record_ids=device_ids,
            details={**details, "via": "cli"},
        )


def _refuse(field: str, message: str, code: int = 2) -> typer.Exit:
    error_console.print(f"[bold red]{field}:[/bold red] {message}", soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def _acting(workspace: Path, username: str, permission: str) -> Iterator[Acting]:
    """A transaction on the workspace's database as `username`, who must hold `permission`;
    commits when the block ends cleanly, and a refusal ends the command in one line."""
    settings = settings_for(workspace)
    try:
        with database(settings) as db, db.session() as session:
            wanted = normalise_username(username)
            users = AccessService(session).list_users()
            user = next((u for u in users if u.username == wanted), None)
            if user is None or not user.is_active:
                raise _refuse("user", f"no active user '{username}'")
            if not user.can(permission):
                raise _refuse(
                    "permission",
                    f"role '{user.role}' of '{user.username}' does not hold '{permission}' "
                    "(integrators and admins do; docs/permissions.md)",
                )
            yield Acting(session, settings, user)
    except ZhianError as error:
        raise _refuse(error.field or "error", error.message) from None


def _visible(acting: Acting, device_id: str) -> None:
    """Refuse a device the user cannot see, without saying whether it exists elsewhere."""
    if DeviceService(acting.session).get_device(device_id, scope=acting.scope) is None:
        raise NotFoundError(f"no device '{device_id}' in your jurisdiction", field="device_id")


def _registration_report(source: str, report: BulkRegistration) -> None:
    if report.errors:
        shown = report.errors[:ERRORS_SHOWN]
        more = len(report.errors) - len(shown)
        table = Table(
            "row",
            "column",
            "reason",
            title=f"Refused rows in {source}",
            caption=f"… and {more} more" if more > 0 else None,
        )
        for error in shown:
            table.add_row(str(error.row), error.column, error.reason)
        console.print(table)
    console.print(
        f"{source}: {len(report.registered)} devices registered, {report.rejected} rows refused."
    )


def _write_tokens(path: Path, tokens: dict[str, str]) -> None:
    # The command's umask keeps the file for this user alone (zhian.kit.private_files).
    with path.open("x", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["device_id", "token"])
        writer.writerows(tokens.items())


@app.command("register")
def register_devices(
    path: Annotated[
        Path, typer.Argument(help="A .csv or .xlsx file of devices, header row first.")
    ],
    user: UserOption,
    tokens_out: Annotated[
        Path | None,
        typer.Option(
            "--tokens-out",
            help="Also issue an intake token to each registered device, written to this new "
            "CSV file (device_id, token; readable by you alone).",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Register devices in bulk; refused rows are listed (row, column, reason), the rest
    registered. A device already registered is refused, never overwritten.

    Columns as in `zhian import devices.csv` (docs/master-data.md): id, kind, name,
    community_id, latitude, longitude, and optionally building_id, unit_id, house_id,
    zone_id, gateway_id, is_enabled. Exit status 1 when any row was refused.
    """
    if tokens_out is not None and tokens_out.exists():
        raise _refuse("tokens-out", f"{tokens_out} exists; name a new file")
    tokens: dict[str, str] = {}
    with _acting(workspace, user, MANAGE) as acting:
        [sheet] = open_sheets(path)
        check_header("devices", sheet.columns)
        service = DeviceService(acting.session)
        report = service.register_rows(sheet.rows(), scope=acting.scope)
        if report.registered and tokens_out is not None:
            tokens = service.issue_tokens(report.registered, now=SystemClock().now())
            _write_tokens(tokens_out, tokens)
        acting.audit(
            "device.register",
            report.registered,
            {"file": path.name, "rejected": report.rejected, "tokens_issued": len(tokens)},
        )
    _registration_report(sheet.source, report)
    if tokens:
        console.print(f"{len(tokens)} intake tokens written to {tokens_out} (shown nowhere else).")
    if report.registered:
        tell_running_node(workspace)
    if report.rejected:
        raise typer.Exit(1)


@app.command("token")
def issue_token(
    device_id: DeviceIdArgument,
    user: UserOption,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate", help="Replace the device's token; the old one stops working at once."
        ),
    ] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Issue the device's intake token (`--rotate` to replace one); printed once.

    The device sends it as `Authorization: Bearer <token>` to the native intake API.
    """
    with _acting(workspace, user, MANAGE) as acting:
        _visible(acting, device_id)
        service = DeviceService(acting.session)
        device = service.get_device(device_id, scope=acting.scope)
        if device is not None and device.has_token and not rotate:
            raise _refuse(
                "device_id",
                f"device '{device_id}' holds a token (issued {_when(device.token_issued_at)}); "
                "add --rotate to replace it",
                code=1,
            )
        token = service.issue_token(device_id, now=SystemClock().now())
        rotated = device is not None and device.has_token
        acting.audit("device.token_issue", [device_id], {"rotated": rotated})
    tell_running_node(workspace)
    if rotated:
        console.print(f"New token for {device_id}; the previous one no longer works.")
    console.print("Intake token (shown once; send it as 'Authorization: Bearer <token>'):")
    typer.echo(token)


@app.command("viid-password")
def set_viid_password(
    device_id: DeviceIdArgument,
    user: UserOption,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="ZHIAN_VIID_PASSWORD",
            help="The Digest password (8 to 128 characters; or set ZHIAN_VIID_PASSWORD). "
            "Without it one is generated and printed once.",
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Set the device's GA/T 1400 (VIID) Digest password; only its HA1 is kept.

    The device's id must be its 20-digit GA/T 1400 device ID, which is also the Digest
    user name. A running node takes the new password at the device's next registration.
    """
    generated = password is None
    secret = password or secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    with _acting(workspace, user, MANAGE) as acting:
        _visible(acting, device_id)
        settings = settings_for(workspace)
        store_password(
            acting.session,
            device_id,
            secret,
            realm=settings.viid.realm,
            now=SystemClock().now(),
        )
        acting.audit("device.viid_password_set", [device_id], {"generated": generated})
    console.print(
        f"GA/T 1400 password set for {device_id} (user name {device_id}, realm "
        f"'{settings.viid.realm}')."
    )
    if generated:
        console.print("Generated password (shown once):")
        typer.echo(secret)


class EnabledFilter(StrEnum):
    ALL = "all"
    ENABLED = "enabled"
    DISABLED = "disabled"


@app.command("list")
def list_devices(
    user: UserOption,
    community: Annotated[
        str | None, typer.Option(help="Only this community's devices (its id).")
    ] = None,
    kind: Annotated[
        DeviceKind | None, typer.Option(help="Only devices of this kind.", case_sensitive=False)
    ] = None,
    state: Annotated[
        EnabledFilter, typer.Option(help="Enabled, disabled or all devices.")
    ] = EnabledFilter.ALL,
    without_token: Annotated[
        bool, typer.Option("--without-token", help="Only devices that hold no intake token.")
    ] = False,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """List the devices in the user's jurisdiction as a table, with filters."""
    with _acting(workspace, user, VIEW) as acting:
        devices = DeviceService(acting.session).list_devices(
            community_id=community, scope=acting.scope
        )
    shown = [
        d
        for d in devices
        if (kind is None or d.kind == kind)
        and (state is EnabledFilter.ALL or d.is_enabled == (state is EnabledFilter.ENABLED))
        and not (without_token and d.has_token)
    ]
    table = Table("id", "kind", "name", "community", "enabled", "intake token", "gateway")
    for d in shown:
        table.add_row(
            d.id,
            str(d.kind),
            d.name,
            d.community_id or "-",
            "yes" if d.is_enabled else "no",
            f"issued {_when(d.token_issued_at)}" if d.has_token else "none",
            d.gateway_id or "-",
        )
    console.print(table)
    console.print(f"{len(shown)} of {len(devices)} devices in {user}'s jurisdiction.")


def _set_enabled(workspace: Path, user: str, device_id: str, enabled: bool) -> None:
    verb = "enable" if enabled else "disable"
    with _acting(workspace, user, MANAGE) as acting:
        _visible(acting, device_id)
        service = DeviceService(acting.session)
        device = service.get_device(device_id, scope=acting.scope)
        if device is not None and device.is_enabled == enabled:
            console.print(f"Device {device_id} is already {verb}d; nothing changed.")
            return
        service.set_enabled(device_id, enabled)
        acting.audit(f"device.{verb}", [device_id], {})
    # The running node reloads its devices at once: a disabled device is refused from now.
    tell_running_node(workspace)
    if enabled:
        console.print(f"Device {device_id} enabled: its events are accepted again.")
    else:
        console.print(
            f"Device {device_id} disabled: its events are refused (reason 'disabled_device', "
            "kept in the quarantine) until `zhian devices enable`."
        )


@app.command("disable")
def disable_device(
    device_id: DeviceIdArgument, user: UserOption, workspace: WorkspaceOption = DEFAULT_WORKSPACE
) -> None:
    """Disable a device: its intake is refused with a clear error, audited."""
    _set_enabled(workspace, user, device_id, enabled=False)


@app.command("enable")
def enable_device(
    device_id: DeviceIdArgument, user: UserOption, workspace: WorkspaceOption = DEFAULT_WORKSPACE
) -> None:
    """Enable a disabled device again, audited."""
    _set_enabled(workspace, user, device_id, enabled=True)


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone().isoformat(timespec="seconds")


def _check_lines(check: DeviceCheck) -> list[tuple[str, str]]:
    token = f"set, issued {_when(check.token_issued_at)}" if check.has_token else "not set"
    viid = (
        f"set for user {check.viid_username}, {_when(check.viid_password_set_at)}"
        if check.viid_username
        else "not set"
    )
    session = (
        f"registered since {_when(check.viid_session_since)}"
        if check.viid_session_since
        else "none"
    )
    rejected = (
        f"{_when(check.last_rejected_at)}: {check.last_rejected_reason}"
        if check.last_rejected_at
        else "none"
    )
    return [
        ("device", f"{check.device_id} ({check.kind}) {check.name}"),
        ("community", check.community_id or "-"),
        ("enabled", "yes" if check.is_enabled else "no: its events are refused"),
        ("known to the intake", "yes" if check.is_known_to_intake else "not yet (reloads soon)"),
        ("intake token", token),
        ("GA/T 1400 password", viid),
        ("GA/T 1400 session", session),
        ("last seen", _when(check.last_seen_at)),
        ("protocols (24 h)", ", ".join(check.protocols) or "nothing arrived"),
        ("last rejected input", rejected),
    ]


def _verdict(check: DeviceCheck) -> str | None:
    """What stops the device from sending, or None when nothing does."""
    if not check.is_enabled:
        return "the device is disabled"
    if not check.has_token and check.viid_username is None:
        return "no credentials: issue a token (`zhian devices token`) or a GA/T 1400 password"
    return None


@app.command("test")
def test_device(
    device_id: DeviceIdArgument,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", "-u", help="Only within this user's jurisdiction (default: any device)."
        ),
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Test a device's connection: credentials set, when it was last seen and through which
    protocol, a live GA/T 1400 session, its last rejected input.

    Exit status 1 when the device cannot send (disabled, or no credentials), 0 otherwise.
    """
    if user is not None:
        with _acting(workspace, user, VIEW) as acting:
            _visible(acting, device_id)
    with node_operations(workspace, feed=False) as operations:
        check = operations.device_check(device_id)
    # Plain lines: a reason may hold any characters, and a script may grep them.
    for name, value in _check_lines(check):
        typer.echo(f"{name + ':':<22}{value}")
    verdict = _verdict(check)
    if verdict is not None:
        console.print(f"[red]Cannot send:[/red] {verdict}.")
        raise typer.Exit(1)
    seen = "has sent" if check.last_seen_at else "has not sent anything yet"
    console.print(f"Ready: the device holds credentials and {seen}.")
