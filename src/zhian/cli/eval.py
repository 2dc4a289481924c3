"""`zhian eval`: the batch models against the simulator's ground truth; `zhian eval crowd`:
the crowd forecast against a city's published counts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhian.cases.facts import TimeOfDayClasses
from zhian.cases.importer import CaseMapping, read_case_facts
from zhian.cases.linkage import Blocking, LinkageEvaluation
from zhian.cases.linkage import evaluate as evaluate_linkage
from zhian.cases.settings import CaseSettings
from zhian.cli.common import console
from zhian.config import CrowdSettings
from zhian.errors import BadRequestError
from zhian.evaluation import crowd as crowd_eval
from zhian.evaluation import crowd_counts
from zhian.evaluation.models import ModelScore, evaluate
from zhian.rules.crowd import CrowdConfig
from zhian.sim.hard import COUNTING_LINE_FAILURE, DIFFICULTIES, WEDDING_CROWD

# The bar of issue #6, for every model on the standard scenarios.
BAR = 0.95
# ... and for the crowd warning in the temple-fair scenario: minutes before the crossing.
CROWD_LEAD_BAR = 10.0


app = typer.Typer(
    help="Evaluate the models and the crowd forecast.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def eval_models(
    ctx: typer.Context,
    seeds: Annotated[int, typer.Option(min=1, help="Simulator seeds 1..N to run.")] = 5,
    days: Annotated[int, typer.Option(min=1, help="Simulated days per seed.")] = 30,
    scale: Annotated[float, typer.Option(min=0.05, help="District size (1 = a pilot).")] = 0.5,
    step_hours: Annotated[
        float, typer.Option(min=0.5, help="Simulated hours between model runs.")
    ] = 6.0,
    crowd: Annotated[
        bool, typer.Option(help="Also run the temple-fair day through the crowd rule per seed.")
    ] = True,
    difficulty: Annotated[
        str,
        typer.Option(
            help="hard: the field's noise, drawn parameters, faulty devices; or standard."
        ),
    ] = "hard",
) -> None:
    """Run the simulator's scenarios (the hard simulator by default) through the models;
    print precision and recall with 95 % intervals, time to detect (median, p90) and what
    defeats each model. Exits 1 when a model is below the bar (0.95).
    `zhian eval crowd COUNTS_FILE` scores the crowd forecast on a city's counts instead."""
    if ctx.invoked_subcommand is not None:
        return
    if difficulty not in DIFFICULTIES:
        raise typer.BadParameter(
            f"'{difficulty}' is not one of {', '.join(DIFFICULTIES)}", param_hint="--difficulty"
        )
    with console.status(f"Simulating and evaluating {seeds} seed(s) of {days} days…"):
        scores = evaluate(
            list(range(1, seeds + 1)),
            days=days,
            scale=scale,
            step_hours=step_hours,
            difficulty=difficulty,
        )
    console.print(_table(scores, seeds, days, scale, difficulty))
    for line in _candidate_lines(scores) + _defeat_lines(scores):
        console.print(line)
    below = [s.model for s in scores.values() if s.precision < BAR or s.recall < BAR]
    if crowd:
        leads: dict[int, crowd_eval.CrowdEvalResult] = {}
        for seed in range(1, seeds + 1):
            with console.status(f"Temple-fair day through the crowd rule, seed {seed}…"):
                leads[seed] = crowd_eval.evaluate(seed, difficulty=difficulty)
        console.print(_crowd_table(leads))
        if any(not _crowd_ok(r) for r in leads.values()):
            below.append("crowd")
    if below:
        console.print(f"[red]Below the bar ({BAR}): {', '.join(below)}")
        raise typer.Exit(1)
    console.print(f"[green]Every model at or above the bar ({BAR}).")


