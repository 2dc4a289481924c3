"""What listing a view's files costs Spark: 50 small Parquet files (one a day, as a table's
files are) read by path with Spark's default `parallelPartitionDiscovery.threshold` (32:
more paths are listed in a Spark job, a task per file) and with the engine's (100,000: in
the driver), alternately in one session, then counted.

Run: .venv/bin/python -u bench/spark_listing.py [--files 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import types as spark_types

from zhian.store.spark_queries import spark_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    print("load average at start " + "/".join(f"{v:.1f}" for v in os.getloadavg()), flush=True)
    root = Path(tempfile.mkdtemp(prefix="zhian-bench-spark-listing-"))
    try:
        paths = []
        for day in range(args.files):
            path = root / f"day={day:03d}" / "part.parquet"
            path.parent.mkdir()
            pq.write_table(pa.table({"x": list(range(1000))}), path)
            paths.append(str(path))
        began = time.perf_counter()
        session = spark_session(args.master)
        print(f"session start {time.perf_counter() - began:.1f} s", flush=True)
        schema = spark_types.StructType([spark_types.StructField("x", spark_types.LongType())])
        for _ in range(args.rounds):
            for threshold in ("32", "100000"):
                session.conf.set(
                    "spark.sql.sources.parallelPartitionDiscovery.threshold", threshold
                )
                began = time.perf_counter()
                frame = session.read.schema(schema).parquet(*paths)
                listed = time.perf_counter() - began
                count = frame.count()
                total = time.perf_counter() - began
                print(f"threshold {threshold:>6}: read (listing) {listed:5.2f} s, "
                      f"with the count {total:5.2f} s ({count} rows)", flush=True)  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
