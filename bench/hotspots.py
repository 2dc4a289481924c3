"""Hotspot forecasts (热力图) on several simulator seeds: hit rate and PAI of naive counts
(the baseline), kernel density and the self-exciting model, by rolling origin.

Run: .venv/bin/python bench/hotspots.py [--seeds 1,...,10] [--coverage 1,2,5]
         [--train-until 2025-07-01 --test-from 2025-07-01 --test-to 2025-12-31] [--cell 150]
         [--neighbours N --min-bandwidth M] [--jobs 2]

Each seed is one year of `zhian.sim.scenarios_cases.simulate_cases` (series, background
cases concentrated around lasting attractors, near-repeat burglaries), scored exactly as
`zhian eval hotspots` scores a case file (`zhian.cases.hotspot_eval.evaluate_hotspots`):
every method forecasts from what was known at each weekly origin and is scored on the
following week. The default periods train on the first half-year and test on the second;
`--train-until 2025-04-01 --test-from 2025-04-01 --test-to 2025-06-30` stays inside that
training half (a validation run: what the settings were chosen on). `--neighbours` and
`--min-bandwidth` override the self-exciting model's background kernel
(`[cases] hotspot_neighbours`, `hotspot_min_bandwidth_m`). The self-exciting model's count
share is chosen per seed on the validation window before `--train-until` (training cases
only), as the command does. `--jobs` runs that many seeds at once (processes).

Prints one line per seed and method (and the chosen share), then per method the mean over
the seeds and, for the self-exciting model, on how many seeds it beats naive counts at each
coverage (ties do not count as wins).
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime

from zhian.cases.facts import CaseFacts
from zhian.cases.hotspot_eval import (
    COUNT_SHARES,
    VALIDATION_ORIGINS,
    HotspotEvaluation,
    end_of_day,
    evaluate_hotspots,
    parse_coverages,
)
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


def evaluate(seed: int, args: argparse.Namespace, parameters: HotspotParameters) -> tuple[
    HotspotEvaluation, float
]:  # fmt: skip
    started = time.perf_counter()
    result = evaluate_hotspots(
        facts(seed), train_until=_date(args.train_until), test_from=_date(args.test_from),
        test_to=end_of_day(_date(args.test_to)), cell_m=args.cell,
        coverages_pct=parse_coverages(args.coverage), parameters=parameters,
    )  # fmt: skip
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8,9,10")
    parser.add_argument("--coverage", default="1,2,5")
    parser.add_argument("--train-until", default="2025-07-01")
    parser.add_argument("--test-from", default="2025-07-01")
    parser.add_argument("--test-to", default="2025-12-31")
    parser.add_argument("--cell", type=float, default=150.0)
    parser.add_argument("--neighbours", type=int, default=None)
    parser.add_argument("--min-bandwidth", type=float, default=None)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    coverages = parse_coverages(args.coverage)
    parameters = HotspotParameters.of(CaseSettings())
    if args.neighbours is not None:
        parameters = replace(parameters, neighbours=args.neighbours)
    if args.min_bandwidth is not None:
        parameters = replace(parameters, min_bandwidth_m=args.min_bandwidth)
    print(f"periods: train until {args.train_until}, test {args.test_from} to {args.test_to}; "
          f"cell {args.cell:g} m; self-exciting background: {parameters.neighbours} neighbours, "
          f"at least {parameters.min_bandwidth_m:g} m; count share chosen on "
          f"{VALIDATION_ORIGINS} validation origins before {args.train_until} from "
          f"{', '.join(f'{s:g}' for s in COUNT_SHARES)}")  # fmt: skip
    rates: dict[tuple[HotspotMethod, float], list[float]] = {}
    wins = {c: 0 for c in coverages}
    seeds = [int(s) for s in args.seeds.split(",")]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = pool.map(evaluate, seeds, [args] * len(seeds), [parameters] * len(seeds))
        for seed, (result, seconds) in zip(seeds, runs, strict=True):
            fit = result.last_fit
            fitted = (f"; last fit: branching {fit.branching:.2f}, mean delay "
                      f"{1 / fit.decay_per_day:.1f} d, spread {fit.spread_m:.0f} m"
                      if fit else "")  # fmt: skip
            tried = " ".join(f"{s:g}:{r:.3f}" for s, r in result.validation.items())
            print(f"seed {seed}: {result.test_cases} test cases, {result.origins} origins, "
                  f"{result.cells} cells, {seconds:.0f} s{fitted}; count share "
                  f"{result.count_share:g} (validation {tried})")  # fmt: skip
            for method in HotspotMethod:
                figures = []
                for coverage in coverages:
                    rate = result.score(method, coverage).hit_rate
                    rates.setdefault((method, coverage), []).append(rate)
                    figures.append(
                        f"{coverage:g}%: {rate:.3f} (PAI {result.pai(method, coverage):.1f})"
                    )
                print(f"  {NAMES[method]:<15} " + "  ".join(figures), flush=True)
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
