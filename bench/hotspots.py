"""Hotspot forecasts (热力图) on several simulator seeds: hit rate and PAI of naive counts
(the baseline), kernel density and the self-exciting model, by rolling origin.

Run: .venv/bin/python bench/hotspots.py [--seeds 1,2,3,4,5,6] [--coverage 1,2,5]
         [--train-until 2025-07-01 --test-from 2025-07-01 --test-to 2025-12-31] [--cell 150]
         [--neighbours N --min-bandwidth M]

Each seed is one year of `zhian.sim.scenarios_cases.simulate_cases` (series, background
cases concentrated around lasting attractors, near-repeat burglaries), scored exactly as
`zhian eval hotspots` scores a case file (`zhian.cases.hotspot_eval.evaluate_hotspots`):
every method forecasts from what was known at each weekly origin and is scored on the
following week. The default periods train on the first half-year and test on the second;
`--train-until 2025-04-01 --test-from 2025-04-01 --test-to 2025-06-30` stays inside that
training half (a validation run: what the settings were chosen on). `--neighbours` and
`--min-bandwidth` override the self-exciting model's background kernel
(`[cases] hotspot_neighbours`, `hotspot_min_bandwidth_m`).

Prints one line per seed and method, then per method the mean over the seeds and, for the
self-exciting model, on how many seeds it beats naive counts at each coverage.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from datetime import datetime

from zhian.cases.facts import CaseFacts
from zhian.cases.hotspot_eval import end_of_day, evaluate_hotspots, parse_coverages
from zhian.cases.hotspots import HotspotMethod, HotspotParameters
from zhian.cases.settings import CaseSettings
from zhian.sim.scenarios_cases import simulate_cases
from zhian.sim.timeline import TZ

NAMES = {HotspotMethod.NAIVE: "naive counts", HotspotMethod.KDE: "kernel density",
         HotspotMethod.SELF_EXCITING: "self-exciting"}  # fmt: skip


def facts(seed: int) -> list[CaseFacts]:
    planted = simulate_cases(seed=seed, start=datetime(2025, 1, 1, tzinfo=TZ), days=365)
    return [
        CaseFacts(case_id=c.case_id, category=c.category, time_from=c.time_from,
                  time_to=c.time_to, latitude=c.place.latitude, longitude=c.place.longitude,
                  time_of_day="unknown")
        for c in planted.cases
    ]  # fmt: skip


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5,6")
    parser.add_argument("--coverage", default="1,2,5")
    parser.add_argument("--train-until", default="2025-07-01")
    parser.add_argument("--test-from", default="2025-07-01")
    parser.add_argument("--test-to", default="2025-12-31")
    parser.add_argument("--cell", type=float, default=150.0)
    parser.add_argument("--neighbours", type=int, default=None)
    parser.add_argument("--min-bandwidth", type=float, default=None)
    args = parser.parse_args()
    coverages = parse_coverages(args.coverage)
    parameters = HotspotParameters.of(CaseSettings())
    if args.neighbours is not None:
        parameters = replace(parameters, neighbours=args.neighbours)
    if args.min_bandwidth is not None:
        parameters = replace(parameters, min_bandwidth_m=args.min_bandwidth)
    print(f"periods: train until {args.train_until}, test {args.test_from} to {args.test_to}; "
          f"cell {args.cell:g} m; self-exciting background: {parameters.neighbours} neighbours, "
          f"at least {parameters.min_bandwidth_m:g} m")  # fmt: skip
    rates: dict[tuple[HotspotMethod, float], list[float]] = {}
    wins = {c: 0 for c in coverages}
    seeds = [int(s) for s in args.seeds.split(",")]
    for seed in seeds:
        started = time.perf_counter()
        result = evaluate_hotspots(
            facts(seed), train_until=_date(args.train_until), test_from=_date(args.test_from),
            test_to=end_of_day(_date(args.test_to)), cell_m=args.cell, coverages_pct=coverages,
            parameters=parameters,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        fit = result.last_fit
        fitted = (f"; last fit: branching {fit.branching:.2f}, mean delay "
                  f"{1 / fit.decay_per_day:.1f} d, spread {fit.spread_m:.0f} m"
                  if fit else "")  # fmt: skip
        print(f"seed {seed}: {result.test_cases} test cases, {result.origins} origins, "
              f"{result.cells} cells, {seconds:.0f} s{fitted}")  # fmt: skip
        for method in HotspotMethod:
            figures = []
            for coverage in coverages:
                rate = result.score(method, coverage).hit_rate
                rates.setdefault((method, coverage), []).append(rate)
                figures.append(
                    f"{coverage:g}%: {rate:.3f} (PAI {result.pai(method, coverage):.1f})"
                )
            print(f"  {NAMES[method]:<15} " + "  ".join(figures))
        for coverage in coverages:
            model = result.score(HotspotMethod.SELF_EXCITING, coverage).hit_rate
            wins[coverage] += model > result.score(HotspotMethod.NAIVE, coverage).hit_rate
    print(f"mean hit rate over {len(seeds)} seeds:")
    for method in HotspotMethod:
        means = "  ".join(f"{c:g}%: {statistics.fmean(rates[method, c]):.4f}" for c in coverages)
        print(f"  {NAMES[method]:<15} {means}")
    print("self-exciting beats naive counts on " + ", ".join(
        f"{wins[c]}/{len(seeds)} seeds at {c:g}%" for c in coverages))  # fmt: skip


if __name__ == "__main__":
    main()
