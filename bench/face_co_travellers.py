"""Co-travellers on a face (同行): precision and recall against a planted scenario's truth.

Run: .venv/bin/python bench/face_co_travellers.py [--seeds 10] [--thresholds 0.3,0.6,0.9]

For each threshold, one `zhian.sim.face_companions` scenario per seed (a subject at 8 of 40
face cameras over 14 days, 3 companions at 4 of its places, 4 decoys at 2, 2 trailers
minutes behind at every place, 1,500 passers-by), searched as the API does for a face
(Δt 60 s, k 3): prints the faces found, precision, recall, companions split into several
faces, the share of the subject's own captures matched, and the seconds per scenario.
"""

from __future__ import annotations

import argparse
import time

from zhian.evaluation.face_co_travellers import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--thresholds", default="0.3,0.6,0.9")
    args = parser.parse_args()
    print(f"{'threshold':>9} {'found':>5} {'precision':>9} {'recall':>6} {'splits':>6} "
          f"{'subject':>7} {'s/scenario':>10}")  # fmt: skip
    for threshold in (float(t) for t in args.thresholds.split(",")):
        started = time.perf_counter()
        score = evaluate(range(1, args.seeds + 1), threshold)
        seconds = (time.perf_counter() - started) / args.seeds
        print(f"{threshold:>9.2f} {score.found:>5} {score.precision:>9.3f} {score.recall:>6.3f} "
              f"{score.splits:>6} {score.subject_recall:>7.3f} {seconds:>10.2f}")  # fmt: skip
    print(f"({args.seeds} seeds, {score.planted} companions planted per threshold)")


if __name__ == "__main__":
    main()
