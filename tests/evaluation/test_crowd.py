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


def test_the_hard_day_wedding_crowd_and_failed_line_raise_no_false_warning(
    tmp_path: Path,
) -> None:
    # The hard day adds a wedding crowd at the street or the plaza (a steep surge declared
    # nowhere, below the threshold) and a counting line that counts nobody for hours.
    result = evaluate(
        7, from_hour=6.0, to_hour=17.0, workspace=tmp_path / "workspace", difficulty="hard"
    )
    [wedding] = result.noise["wedding_crowd"]
    [line] = result.noise["counting_line_failure"]
    assert wedding in {"Z01", "Z02"} and line.startswith("C0")
    lead = result.min_lead_minutes
    assert lead is not None and lead >= 10  # the fair's surge is still warned in time
    assert result.false_warnings == []  # neither the wedding nor the blind line warns
    # Device alerts are read back for the crowd counters only (the others send nothing):
    # the silent-line check names the blind line, and no healthy counter, within the hour.
    assert result.device_alerts == [line]
    minutes = result.detect_minutes(line)
    assert minutes is not None and 29 <= minutes <= 60  # the window: 30 min of zeros
