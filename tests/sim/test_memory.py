"""Streams run in bounded memory: what is held does not grow with the number of days."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc
from datetime import datetime, timedelta

from zhian.sim import TZ, build_district, stream_events

START = datetime(2026, 11, 13, tzinfo=TZ)  # a Friday: the weekend's trips are included
MB = 1_000_000


def _traced_peak(days: float) -> int:
    district = build_district(seed=7, scale=0.1)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in stream_events(district, start=START, end=START + timedelta(days=days), seed=7):
            pass
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def test_traced_memory_does_not_grow_with_days() -> None:
    # Short runs: tracing every allocation slows the simulator about tenfold.
    half_day = _traced_peak(0.5)
    two_days = _traced_peak(2)
    assert half_day < 30 * MB
    assert two_days < half_day * 1.25 + 1 * MB


def test_two_days_at_scale_three_stay_small() -> None:
    """Peak resident memory of a fresh process streaming 2 days at scale 3 (~550k events)."""
    script = textwrap.dedent(
        f"""
        from datetime import datetime, timedelta
        from zhian.sim import build_district, stream_events
        start = datetime.fromisoformat("{START.isoformat()}")
        district = build_district(seed=7, scale=3.0)
        def peak_kib():
            # VmHWM belongs to this process image; ru_maxrss would carry over the parent's
            # peak across fork and exec.
            with open("/proc/self/status") as status:
                line = next(x for x in status if x.startswith("VmHWM:"))
            return int(line.split()[1])
        before = peak_kib()
        count = sum(1 for _ in stream_events(
            district, start=start, end=start + timedelta(days=2), seed=7))
        after = peak_kib()
        print(count, before, after)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    count, before_kib, after_kib = map(int, result.stdout.split())
    assert count > 400_000
    assert after_kib * 1024 < 200 * MB  # the whole process, district included
    assert (after_kib - before_kib) * 1024 < 60 * MB  # what streaming added
