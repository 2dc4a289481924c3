"""The commands of the `zhian` app, as paths, for tests that must cover each of them."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.core import TyperGroup

from zhian.cli.main import app

CommandPath = tuple[str, ...]


def app_commands() -> set[CommandPath]:
    """Every runnable command path of the app, e.g. ("quarantine", "list")."""

    def walk(command: object, prefix: CommandPath) -> set[CommandPath]:
        if isinstance(command, TyperGroup):
            # A group that runs by itself (`eval`, besides `eval crowd`) is a command too.
            own = {prefix} if command.invoke_without_command and prefix else set()
            return own | {
                path
                for name, sub in command.commands.items()
                for path in walk(sub, (*prefix, name))
            }
        return {prefix}

    return walk(typer.main.get_command(app), ())


def documented_commands(page: Path) -> set[CommandPath]:
    """The command paths named in the first column of the page's tables: `users create/list`
    stands for ("users", "create") and ("users", "list")."""
    paths: set[CommandPath] = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        for named in re.findall(r"`([^`]+)`", line.split("|")[1]):
            *group, last = named.split()
            paths.update((*group, sub) for sub in last.split("/"))
    return paths
