"""One clear line instead of a traceback for the faults an operator must fix by hand.

A damaged SQLite file or a missing or wrong key ring is not a bug in Zhian: the operator
needs what is wrong and what to do, on one line, and exit status 2 (like a usage error).
Caught once, around every command, so no command has to remember it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy.exc
import typer
from typer._click import Context  # Typer vendors Click; its groups take this Context
from typer.core import TyperGroup

from zhian.errors import ConfigurationError
from zhian.governance.crypto import DecryptionError

EXIT_OPERATOR_FAULT = 2


def operator_message(exc: BaseException) -> str | None:
    """The line to print for a fault the operator must fix, or None for any other error."""
    if isinstance(exc, sqlalchemy.exc.DatabaseError) and _is_damaged_sqlite(exc.orig):
        return (
            f"the workspace's SQLite database is damaged ({exc.orig}); stop the node and "
            "restore zhian.db from a backup: Zhian does not repair it"
        )
    if isinstance(exc, DecryptionError):
        return (
            f"sealed data cannot be opened with this key ring ({exc}); restore the key ring "
            "this workspace was sealed with (keys/zhian-keys.json or its environment variable)"
        )
    if isinstance(exc, ConfigurationError):  # the key ring's own errors among them
        return str(exc)
    return None


def _is_damaged_sqlite(cause: BaseException | None) -> bool:
    # Exactly sqlite3.DatabaseError ("file is not a database", "database disk image is
    # malformed"); its subclass OperationalError ("database is locked") is no damage.
    return type(cause) is sqlite3.DatabaseError


class ClearErrorsGroup(TyperGroup):
    """The top-level command group: every subcommand runs inside its `invoke`."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            message = operator_message(exc)
            if message is None:
                raise
            typer.echo(f"zhian: {message}", err=True)
            raise typer.Exit(EXIT_OPERATOR_FAULT) from None
