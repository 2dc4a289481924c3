"""Options and helpers every command shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade
from zhian.governance.context import migration_identity

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


@contextmanager
def database(settings: Settings) -> Iterator[Database]:
    """The workspace's operational database alone, schema brought up to date. It is shared
    with a running node (SQLite waits for its lock), so commands that need no more than
    this work the same whether a node runs or not."""
    engine = make_engine(settings.database_url, echo=settings.database.echo)
    try:
        upgrade(engine, identity=migration_identity(settings.governance, settings.workspace))
        yield Database(engine)
    finally:
        engine.dispose()


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