@app.command("crowd")
def eval_crowd(
    counts_file: Annotated[
        Path, typer.Argument(help="CSV or .xlsx of counts: (sensor, time, count) rows, or wide.")
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(help="TOML naming the columns and layout (docs/crowd.md)."),
    ] = None,
    horizon: Annotated[
        list[int] | None,
        typer.Option(min=1, help="Horizon in minutes (repeat); default [crowd] horizons_minutes."),
    ] = None,
    sensor: Annotated[
        list[str] | None, typer.Option(help="Score only this sensor (repeat).")
    ] = None,
) -> None:
    """Run the production crowd forecaster with a rolling origin over published counts;
    print WAPE and MAE per horizon beside persistence, the same hour last week and the
    4-week same-hour mean."""
    settings = CrowdSettings()
    try:
        layout = crowd_counts.Mapping.load(mapping)
        with console.status(f"Reading {counts_file}…"):
            series = crowd_counts.read_counts(counts_file, layout, sensors=sensor or ())
    except BadRequestError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    if series.rejected_rows:
        console.print(f"[yellow]{series.rejected_rows} row(s) with unreadable values left out:")
        for line in series.rejected[:5]:
            console.print(f"  {line}")
    if not series.readings:
        console.print("[red]No readings to score.")
        raise typer.Exit(2)
    config = crowd_counts.with_holidays(CrowdConfig.from_settings(settings), layout.holidays)
    horizons = horizon or settings.horizons_minutes
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Forecasting readings", total=series.total)
        scores = crowd_counts.score_counts(
            series, config, horizons, progress=lambda n: progress.advance(task, n)
        )
    console.print(_counts_table(counts_file, series, scores))
    skipped = sorted(set(horizons) - {s.minutes for s in scores})
    if skipped:
        console.print(
            f"Left out (not a whole number of {series.interval} readings): "
            + ", ".join(f"{h} min" for h in skipped)
        )


def _counts_table(
    source: Path, series: crowd_counts.CountSeries, scores: list[crowd_counts.HorizonScore]
) -> Table:
    table = Table(
        title=f"Crowd forecast · {source.name} · {len(series.readings)} sensors · "
        f"{series.total:,} readings every {series.interval} · rolling origin"
    )
    for column in ("horizon", "method", "points", "WAPE", "MAE", "WAPE vs best baseline"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for score in scores:
        best = score.best_baseline
        for method in crowd_counts.METHODS:
            wape, mae = score.wape(method), score.mae(method)
            ratio = score.ratio if method == "forecast" else None
            table.add_row(
                f"{score.minutes} min" if method == "forecast" else "",
                method + (" (best baseline)" if method == best else ""),
                f"{score.points:,}",
                "–" if wape is None else f"{wape:.3f}",
                "–" if mae is None else f"{mae:.1f}",
                "" if ratio is None else f"{ratio:.3f}",
                end_section=method == crowd_counts.METHODS[-1],
            )
    return table


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
    hard = any(r.noise for r in results.values())
    columns = ["seed", "zones crossing", "least lead", "per zone", "false warnings"]
    if hard:  # the hard day's crowd noise, and what the warnings and device checks did
        columns += ["wedding crowd", "failed line"]
    for column in columns:
        left = column in ("per zone", "wedding crowd", "failed line")
        table.add_column(column, justify="left" if left else "right")
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
            *(_noise_cells(r) if hard else ()),
        )
    return table


def _noise_cells(r: crowd_eval.CrowdEvalResult) -> tuple[str, str]:
    """What the crowd warning did at the wedding crowd's zone, and whether a device alert
    named the counting line that counted nobody."""
    warned = {zone for zone, _ in r.false_warnings}
    wedding = ", ".join(
        f"{z} {'warned' if z in warned else 'no warning'}" for z in r.noise.get(WEDDING_CROWD, [])
    )
    failed = ", ".join(f"{d} {_line_found(r, d)}" for d in r.noise.get(COUNTING_LINE_FAILURE, []))
    # A device alert on a counter that was not failing is a false one (the silent-line check).
    healthy = sorted(set(r.device_alerts) - set(r.noise.get(COUNTING_LINE_FAILURE, [])))
    if healthy:
        failed = f"{failed or '–'}; false: {', '.join(healthy)}"
    return wedding or "–", failed or "–"


def _line_found(r: crowd_eval.CrowdEvalResult, line: str) -> str:
    if line not in r.device_alerts:
        return "unseen"
    minutes = r.detect_minutes(line)
    return "device alert" if minutes is None else f"device alert after {minutes:.0f} min"


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} h"


def _interval(value: float, bounds: tuple[float, float]) -> str:
    return f"{value:.3f} [{bounds[0]:.3f}, {bounds[1]:.3f}]"


def _table(
    scores: dict[str, ModelScore], seeds: int, days: int, scale: float, difficulty: str
) -> Table:
    table = Table(
        title=f"Batch models · {difficulty} simulator · {seeds} seeds × {days} days · scale {scale}"
    )
    columns = ("model", "alerts", "planted", "precision [95% CI]", "recall [95% CI]",
               "time to detect median", "p90")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "model" else "right")
    for s in scores.values():
        table.add_row(
            s.model,
            str(s.alerts),
            str(s.planted),
            _interval(s.precision, s.precision_interval),
            _interval(s.recall, s.recall_interval),
            _hours(s.median_delay_hours),
            _hours(s.p90_delay_hours),
        )
    table.caption = (
        "Intervals: Wilson score, 95 %, over every alert (precision) and every planted "
        "situation (recall) of all seeds."
    )
    return table


