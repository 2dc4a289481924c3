"""`zhian eval` reports precision and recall with confidence intervals and time to detect
(median, p90), on the standard or the hard simulator (issue #20)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zhian.cli.main import app
from zhian.config import load_settings
from zhian.evaluation.models import ModelScore, percentile, score, wilson_interval
from zhian.models.catalogue import MODELS
from zhian.sim import TZ, Simulation, TruthRecord, build_district
from zhian.sim.hard import FAMILY_MOVES_WITHIN


def test_wilson_interval_matches_the_textbook_values() -> None:
    # 95 of 100: 0.888–0.978 (Newcombe 1998, method 3); 10 of 10: the low end stays below 1.
    low, high = wilson_interval(95, 100)
    assert low == pytest.approx(0.8883, abs=1e-3) and high == pytest.approx(0.9785, abs=1e-3)
    low, high = wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-3) and high == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)  # nothing seen: nothing known


def test_time_to_detect_p90_interpolates() -> None:
    score = ModelScore("m", delays_hours=[float(h) for h in range(1, 11)])
    assert score.median_delay_hours == 5.5
    assert score.p90_delay_hours == pytest.approx(9.1)
    assert percentile([], 0.9) is None


def test_eval_prints_intervals_and_p90_on_the_hard_simulator() -> None:
    args = "eval --seeds 1 --days 1 --scale 0.05 --step-hours 24 --no-crowd --difficulty hard"
    result = CliRunner().invoke(app, args.split(), env={"COLUMNS": "200"})
    assert result.exit_code in (0, 1), result.output  # 1: a model below the bar
    assert "hard simulator" in result.output
    # The table may wrap its headers on a narrow console (Rich sizes it once per process),
    # so look for the words, not the whole header.
    assert all(word in result.output for word in ("precision", "[95%", "CI]", "p90"))
    assert "Wilson" in result.output and "score" in result.output


def test_an_unknown_difficulty_is_refused_naming_the_option() -> None:
    result = CliRunner().invoke(app, ["eval", "--difficulty", "brutal"])
    assert result.exit_code == 2
    assert "--difficulty" in result.output and "standard, hard" in result.output


def test_an_alert_on_a_family_that_moved_within_the_community_is_a_false_alert(
    tmp_path: Path,
) -> None:
    # The household left its registered house for another unit of the same community: the
    # old house is empty, but nothing is wrong with the family, and the registry needs an
    # update, not a visit. A moved-out or vacant-house alert on it is scored as false and
    # named by the scenario ("what defeats each model").
    start = datetime(2026, 9, 1, tzinfo=TZ)
    end = start + timedelta(days=10)
    simulation = Simulation(
        build_district(seed=4, scale=0.2), start=start, end=end, seed=4, difficulty="hard"
    )
    for _ in simulation.events():
        pass
    truth = simulation.truth
    [move] = [r for r in truth if r.scenario == FAMILY_MOVES_WITHIN]
    models = [m for m in MODELS if m.name in ("model.moved_out", "model.vacant_house")]
    at = move.start + timedelta(days=1)
    first_alert = {
        ("model.vacant_house", move.subject): at,
        ("model.moved_out", str(move.detail["residents"][0])): at,
    }
    settings = load_settings(tmp_path).models
    scores = score(models, first_alert, truth, end, settings, 6.0, lambda kind, value: value)
    for model in models:
        result = scores[model.name]
        assert (result.alerts, result.true_alerts) == (1, 0)
        assert result.false_by_scenario == {FAMILY_MOVES_WITHIN: 1}
        assert result.precision == 0.0


def test_a_missed_situation_names_what_else_was_planted_on_it(tmp_path: Path) -> None:
    start = datetime(2026, 9, 1, tzinfo=TZ)
    end = start + timedelta(days=30)
    truth = [
        TruthRecord("vacant_house", "H1", start, None, {}),
        TruthRecord(FAMILY_MOVES_WITHIN, "H1", start, None, {"residents": ["R1"]}),
        TruthRecord("vacant_house", "H2", start, None, {}),
    ]
    [model] = [m for m in MODELS if m.name == "model.vacant_house"]
    first_alert = {("model.vacant_house", "H2"): start + timedelta(days=15)}
    settings = load_settings(tmp_path).models
    result = score([model], first_alert, truth, end, settings, 6.0, lambda k, v: v)[model.name]
    assert (result.planted, result.detected, result.missed_subjects) == (2, 1, ["H1"])
    assert result.missed_by_scenario == {FAMILY_MOVES_WITHIN: 1}
