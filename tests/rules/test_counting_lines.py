"""The silent counting line: zeros while the zone's other counters, or the line's own
history, say people pass; quiet zones, drifting neighbours and silent devices left alone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from zhian.alerts.drafts import RuleOutput
from zhian.ingest.events import CrowdEvent
from zhian.rules.counting_lines import (
    OWN_HISTORY,
    ZONE_CAMERA,
    ZONE_LINES,
    SilentLineConfig,
    SilentLineRule,
)
from zhian.rules.directory import DevicePlace, PlaceDirectory
from zhian.sim import TZ

START = datetime(2026, 11, 16, 6, 0, tzinfo=TZ)  # a Monday morning
ZONE = "Z1"
LINE_A, LINE_B, CAMERA = "CNT-A", "CNT-B", "CNT-OCC"


def place(device: str) -> DevicePlace:
    return DevicePlace(
        id=device, kind="crowd_counter", name=f"步行街{device}", community_id="C1",
        community_name="一社区", building_id=None, unit_id=None, zone_id=ZONE, is_enabled=True,
    )  # fmt: skip


def make_rule() -> SilentLineRule:
    rule = SilentLineRule(SilentLineConfig(window_minutes=30, min_expected=20.0))
    rule.set_directory(PlaceDirectory({d: place(d) for d in (LINE_A, LINE_B, CAMERA)}))
    return rule


def line(device: str, at: datetime, crossings: int) -> CrowdEvent:
    return CrowdEvent(
        id=f"{device}-{at.isoformat()}", device_id=device, time=at, zone_id=ZONE,
        count_in=crossings - crossings // 2, count_out=crossings // 2, interval_seconds=60,
    )  # fmt: skip


def camera(at: datetime, people: int) -> CrowdEvent:
    return CrowdEvent(id=f"occ-{at.isoformat()}", device_id=CAMERA, time=at, zone_id=ZONE,
                      occupancy=people)  # fmt: skip


def run(
    rule: SilentLineRule,
    start: datetime,
    minutes: int,
    per_minute: dict[str, int | None],
    frozen: frozenset[str] = frozenset(),
) -> list[RuleOutput]:
    """Feed `minutes` minutes of readings (None: the device sends nothing) and tick once a
    minute; the rule's outputs. A line's non-zero count varies a little from minute to
    minute, as people do; `frozen` lines repeat theirs exactly."""
    outputs = []
    for m in range(minutes):
        at = start + timedelta(minutes=m, seconds=20)
        for device, value in per_minute.items():
            if value is None:
                continue
            if device == CAMERA:
                event = camera(at, value)
            else:
                jitter = 0 if value == 0 or device in frozen else m % 3 - 1
                event = line(device, at, value + jitter)
            out = rule.on_event(event, at)
            if out is not None:
                outputs.append(out)
        out = rule.evaluate(start + timedelta(minutes=m + 1))
        if out is not None:
            outputs.append(out)
    return outputs


def drafts(outputs: Iterable[RuleOutput]) -> list[tuple[str, str]]:
    return [(d.subject, str(d.figures["line_evidence"])) for o in outputs for d in o.drafts]


def test_a_line_counting_nobody_in_a_busy_zone_is_a_device_fault_until_it_counts_again() -> None:
    rule = make_rule()
    busy = {LINE_A: 10, LINE_B: 12, CAMERA: 300}
    assert drafts(run(rule, START, 180, busy)) == []  # three healthy hours: nothing
    blocked = run(rule, START + timedelta(hours=3), 45, {**busy, LINE_A: 0})
    [draft] = [d for o in blocked for d in o.drafts]
    assert draft.kind == "device_fault" and draft.rule == "counting_line_silent"
    assert draft.subject == LINE_A and draft.device_id == LINE_A
    assert draft.figures["fault_code"] == "counting_line_silent"
    # The smallest expectation of its neighbours: both say about 300 crossings in 30 min.
    assert draft.figures["line_evidence"] in (ZONE_LINES, ZONE_CAMERA)
    assert 200 <= float(draft.figures["expected_crossings"]) <= 400
    assert "30" in draft.explanation_en and "counts nobody" in draft.explanation_en
    assert "计数" in draft.explanation_zh
    # Raised once; the first crossing it counts again clears it.
    assert draft.observed_at - (START + timedelta(hours=3)) == timedelta(minutes=30)
    back = run(rule, START + timedelta(hours=3, minutes=45), 5, busy)
    assert [c.subject for o in back for c in o.clears] == [LINE_A]
    assert drafts(back) == []


def test_a_quiet_zone_and_a_line_that_sends_nothing_raise_nothing() -> None:
    rule = make_rule()
    run(rule, START, 180, {LINE_A: 10, LINE_B: 12, CAMERA: 300})
    # Night: nobody there, every counter says so.
    quiet = run(rule, START + timedelta(hours=3), 90, {LINE_A: 0, LINE_B: 0, CAMERA: 2})
    assert drafts(quiet) == []
    # A line that stopped reporting is the offline check's business, not this one's.
    gone = run(rule, START + timedelta(hours=5), 90, {LINE_A: None, LINE_B: 12, CAMERA: 300})
    assert drafts(gone) == []


def test_a_drifting_neighbour_is_outvoted_by_the_camera() -> None:
    """A line counting phantom entries says people pass; the camera sees almost nobody: the
    smallest expectation wins and a quiet line is left alone."""
    rule = make_rule()
    run(rule, START, 180, {LINE_A: 10, LINE_B: 10, CAMERA: 300})
    drifting = run(rule, START + timedelta(hours=3), 90, {LINE_A: 0, LINE_B: 5, CAMERA: 4})
    assert drafts(drifting) == []


def test_a_line_alone_in_its_zone_is_judged_by_its_own_hour_of_week() -> None:
    rule = SilentLineRule(SilentLineConfig(window_minutes=30, min_expected=20.0))
    rule.set_directory(PlaceDirectory({LINE_A: place(LINE_A)}))
    monday_ten = START + timedelta(hours=4)
    for week in range(2):  # two Mondays 10:00–11:00 of about 6 crossings a minute
        run(rule, monday_ten + timedelta(weeks=week), 60, {LINE_A: 6})
    # Another hour of the week with no history: zeros there say nothing.
    assert drafts(run(rule, monday_ten + timedelta(weeks=2, hours=-2), 60, {LINE_A: 0})) == []
    third = run(rule, monday_ten + timedelta(weeks=2), 40, {LINE_A: 0})
    assert drafts(third) == [(LINE_A, OWN_HISTORY)]
    [draft] = [d for o in third for d in o.drafts]
    assert 150 <= float(draft.figures["expected_crossings"]) <= 200  # 6 a minute, 30 min


def test_a_frozen_counter_reporting_the_same_count_every_minute_is_a_fault() -> None:
    rule = make_rule()
    busy = {LINE_A: 10, LINE_B: 12, CAMERA: 300}
    run(rule, START, 180, busy)
    frozen = run(rule, START + timedelta(hours=3), 40, {**busy, LINE_A: 7}, frozenset({LINE_A}))
    [draft] = [d for o in frozen for d in o.drafts]
    assert draft.subject == LINE_A and draft.figures["fault_code"] == "counting_line_flat"
    assert "the same 7 crossings every minute" in draft.explanation_en
    assert "都是7" in draft.explanation_zh
    # A line that varies, even around a low count, is never called frozen.
    assert drafts(run(rule, START + timedelta(hours=4), 90, {**busy, LINE_A: 2})) == []
