"""`zhian eval`: the batch models against the simulator's ground truth."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from zhian.cli.common import console
from zhian.evaluation import crowd as crowd_eval
from zhian.evaluation.models import ModelScore, evaluate

# The bar of issue #6, for every model on the standard scenarios.
BAR = 0.95
# ... and for the crowd warning in the temple-fair scenario: minutes before the crossing.
CROWD_LEAD_BAR = 10.0


def eval_models(
    seeds: Annotated[int, typer.Option(min=1, help="Simulator seeds 1..N to run.")] = 5,
    days: Annotated[int, typer.Option(min=1, help="Simulated days per seed.")] = 30,
    scale: Annotated[float, typer.Option(min=0.05, help="District size (1 = a pilot).")] = 0.5,
    step_hours: Annotated[
        float, typer.Option(min=0.5, help="Simulated hours between model runs.")
    ] = 6.0,
    crowd: Annotated[
        bool, typer.Option(help="Also run the temple-fair day through the crowd rule per seed.")
    ] = True,
) -> None:
    """Run the standard scenarios through the models; print precision, recall and
    time to detect per model. Exits 1 when a model is below the bar (0.95)."""
    with console.status(f"Simulating and evaluating {seeds} seed(s) of {days} days…"):
        scores = evaluate(list(range(1, seeds + 1)), days=days, scale=scale, step_hours=step_hours)
    console.print(_table(scores, seeds, days, scale))
    for line in _candidate_lines(scores):
        console.print(line)
    below = [s.model for s in scores.values() if s.precision < BAR or s.recall < BAR]
    if crowd:
        leads: dict[int, crowd_eval.CrowdEvalResult] = {}
        for seed in range(1, seeds + 1):
            with console.status(f"Temple-fair day through the crowd rule, seed {seed}…"):
                leads[seed] = crowd_eval.evaluate(seed)
        console.print(_crowd_table(leads))
        if any(not _crowd_ok(r) for r in leads.values()):
            below.append("crowd")
    if below:
        console.print(f"[red]Below the bar ({BAR}): {', '.join(below)}")
        raise typer.Exit(1)
    console.print(f"[green]Every model at or above the bar ({BAR}).")


def _candidate_lines(scores: dict[str, ModelScore]) -> list[str]:
    """Registry candidates by face, for the models that offer them (issue #6)."""
    lines = []
    for s in scores.values():
        hit, false = s.top3_hit_rate, s.false_candidate_rate
        if hit is None and false is None:
            continue
        lines.append(
            f"{s.model} · registry candidates: top-3 hit rate "
            f"{'–' if hit is None else f'{hit:.3f}'} ({s.candidate_hits}/{s.candidate_cases} "
            f"registered elsewhere, {s.candidate_linked} with linked captures); offered for "
            f"people in no registry entry {'–' if false is None else f'{false:.3f}'} "
            f"({s.no_entry_offered}/{s.no_entry_cases})"
        )
    return lines


def _crowd_ok(result: crowd_eval.CrowdEvalResult) -> bool:
    lead = result.min_lead_minutes
    return bool(result.crossings) and lead is not None and lead >= CROWD_LEAD_BAR


def _crowd_table(results: dict[int, crowd_eval.CrowdEvalResult]) -> Table:
    table = Table(
        title="Crowd warning · temple fair · lead before 1.5 persons/m² "
        f"(bar ≥ {CROWD_LEAD_BAR:g} min)"
    )
    for column in ("seed", "zones crossing", "least lead", "per zone", "false warnings"):
        table.add_column(column, justify="left" if column == "per zone" else "right")
    for seed, r in results.items():
        lead = r.min_lead_minutes
        zones = ", ".join(
            f"{z} {'missed' if v is None else f'{v:.0f} min'}"
            for z, v in sorted(r.lead_minutes_per_zone.items())
        )
        table.add_row(
            str(seed),
            str(len(r.crossings)),
            "missed" if lead is None else f"{lead:.0f} min",
            zones or "–",
            str(len(r.false_warnings)),
        )
    return table


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
