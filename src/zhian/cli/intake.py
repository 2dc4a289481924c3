"""`zhian ingest`: load event files through the same validation as the HTTP intake."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhian.cli.common import (
    DEFAULT_WORKSPACE,
    WorkspaceOption,
    console,
    progress_bar,
    settings_for,
)
from zhian.cli.running import node_operations
from zhian.ingest.files import read_chunks


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="NDJSON (.ndjson/.jsonl) or CSV files.")],
    workspace: WorkspaceOption = DEFAULT_WORKSPACE,
) -> None:
    """Load event files; refused lines go to the quarantine with their reasons.

    Sent to the node when one runs on the workspace, else loaded here."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        console.print(f"[red]No such file: {', '.join(missing)}")
        raise typer.Exit(2)
    settings = settings_for(workspace)
    table = Table("file", "accepted", "duplicate", "rejected")
    rejected_total = 0
    with node_operations(workspace) as node, progress_bar() as progress:
        refresh_directory = True  # devices imported just before are known to the intake
        for path in paths:
            task = progress.add_task(path.name, total=path.stat().st_size, rate="")
            counts = [0, 0, 0]
            started = time.perf_counter()
            for chunk in read_chunks(path, chunk_items=settings.intake.max_batch_items):
                result = node.ingest(chunk.items, refresh_directory=refresh_directory)
                refresh_directory = False
                counts[0] += result.accepted
                counts[1] += result.duplicate
                counts[2] += result.rejected
                elapsed = max(time.perf_counter() - started, 1e-9)
                progress.update(
                    task, completed=chunk.bytes_read, rate=f"{sum(counts) / elapsed:,.0f} ev/s"
                )
            table.add_row(path.name, *(f"{n:,}" for n in counts))
            rejected_total += counts[2]
        node.wait_stored(timeout_seconds=120)
    console.print(table)
    if rejected_total:
        console.print(f"[yellow]{rejected_total:,} events refused; see `zhian quarantine list`.")
