"""`zhian simulate`: write a synthetic district's master data, events and ground truth."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, get_args

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from zhian.ingest.events import Event
from zhian.kit.clock import SystemClock
from zhian.sim import (
    TZ,
    District,
    Simulation,
    TruthRecord,
    build_district,
    default_start,
    write_ndjson,
    write_truth,
)
from zhian.sim.scenarios_cases import MAPPING_TOML, Place, simulate_cases

console = Console()


def parse_start(text: str) -> datetime:
    """An ISO date or date-time; without an offset it is read as +08:00."""
    try:
        moment = (
            datetime.combine(date.fromisoformat(text), datetime.min.time())
            if len(text) <= 10
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO date or time (2026-11-20 or 2026-11-20T08:00)",
            param_hint="--start",
        ) from None
    return moment.replace(tzinfo=TZ) if moment.tzinfo is None else moment


# Event type -> its `type` tag ("access", "heartbeat", ...).
EVENT_TAGS = {cls: str(cls.__struct_config__.tag) for cls in get_args(Event)}


def simulate(
    out: Annotated[Path, typer.Argument(help="Folder for the CSVs, events.ndjson, truth.jsonl.")],
    days: Annotated[float, typer.Option(min=0.01, help="Simulated days.")] = 3,
    scale: Annotated[float, typer.Option(min=0.01, help="District size (1 = a pilot).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the district and its events.")] = 7,
    face_features: Annotated[
        bool,
        typer.Option(help="Add residents' enrolled face features to residents.csv "
                     "(importing them then needs a key ring: `zhian keys init`)."),
    ] = False,
    cases: Annotated[
        bool,
        typer.Option(help="Also write cases.csv (case series, near-repeats, background) "
                     "and cases-mapping.toml, for `zhian cases import` and `zhian eval linkage`."),
    ] = False,
    case_days: Annotated[
        float, typer.Option(min=1, help="With --cases: days of cases, ending with the events.")
    ] = 365,
    start: Annotated[
        str | None,
        typer.Option(help="First moment (ISO; +08:00 if no offset). Default: midnight, "
                     "`days` days before today."),
    ] = None,
) -> None:  # fmt: skip
    """Write a synthetic district: master-data CSVs, an event stream and its ground truth."""
    begin = (
        default_start(SystemClock().now(), days) if start is None else parse_start(start)
    ).astimezone(TZ)
    end = begin + timedelta(days=days)
    out.mkdir(parents=True, exist_ok=True)
    with console.status("Building the synthetic district…"):
        district = build_district(seed=seed, scale=scale)
        district.write_csv(out, face_features=face_features)
    simulation = Simulation(district, start=begin, end=end, seed=seed)
    by_type: Counter[type] = Counter()
    total_seconds = (end - begin).total_seconds()
    began = time.perf_counter()
    progress = Progress(
        TextColumn("[bold]Simulating"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[at]}"),
        TextColumn("{task.fields[events]}"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("simulate", total=total_seconds, at="", events="")

        def report(written: int, batch: Sequence[Event]) -> None:
            by_type.update(map(type, batch))
            last = batch[-1].time
            rate = written / max(time.perf_counter() - began, 1e-9)
            progress.update(
                task,
                completed=(last - begin).total_seconds(),
                at=f"{last:%Y-%m-%d %H:%M}",
                events=f"{written:,} events, {rate:,.0f}/s",
            )

        written = write_ndjson(simulation.events(), out / "events.ndjson", progress=report)
        progress.update(task, completed=total_seconds)
    elapsed = time.perf_counter() - began
    counts = Counter({EVENT_TAGS[cls]: n for cls, n in by_type.items()})
    truth = list(simulation.truth)
    if cases:
        truth += _write_cases(district, out, seed=seed, start=end - timedelta(days=case_days),
                              days=case_days)  # fmt: skip
    records = sorted(truth, key=lambda r: (r.start, r.scenario, r.subject))
    write_truth(out / "truth.jsonl", records)
    _summary(district.tables, counts, records, written, elapsed, begin, end, out)
    manifest = {
        "seed": seed, "scale": scale, "start": begin, "end": end, "events": written,
        "events_by_type": dict(counts), "truth_records": len(records),
        "tables": {entity: len(rows) for entity, rows in district.tables.items()},
    }  # fmt: skip
    (out / "manifest.json").write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))


def _write_cases(
    district: District, out: Path, *, seed: int, start: datetime, days: float
) -> list[TruthRecord]:
    """cases.csv and its mapping; the planted series as truth records."""
    communities = {str(r["id"]): str(r["jurisdiction_id"]) for r in district.tables["communities"]}
    buildings = [
        Place(
            latitude=float(str(row["latitude"])),
            longitude=float(str(row["longitude"])),
            address=f"{row['community_id']} {row['name']}",
            building_id=str(row["id"]),
            jurisdiction_id=communities[str(row["community_id"])],
        )
        for row in district.tables["buildings"]
    ]
    station = next(
        (str(r["id"]) for r in district.tables["jurisdictions"] if r["level"] == "station"),
        str(district.tables["jurisdictions"][0]["id"]),
    )
    planted = simulate_cases(
        seed=seed, start=start, days=days, buildings=buildings, jurisdiction_id=station
    )
    planted.write_csv(out / "cases.csv")
    (out / "cases-mapping.toml").write_text(MAPPING_TOML, encoding="utf-8")
    console.print(
        f"{len(planted.cases):,} cases → {out / 'cases.csv'} (mapping: cases-mapping.toml)"
    )
    return planted.truth


def _summary(
    tables: dict[str, list[dict[str, object]]],
    counts: Counter[str],
    records: list[TruthRecord],
    written: int,
    elapsed: float,
    begin: datetime,
    end: datetime,
    out: Path,
) -> None:
    table = Table(title=f"Simulated {begin:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} (+08:00)")
    table.add_column("what")
    table.add_column("count", justify="right")
    for entity, rows in tables.items():
        table.add_row(f"master data: {entity}", f"{len(rows):,}")
    for kind, count in sorted(counts.items()):
        table.add_row(f"events: {kind}", f"{count:,}")
    table.add_row("[bold]events", f"[bold]{written:,}")
    scenarios = Counter(record.scenario for record in records)
    for scenario, count in sorted(scenarios.items()):
        table.add_row(f"truth: {scenario}", f"{count:,}")
    console.print(table)
    console.print(
        f"{written:,} events in {elapsed:,.1f} s ({written / max(elapsed, 1e-9):,.0f} events/s) "
        f"→ {out}"
    )
