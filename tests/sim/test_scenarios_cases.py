"""The simulator's planted cases: series of one offender (same category, clustered place,
consistent MO, a rhythm), near-repeats by others, background cases, and the ground truth."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from zhian.cases.geo import haversine_m
from zhian.cli.main import app
from zhian.sim.scenarios_cases import simulate_cases
from zhian.sim.timeline import TZ
from zhian.sim.truth import BACKGROUND_CASE, CASE_SERIES, NEAR_REPEAT, read_truth

START = datetime(2026, 1, 1, tzinfo=TZ)


def test_series_are_one_offender_clustered_with_a_habit() -> None:
    planted = simulate_cases(seed=4, start=START, days=200, series=20)
    by_id = {case.case_id: case for case in planted.cases}
    series = [r for r in planted.truth if r.scenario == CASE_SERIES]
    assert len(series) >= 15
    for record in series:
        members = [by_id[case_id] for case_id in record.detail["cases"]]
        assert {m.offender for m in members} == {record.subject}
        assert len({m.category for m in members}) == 1
        radius = record.detail["radius_m"]
        first = members[0].place
        for member in members[1:]:
            apart = float(haversine_m(first.latitude, first.longitude,
                                      member.place.latitude, member.place.longitude))  # fmt: skip
            assert apart <= 2 * radius + 1
        habit = Counter(m.mo["entry_method"] for m in members).most_common(1)[0][1]
        assert habit >= len(members) / 2 or len(members) < 4
        assert len({m.time_from.date() for m in members}) >= len(members) / 2  # a rhythm


def test_near_repeats_and_background_are_by_other_offenders() -> None:
    planted = simulate_cases(seed=4, start=START, days=200, series=20)
    by_id = {case.case_id: case for case in planted.cases}
    near = [r for r in planted.truth if r.scenario == NEAR_REPEAT]
    assert near
    for record in near:
        case, earlier = by_id[record.detail["case"]], by_id[record.detail["near"]]
        assert case.offender != earlier.offender and case.category == "burglary"
        a, b = case.place, earlier.place
        assert float(haversine_m(a.latitude, a.longitude, b.latitude, b.longitude)) <= 200
    background = [r for r in planted.truth if r.scenario == BACKGROUND_CASE]
    offenders = Counter(by_id[r.detail["case"]].offender for r in background)
    assert offenders.most_common(1)[0][1] == 1  # no background offender strikes twice


def test_simulate_writes_a_case_export_with_its_mapping(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = CliRunner().invoke(
        app, ["simulate", str(out), "--days", "0.02", "--scale", "0.05", "--cases",
              "--case-days", "60"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = (out / "cases.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("案件编号,案件类别") and (out / "cases-mapping.toml").is_file()
    scenarios = {record.scenario for record in read_truth(out / "truth.jsonl")}
    assert {CASE_SERIES, BACKGROUND_CASE} <= scenarios