def _defeat_lines(scores: dict[str, ModelScore]) -> list[str]:
    """Per model, what the simulator had planted on the subjects of its false alerts, and
    how many planted situations it missed."""
    lines = []
    for s in scores.values():
        parts = []
        if s.false_by_scenario:
            on = ", ".join(f"{name} {n}" for name, n in s.false_by_scenario.most_common())
            parts.append(f"false alerts on: {on}")
        if s.missed_subjects:
            missed = f"missed {len(s.missed_subjects)} of {s.planted} planted"
            if s.missed_by_scenario:
                on = ", ".join(f"{n} {k}" for n, k in s.missed_by_scenario.most_common())
                missed += f" (also planted on them: {on})"
            parts.append(missed)
        if parts:
            lines.append(f"{s.model} · " + "; ".join(parts))
    return lines


# The bar of issue #16 for case linkage on the simulator's case series.
LINKAGE_BAR = 0.95


@app.command("linkage")
def eval_linkage(
    cases_file: Annotated[
        Path, typer.Argument(help="CSV, .xlsx or JSON of cases; solved ones name their offender.")
    ],
    mapping: Annotated[
        Path | None,
        typer.Option(help="TOML naming the columns, values and coordinate system (docs/cases.md)."),
    ] = None,
    train_share: Annotated[
        float,
        typer.Option(min=0.1, max=0.9, help="Share of solved cases, earliest first, to train on."),
    ] = 0.7,
    radius_m: Annotated[
        float | None, typer.Option(help="Blocking radius (default [cases] linkage_radius_m).")
    ] = None,
    window_days: Annotated[
        float | None, typer.Option(help="Blocking window (default [cases] linkage_window_days).")
    ] = None,
) -> None:
    """Train the linkage model on the earlier solved cases, test it on the later ones and
    print its AUC beside distance alone, time alone and a distance + time logistic model.
    Nothing is stored: the offender column is read as the label only."""
    settings = CaseSettings()
    tod = TimeOfDayClasses(
        night_from_hour=settings.night_from_hour,
        morning_from_hour=settings.morning_from_hour,
        afternoon_from_hour=settings.afternoon_from_hour,
        evening_from_hour=settings.evening_from_hour,
        max_window_hours=settings.max_window_hours_for_time_of_day,
    )
    blocking = Blocking(radius_m or settings.linkage_radius_m,
                        window_days or settings.linkage_window_days)  # fmt: skip
    try:
        plan = (
            CaseMapping.identity(settings.mo_features)
            if mapping is None
            else CaseMapping.load(mapping, settings.mo_features)
        )
        with console.status(f"Reading {cases_file}…"):
            facts, errors = read_case_facts(
                cases_file, plan, time_of_day=tod, mo_features=settings.mo_features
            )
        with console.status(f"Training and testing on {len(facts):,} cases…"):
            result = evaluate_linkage(facts, blocking=blocking, train_share=train_share)
    except BadRequestError as exc:
        console.print(f"[red]{exc.field or 'error'}: {exc.message}")
        raise typer.Exit(2) from None
    if errors:
        console.print(f"[yellow]{len(errors)} row error(s) left out, e.g.:")
        for error in errors[:5]:
            console.print(f"  row {error.row}, {error.field}: {error.reason}")
    console.print(_linkage_table(cases_file, result, blocking))


def _linkage_table(source: Path, result: LinkageEvaluation, blocking: Blocking) -> Table:
    def figure(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    table = Table(
        title=f"Case linkage · {source.name} · trained on {result.train_cases} solved cases "
        f"({result.train_pairs:,} pairs), tested on the later {result.test_cases} "
        f"({result.test_pairs:,} pairs, {result.test_linked_pairs} linked)"
    )
    table.add_column("method")
    table.add_column("AUC", justify="right")
    table.add_row("model (distance, time, MO, time of day, target, category)",
                  figure(result.auc_model))  # fmt: skip
    table.add_row("distance alone", figure(result.auc_distance))
    table.add_row("time alone", figure(result.auc_time))
    table.add_row("distance + time logistic", figure(result.auc_distance_time))
    table.caption = (
        f"Blocking {blocking.radius_m:.0f} m × {blocking.window_days:.0f} days kept "
        f"{figure(result.blocking_recall)} of the linked test pairs; Brier score "
        f"{figure(result.brier)}. Bar on the simulator: AUC ≥ {LINKAGE_BAR}."
    )
    return table
