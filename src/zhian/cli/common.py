"""Options and helpers every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from zhian.config import Settings, load_settings

console = Console()
error_console = Console(stderr=True)

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="ZHIAN_WORKSPACE",
        help="Folder that holds this node's data and zhian.toml.",
    ),
]
DEFAULT_WORKSPACE = Path("workspace")


def settings_for(workspace: Path) -> Settings:
    return load_settings(workspace)


def progress_bar() -> Progress:
    """A Rich progress bar with a rate column, for every long operation."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
