"""`zhian eval hotspots`: hit rate and PAI of the hotspot methods on a case file, by rolling
origin, with naive counts as the baseline in the same run. Reads the file; stores nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from zhian.cases.facts import TimeOfDayClasses
from zhian.cases.hotspot_eval import (
    HotspotEvaluation,
    end_of_day,
    evaluate_hotspots,
    parse_coverages,
)
from zhian.cases.hotspots import HotspotMethod, HotspotParameters
from zhian.cases.importer import CaseMapping, read_case_facts
from zhian.cases.settings import CaseSettings
from zhian.cli.common import console
from zhian.errors import BadRequestError

# The bar of issue #16: the chosen model beats naive counts at these coverages.
BAR_COVERAGES = (1.0, 5.0)
METHOD_NAMES = {
    HotspotMethod.NAIVE: "naive counts (baseline)",
    HotspotMethod.KDE: "kernel density",
    HotspotMethod.SELF_EXCITING: "self-exciting (near-repeat)",
}


def _date(value: str, option: str, offset_hours: float) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequestError(f"'{value}' is not a date like 2025-10-01", field=option) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=offset_hours)))
    return moment


def eval_hotspots(
    cases_file: Annotated[
        Path, typer.Argument(help="CSV, .xlsx or JSON of cases with coordinates.")
    ],
    train_until: Annotated[str, typer.Option(help="Training uses the cases before this date.")],
    test_from: Annotated[str, typer.Option(help="The first forecast origin (a date).")],
    test_to: Annotated[str, typer.Option(help="The last day tested (included).")],
    mapping: Annotated[
        Path | None,
        typer.Option(help="TOML naming the columns, values and coordinate system (docs/cases.md)."),
    ] = None,
    cell: Annotated[
        float | None, typer.Option(help="Cell side in metres (default [cases] hotspot_cell_m).")
    ] = None,
    coverage: Annotated[
        str, typer.Option(help="Shares of the area flagged, in per cent, comma-separated.")
    ] = "1,2,5",
    horizon_days: Annotated[
        float | None,
        typer.Option(help="Days each forecast covers (default [cases] hotspot_horizon_days)."),
    ] = None,
    category: Annotated[
        str | None, typer.Option(help="Only these categories (codes after the mapping), a,b.")
    ] = None,
) -> None:
    """Forecast from each origin of the test period, flag the best cells at each coverage
    and score the cases of the following days: hit rate and PAI per method, naive counts
    as the baseline. Nothing is stored."""
    settings = CaseSettings()
    tod = TimeOfDayClasses()
    try:
        plan = (
            CaseMapping.identity(settings.mo_features)
            if mapping is None
            else CaseMapping.load(mapping, settings.mo_features)
        )
        offset = plan.utc_offset_hours
        train_end = _date(train_until, "train_until", offset)
        start = _date(test_from, "test_from", offset)
        end = end_of_day(_date(test_to, "test_to", offset))
        coverages = parse_coverages(coverage)
        parameters = HotspotParameters.of(settings)
        if horizon_days is not None:
            if not 0 < horizon_days <= 90:
                raise BadRequestError("give a horizon of 0 to 90 days", field="horizon_days")
            parameters = replace(parameters, horizon_days=horizon_days)
        with console.status(f"Reading {cases_file}…"):
            facts, errors = read_case_facts(
                cases_file, plan, time_of_day=tod, mo_features=settings.mo_features
            )
        if category:
            wanted = {part.strip() for part in category.split(",") if part.strip()}
            facts = [f for f in facts if f.category in wanted]
        with console.status(f"Forecasting from each origin over {len(facts):,} cases…"):
            result = evaluate_hotspots(
                facts, train_until=train_end, test_from=start, test_to=end,
                cell_m=cell or settings.hotspot_cell_m, coverages_pct=coverages,
                parameters=parameters,
            )  # fmt: skip
    except BadRequestError as exc:
        console.print(f"[red]{exc.field or 'error'}: {exc.message}")
        raise typer.Exit(2) from None
    if errors:
        console.print(f"[yellow]{len(errors)} row error(s) left out, e.g.:")
        for error in errors[:5]:
            console.print(f"  row {error.row}, {error.field}: {error.reason}")
    console.print(_table(cases_file, result, coverages, parameters))


def _table(
    source: Path, result: HotspotEvaluation, coverages: list[float], p: HotspotParameters
) -> Table:
    table = Table(
        title=f"Hotspots · {source.name} · {result.cells:,} cells of {result.cell_m:.0f} m · "
        f"{result.origins} origins every {p.horizon_days:g} days · trained on "
        f"{result.train_cases:,} cases, tested on {result.test_cases:,}"
    )
    table.add_column("method")
    for c in coverages:
        table.add_column(f"hit rate {c:g}%", justify="right")
        table.add_column(f"PAI {c:g}%", justify="right")
    for method in HotspotMethod:
        row = [METHOD_NAMES[method]]
        for c in coverages:
            row += [f"{result.score(method, c).hit_rate:.3f}", f"{result.pai(method, c):.2f}"]
        table.add_row(*row)
    verdicts = []
    for c in coverages:
        if c in BAR_COVERAGES:
            model = result.score(HotspotMethod.SELF_EXCITING, c).hit_rate
            naive = result.score(HotspotMethod.NAIVE, c).hit_rate
            verdicts.append(f"{c:g}%: {'beats' if model > naive else 'does not beat'} naive")
    fit = result.last_fit
    fitted = (
        f" Last self-exciting fit: {fit.branching:.2f} cases triggered per case, mean delay "
        f"{1 / fit.decay_per_day:.1f} days, spread {fit.spread_m:.0f} m."
        if fit is not None
        else ""
    )
    table.caption = (
        f"Hit rate: share of the test cases in flagged cells; PAI: hit rate ÷ share of the "
        f"area flagged. {result.outside_cases} test cases fell outside the area. "
        f"Self-exciting vs naive: {'; '.join(verdicts) or '–'}.{fitted} {_validation(result)}"
    )
    return table


def _validation(result: HotspotEvaluation) -> str:
    """How the self-exciting model's count share was chosen (on training cases only)."""
    if not result.validation:
        return (f"Count share {result.count_share:g} (the setting: no training case in the "
                f"validation window).")  # fmt: skip
    tried = ", ".join(f"{share:g}: {rate:.3f}" for share, rate in result.validation.items())
    return (
        f"Count share {result.count_share:g}, chosen on {result.validation_origins} "
        f"validation origins before the end of training ({result.validation_cases} training "
        f"cases; mean hit rate by share: {tried})."
    )
