"""Time to detect on the hard simulator with shorter thresholds (issue #20): how soon the
unregistered-resident and moved-out models can decide on the same evidence.

    .venv/bin/python bench/eval_time_to_detect.py [SEEDS] [DAYS]

Prints, per model, alerts, planted, precision and recall with 95 % Wilson intervals, time
to detect (median, p90), and what the simulator had planted on the false alerts' subjects.
"""

from __future__ import annotations

import sys

from zhian.evaluation.models import evaluate

# The thresholds tried against the defaults of before issue #20 (10 of 14 nights, 21 days).
SHORTER = {"unregistered_min_nights": 5, "unregistered_window_days": 7, "moved_out_absent_days": 14}


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    scores = evaluate(
        list(range(1, seeds + 1)), days=days, scale=0.5, step_hours=6, difficulty="hard",
        model_settings=SHORTER,
    )  # fmt: skip
    for name in ("model.unregistered_resident", "model.moved_out"):
        s = scores[name]
        (p_low, p_high), (r_low, r_high) = s.precision_interval, s.recall_interval
        print(
            f"{name} alerts {s.alerts} planted {s.planted} "
            f"P {s.precision:.3f} [{p_low:.3f}, {p_high:.3f}] "
            f"R {s.recall:.3f} [{r_low:.3f}, {r_high:.3f}] "
            f"median {s.median_delay_hours} h p90 {s.p90_delay_hours} h "
            f"false on {dict(s.false_by_scenario)} missed {len(s.missed_subjects)}"
        )


if __name__ == "__main__":
    main()
