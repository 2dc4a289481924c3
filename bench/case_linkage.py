"""Case linkage at city scale: blocking on 10^5 cases, and the model's AUC on them.

Run: .venv/bin/python bench/case_linkage.py [--cases 100000] [--area-km 40]

The simulator plants series, near-repeats and background cases over three years in a
square of `--area-km`; the script prints, for two blockings (the default 3 km × 120 days
and a tight 1 km × 30 days), the number of candidate pairs against all n(n-1)/2 pairs and
the time to find them, then trains and tests the model on a time-based split with the
tight blocking (AUC of the model beside distance alone, time alone and distance + time),
and the time to score one case's candidates.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

import numpy as np

from zhian.cases.facts import CaseFacts, TimeOfDayClasses, mo_values
from zhian.cases.linkage import Blocking, CaseArrays, candidate_pairs, evaluate, pair_features
from zhian.cases.settings import DEFAULT_MO_FEATURES
from zhian.sim.scenarios_cases import simulate_cases
from zhian.sim.timeline import TZ

DAYS = 3 * 365


def build(cases: int, area_km: float, seed: int) -> list[CaseFacts]:
    series = cases // 70  # ~9 cases a series: ~13 % of cases in series
    per_day = (cases - series * 9) / DAYS / 1.07  # near-repeats add ~7 %
    planted = simulate_cases(seed=seed, start=datetime(2023, 1, 1, tzinfo=TZ), days=DAYS,
                             series=series, background_per_day=per_day,
                             area_m=area_km * 1000)  # fmt: skip
    tod = TimeOfDayClasses()
    return [
        CaseFacts(c.case_id, c.category, c.time_from, c.time_to, c.place.latitude,
                  c.place.longitude, tod.classify(c.time_from, c.time_to),
                  mo_values(c.mo, DEFAULT_MO_FEATURES), c.offender if c.is_solved else None)
        for c in planted.cases
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--area-km", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    began = time.perf_counter()
    facts = build(args.cases, args.area_km, args.seed)
    n = len(facts)
    print(f"{n:,} cases over {DAYS} days in {args.area_km:.0f} km × {args.area_km:.0f} km "
          f"(simulated in {time.perf_counter() - began:.1f} s)")  # fmt: skip
    arrays = CaseArrays(facts)
    everything = n * (n - 1) // 2
    for blocking in (Blocking(3000, 120), Blocking(1000, 30)):
        began = time.perf_counter()
        pairs = candidate_pairs(arrays, blocking)
        seconds = time.perf_counter() - began
        print(f"blocking {blocking.radius_m:.0f} m × {blocking.window_days:.0f} d: "
              f"{len(pairs):,} pairs of {everything:,} ({len(pairs) / everything:.5%}) "
              f"in {seconds:.1f} s")  # fmt: skip
    tight = Blocking(1000, 30)
    began = time.perf_counter()
    result = evaluate(facts, blocking=tight)
    seconds = time.perf_counter() - began
    print(f"trained on {result.train_cases:,} solved cases ({result.train_pairs:,} pairs), "
          f"tested on {result.test_cases:,} ({result.test_pairs:,} pairs, "
          f"{result.test_linked_pairs:,} linked) in {seconds:.1f} s")  # fmt: skip
    print(f"AUC model {result.auc_model:.3f} · distance {result.auc_distance:.3f} · "
          f"time {result.auc_time:.3f} · distance+time {result.auc_distance_time:.3f} · "
          f"blocking recall {result.blocking_recall:.3f}")  # fmt: skip
    # One new case against its neighbours, as the candidates page asks.
    probe = facts[n // 2]
    began = time.perf_counter()
    near = [f for f in facts if abs((f.midpoint - probe.midpoint).days) <= 120]
    sub = CaseArrays([probe, *near])
    pairs = np.array([[0, i] for i in range(1, len(sub.cases))], dtype=np.int64)
    probabilities = result.model.probability(pair_features(sub, pairs))
    print(f"one case against {len(near):,} cases of its window: "
          f"{(time.perf_counter() - began) * 1000:.0f} ms "
          f"(top probability {probabilities.max():.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
