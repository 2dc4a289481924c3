"""`zhian users`, `zhian tokens` and `zhian docs permissions`: accounts and API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhian.access.permissions import permissions_markdown
from zhian.access.roles import Role
from zhian.access.service import AccessService
from zhian.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    console,
    error_console,
    settings_for,
)
from zhian.config import Settings
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade_url
from zhian.errors import ZhianError
from zhian.kit.clock import SystemClock
from zhian.web.sessions import check_secret_key

users_app = typer.Typer(
    help="User accounts: create, list, set a password, disable.", no_args_is_help=True
)
tokens_app = typer.Typer(
    help="API tokens for integrations: issue, list, revoke.", no_args_is_help=True
)


@contextmanager
def _service(workspace: Path) -> Iterator[AccessService]:
    """An access service on the workspace's database; commits when the command succeeds."""
    settings = settings_for(workspace)
    upgrade_url(settings.database_url)
    database = Database(make_engine(settings.database_url))
    try:
        with database.session() as session:
            yield AccessService(session)
    except ZhianError as error:
        field = f" ({error.field})" if error.field else ""
        error_console.print(f"[red]Refused{field}:[/] {error.message}")
        raise typer.Exit(code=1) from None
    finally:
        database.dispose()


@users_app.command("create")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, '_.@-').")],
    role: Annotated[Role, typer.Option(help="What the user does; see docs/permissions.md.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="ZHIAN_NEW_PASSWORD",
            help="Asked for when not given (or set ZHIAN_NEW_PASSWORD).",
        ),
    ],
    jurisdiction: Annotated[
        str | None, typer.Option(help="Jurisdiction id the user serves (not for admins).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Create an active user."""
    with _service(workspace) as service:
        user = service.create_user(
            username,
            password,
            role=role,
            jurisdiction_id=jurisdiction,
            display_name=name,
            now=SystemClock().now(),
        )
    console.print(f"Created user [bold]{user.username}[/] ({user.role.value}).")


@users_app.command("list")
def list_users(workspace: WorkspaceOption = DEFAULT_WORKSPACE) -> None:
    """List users with their role, jurisdiction and state."""
    with _service(workspace) as service:
        users = service.list_users()
    table = Table("username", "name", "role", "jurisdiction", "active")
    for user in users:
        table.add_row(
            user.username,
            user.display_name,
            user.role.value,
            user.jurisdiction_id or "-",
            "yes" if user.is_active else "no",
        )
    console.print(table)


@users_app.command("disable")
def disable_user(
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Disable a user: their sessions and API tokens stop working at once."""
    with _service(workspace) as service:
        user = service.set_active(username, False, now=SystemClock().now())
    console.print(f"Disabled user [bold]{user.username}[/].")


@users_app.command("password")
def set_password(
    username: Annotated[str, typer.Argument(help="The user whose password changes.")],
    password: Annotated[
        str,
        typer.Option(
            prompt="New password",
            hide_input=True,
            confirmation_prompt=True,
            envvar="ZHIAN_NEW_PASSWORD",
            help="Asked for when not given (or set ZHIAN_NEW_PASSWORD).",
        ),
    ],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Set a new password; every session of the user ends (they sign in again)."""
    with _service(workspace) as service:
        user = service.change_password(username, password, now=SystemClock().now())
    console.print(f"New password set for [bold]{user.username}[/]; their sessions ended.")


@tokens_app.command("issue")
def issue_token(
    owner: Annotated[str, typer.Argument(help="Username the token acts for.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'vendor-x sync'.")],
    days: Annotated[int, typer.Option(min=1, help="Lifetime in days.")] = 90,
    permission: Annotated[
        list[str] | None,
        typer.Option(
            "--permission",
            help="Narrow the token to these permissions (repeatable; default: the role's).",
        ),
    ] = None,
    jurisdiction: Annotated[
        str | None, typer.Option(help="A jurisdiction inside the owner's (default: theirs).")
    ] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Issue an API token; it is printed once and cannot be shown again."""
    max_days = settings_for(workspace).web.api_token_max_days
    with _service(workspace) as service:
        token = service.issue_api_token(
            owner,
            name,
            now=SystemClock().now(),
            days=days,
            max_days=max_days,
            permissions=permission or (),
            jurisdiction_id=jurisdiction,
        )
    console.print("API token (shown once; send it as 'Authorization: Bearer <token>'):")
    typer.echo(token)


@tokens_app.command("list")
def list_tokens(
    owner: Annotated[str | None, typer.Option(help="Only this user's tokens.")] = None,
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """List API tokens (never the tokens themselves)."""
    with _service(workspace) as service:
        tokens = service.list_api_tokens(owner=owner)
    table = Table("id", "name", "owner", "role", "jurisdiction", "expires", "revoked", "last used")
    for token in tokens:
        table.add_row(
            str(token.id),
            token.name,
            str(token.owner_id),
            token.role.value,
            token.jurisdiction_id or "-",
            token.expires_at.strftime("%Y-%m-%d %H:%M"),
            token.revoked_at.strftime("%Y-%m-%d %H:%M") if token.revoked_at else "-",
            token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "-",
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="Id from `zhian tokens list`.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Revoke an API token at once."""
    with _service(workspace) as service:
        token = service.revoke_api_token(token_id, now=SystemClock().now())
    console.print(f"Revoked API token {token.id} ({token.name}).")


def docs_permissions(
    out: Annotated[Path, typer.Option(help="Where to write the Markdown.")] = Path(
        "docs/permissions.md"
    ),
) -> None:
    """Write the permission table (docs/permissions.md)."""
    out.write_text(permissions_markdown(), encoding="utf-8")
    console.print(f"Wrote {out}")


def refuse_weak_secret(settings: Settings) -> None:
    """Stop `zhian serve` when web.secret_key is empty or short, saying how to set it."""
    try:
        check_secret_key(settings)
    except ZhianError as error:
        error_console.print(f"[red]Refusing to start:[/] {error.message}")
        raise typer.Exit(code=2) from None
