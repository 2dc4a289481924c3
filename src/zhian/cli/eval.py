"""`zhian eval`: the batch models against the simulator's ground truth."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhian.cli.common import console
from zhian.models.evaluation import ModelScore, evaluate

# The bar of issue #6, for every model on the standard scenarios.
BAR = 0.95


def eval_models(
    seeds: Annotated[int, typer.Option(min=1, help="Simulator seeds 1..N to run.")] = 5,
    days: Annotated[int, typer.Option(min=1, help="Simulated days per seed.")] = 30,
    scale: Annotated[float, typer.Option(min=0.05, help="District size (1 = a pilot).")] = 0.5,
    step_hours: Annotated[
        float, typer.Option(min=0.5, help="Simulated hours between model runs.")
    ] = 6.0,
) -> None:
    """Run the standard scenarios through the models; print precision, recall and
    time to detect per model. Exits 1 when a model is below the bar (0.95)."""
    with console.status(f"Simulating and evaluating {seeds} seed(s) of {days} days…"):
        scores = evaluate(list(range(1, seeds + 1)), days=days, scale=scale, step_hours=step_hours)
    console.print(_table(scores, seeds, days, scale))
    below = [s.model for s in scores.values() if s.precision < BAR or s.recall < BAR]
    if below:
        console.print(f"[red]Below the bar ({BAR}): {', '.join(below)}")
        raise typer.Exit(1)
    console.print(f"[green]Every model at or above the bar ({BAR}).")


def _table(scores: dict[str, ModelScore], seeds: int, days: int, scale: float) -> Table:
    table = Table(title=f"Batch models · {seeds} seeds × {days} days · scale {scale}")
    for column in ("model", "alerts", "planted", "precision", "recall", "median time to detect"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for s in scores.values():
        delay = s.median_delay_hours
        table.add_row(
            s.model,
            str(s.alerts),
            str(s.planted),
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
            "–" if delay is None else f"{delay:.1f} h",
        )
    return table
