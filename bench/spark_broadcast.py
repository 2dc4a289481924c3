"""What broadcasting a reference table saves Spark: event rows in a Parquet file (over the
10 MB that Spark broadcasts by itself) joined to a reference table the engine makes from
Python rows (as `SparkEventQueries` does with `m_devices`, `m_keys`...), which Spark cannot
size: without a hint it plans a sort-merge join that shuffles both sides. The same query
with the view as made before and with the broadcast hint the engine now gives, alternately
in one session.

Run: .venv/bin/python -u bench/spark_broadcast.py [--events 3000000] [--keys 40000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zhian.store.spark_queries import SparkEventQueries, spark_session

SQL = "SELECT k.kind, count(*) FROM ev e JOIN m_keys k ON k.device_id = e.device_id GROUP BY k.kind"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--keys", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    print("load average at start " + "/".join(f"{v:.1f}" for v in os.getloadavg()), flush=True)
    root = Path(tempfile.mkdtemp(prefix="zhian-bench-spark-broadcast-"))
    try:
        rng = np.random.default_rng(1)
        devices = pa.array([f"D{i}" for i in rng.integers(0, args.keys, args.events)])
        events = pa.table({"device_id": devices, "x": rng.integers(0, 2**62, args.events)})
        pq.write_table(events, root / "events.parquet")
        size = (root / "events.parquet").stat().st_size / 2**20
        print(f"{args.events:,} events ({size:.0f} MiB) joined to {args.keys:,} keys", flush=True)
        session = spark_session(args.master)
        session.read.parquet(str(root / "events.parquet")).createOrReplaceTempView("ev")
        # The engine's own way of making a reference view (now with the hint).
        engine = SparkEventQueries(lambda: session, lambda since, until: {})
        keys = pa.table({
            "device_id": pa.array([f"D{i}" for i in range(args.keys)]),
            "kind": pa.array(["door"] * args.keys),
        })  # fmt: skip
        for round_ in range(1, args.rounds + 1):
            seconds = {}
            for name in ("unsized", "broadcast"):
                engine._arrow("m_keys", keys)
                if name == "unsized":  # the frame as made before the hint
                    rows = [tuple(r.values()) for r in keys.to_pylist()]
                    schema = session.table("m_keys").schema
                    session.createDataFrame(rows, schema).createOrReplaceTempView("m_keys")
                plan = session.sql(SQL)._jdf.queryExecution().executedPlan().toString()
                join = "broadcast" if "BroadcastHashJoin" in plan else "sort-merge"
                began = time.perf_counter()
                session.sql(SQL).collect()
                seconds[name] = time.perf_counter() - began
                print(f"round {round_}  {name:9} ({join} join planned) {seconds[name]:6.2f} s",
                      flush=True)  # fmt: skip
            load = "/".join(f"{v:.1f}" for v in os.getloadavg())
            ratio = seconds["unsized"] / seconds["broadcast"]
            print(f"round {round_}  × {ratio:.2f}   load average {load}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
