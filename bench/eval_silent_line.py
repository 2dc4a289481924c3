"""The silent counting line on the hard simulator's crowd day (issue #20): does a device
alert name the line that counts nobody, and no healthy counter?

    .venv/bin/python bench/eval_silent_line.py [SEEDS]

Runs the temple-fair day of `zhian eval` (zhian.evaluation.crowd, difficulty hard: the
wedding crowd, the drifting line and the failing line) for seeds 1..SEEDS through the real
intake and rule engine, and prints per seed the failing line (the truth), the crowd
counters a device alert named (with the minutes from the line's first zero to its alert),
and over all seeds the precision and recall of those alerts
with 95 % Wilson intervals. Every crowd counter of the day counts: the street's, the
plaza's, the school gate's and the fair's own lines and cameras.
"""

from __future__ import annotations

import sys
import time

from zhian.evaluation import crowd
from zhian.evaluation.models import wilson_interval
from zhian.sim.hard import COUNTING_LINE_FAILURE


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    true_alerts = false_alerts = planted = found = 0
    for seed in range(1, seeds + 1):
        started = time.perf_counter()
        result = crowd.evaluate(seed, difficulty="hard")
        failing = set(result.noise.get(COUNTING_LINE_FAILURE, []))
        named = set(result.device_alerts)
        true_alerts += len(named & failing)
        false_alerts += len(named - failing)
        planted += len(failing)
        found += len(failing & named)
        delays = {line: result.detect_minutes(line) for line in sorted(failing & named)}
        after = ", ".join(
            f"{line} after {m:.0f} min" for line, m in delays.items() if m is not None
        )
        print(
            f"seed {seed}: failing {sorted(failing)} named {sorted(named)} "
            f"({after or 'none found'}; {time.perf_counter() - started:.0f} s)"
        )
    alerts = true_alerts + false_alerts
    p_low, p_high = wilson_interval(true_alerts, alerts)
    r_low, r_high = wilson_interval(found, planted)
    precision = true_alerts / alerts if alerts else float("nan")
    recall = found / planted if planted else float("nan")
    print(
        f"device alerts on counters {alerts}, failing lines {planted}: "
        f"P {precision:.3f} [{p_low:.3f}, {p_high:.3f}] R {recall:.3f} [{r_low:.3f}, {r_high:.3f}]"
    )


if __name__ == "__main__":
    main()
