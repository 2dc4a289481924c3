"""Forced-entry bursts and card misreads: the events say exactly what the truth says."""

from __future__ import annotations

from datetime import timedelta

from zhian.ingest.events import AccessEvent, Event
from zhian.sim import TruthRecord
from zhian.sim.scenarios_access import BURST_MIN_ATTEMPTS, CARD_MISREAD, DENIED_BURST

WINDOW = timedelta(minutes=5)  # the denied-access rule's default window


def _access(events: list[Event]) -> list[AccessEvent]:
    return [e for e in events if isinstance(e, AccessEvent)]


def test_a_burst_is_one_subject_refused_again_and_again_at_one_door(
    day_events: list[Event], day_truth: list[TruthRecord]
) -> None:
    bursts = [r for r in day_truth if r.scenario == DENIED_BURST]
    assert bursts
    access = _access(day_events)
    for record in bursts:
        assert record.end is not None
        tries = [
            e
            for e in access
            if e.device_id == record.subject and e.subject.ref == record.detail["who"]
        ]
        assert len(tries) == record.detail["attempts"] >= BURST_MIN_ATTEMPTS
        assert all(e.result == "denied" and e.method == record.detail["method"] for e in tries)
        assert tries[0].time == record.start and tries[-1].time < record.end
        assert record.end - record.start <= WINDOW


def test_a_misread_is_two_refusals_then_the_same_resident_gets_in(
    day_events: list[Event], day_truth: list[TruthRecord]
) -> None:
    misreads = [r for r in day_truth if r.scenario == CARD_MISREAD]
    assert misreads
    access = _access(day_events)
    for record in misreads:
        assert record.end is not None
        reads = [
            e
            for e in access
            if e.device_id == record.detail["door"] and record.start <= e.time < record.end
        ]
        mine = [e for e in reads if e.subject == reads[0].subject]
        assert [e.result for e in mine] == ["denied", "denied", "granted"]
