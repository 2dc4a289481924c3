"""The crowd bar of issue #6 on one simulated fair day: warned ≥ 10 minutes ahead, and no
false warnings (the street, plaza and school gate with a drifting line; the quiet zones)."""

from __future__ import annotations

from pathlib import Path

from zhian.evaluation.crowd import evaluate


def test_the_surge_is_warned_ten_minutes_ahead_without_false_warnings(tmp_path: Path) -> None:
    result = evaluate(7, from_hour=6.0, to_hour=17.0, workspace=tmp_path / "workspace")
    print(result.lead_minutes_per_zone, result.false_warnings, result.events)
    assert result.crossings, "the fair's surge crosses the threshold in the scenario"
    lead = result.min_lead_minutes
    assert lead is not None and lead >= 10
    assert result.false_warnings == []
