"""docs/cli.md says, for every command, what it does while a node runs."""

from __future__ import annotations

from pathlib import Path

from tests.cli.commands import app_commands, documented_commands

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_cli_page_names_every_command() -> None:
    documented = documented_commands(CLI_DOC)
    assert sorted(app_commands() - documented) == [], "describe each new command in docs/cli.md"
    assert sorted(documented - app_commands()) == []
