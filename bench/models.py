"""The batch models over a large event store, against PostgreSQL on the same data.

Run: .venv/bin/python bench/models.py [--events 10000000] [--scale 2] [--pg-url URL]

The simulator streams a district (scale `--scale`) until `--events` events; they are
stored in DuckDB through `EventStore.apply` (the store's own write path, in batches of
200,000, plates and subject refs tokenised and sealed as in a node). Each model then
runs once at the stream's end, alone, and its wall time and the process's peak resident
memory during the run are printed. In the same run the access,
vehicle and face rows (the only tables the models read) are copied into a scratch
PostgreSQL database, indexed (time, subject key, plate, device), and each model's SQL,
written for PostgreSQL, runs there: the ratios are PostgreSQL time / DuckDB time. The
DuckDB figure includes the model's Python part (sentences, filters); the PostgreSQL one is
the SQL and fetch only, which favours the baseline.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from scaled_models import master_of  # the registry as a node holds it: tokens
from zhian.config import ModelSettings
from zhian.governance.crypto import FieldCipher
from zhian.governance.identity import IdentitySealer
from zhian.governance.keys import generate_keyring
from zhian.governance.tokens import Tokeniser
from zhian.governance.vault import IdentifierVault
from zhian.ingest.events import Event, LoggedEvent
from zhian.models.base import ModelRun
from zhian.models.catalogue import MODELS
from zhian.models.master import MasterData
from zhian.sim import TZ, Simulation, build_district
from zhian.sim.scenarios_housing import WELFARE_OPTIN
from zhian.store.events import EventStore

BATCH = 200_000
START = datetime(2026, 1, 1, tzinfo=TZ)


def rss_bytes() -> int:
    with Path("/proc/self/status").open() as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """The highest resident set size seen while a block runs (sampled every 5 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakMemory:
        self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def bench_vault() -> IdentifierVault:
    """The node's vault with a fresh key ring; sealed values are discarded (the operational
    database is not part of this benchmark), tokens and sealing cost what they cost."""
    ring = generate_keyring()
    sealer = IdentitySealer(FieldCipher(ring), Tokeniser(ring.token_key))
    return IdentifierVault(sealer, lambda rows: None, lambda: datetime.now(UTC))


def load_duckdb(store: EventStore, events: Iterator[Event]) -> tuple[int, datetime]:
    now = datetime.now(UTC)
    seq = 0
    last = START
    while chunk := list(itertools.islice(events, BATCH)):
        batch = [(seq + i + 1, LoggedEvent(now, "bench", e)) for i, e in enumerate(chunk)]
        store.apply(batch)
        seq += len(chunk)
        last = chunk[-1].time
    return seq, last


PG_SCHEMA = """
CREATE TABLE access_events (event_id text, device_id text, time timestamptz,
  subject_kind text, subject_ref text, direction text, result text);
CREATE TABLE vehicle_events (event_id text, device_id text, time timestamptz, plate text,
  vehicle_class text, direction text);
CREATE TABLE face_events (event_id text, device_id text, time timestamptz,
  subject_kind text, subject_ref text);
CREATE TABLE m_keys (key text PRIMARY KEY, resident_id text);
CREATE TABLE m_devices (device_id text PRIMARY KEY, kind text, community_id text,
  unit_id text, house_id text, building_id text, is_residential boolean);
CREATE TABLE m_vehicles (plate text PRIMARY KEY, community_id text, owner_id text);
"""
PG_INDEXES = """
CREATE INDEX ON access_events (time);
CREATE INDEX ON access_events ((subject_kind || ':' || subject_ref));
CREATE INDEX ON access_events (device_id); CREATE INDEX ON vehicle_events (time);
CREATE INDEX ON vehicle_events (plate); CREATE INDEX ON vehicle_events (device_id);
CREATE INDEX ON face_events (time);
CREATE INDEX ON face_events ((subject_kind || ':' || subject_ref));
ANALYZE;
"""

PG_SIGHTINGS = """
WITH s AS (
  SELECT k.resident_id, a.time, a.event_id, a.device_id, 'access' AS type, a.direction
  FROM access_events a JOIN m_keys k ON k.key = a.subject_kind || ':' || a.subject_ref
  WHERE a.result = 'granted' AND a.time >= %(since)s AND a.time < %(now)s
  UNION ALL
  SELECT k.resident_id, f.time, f.event_id, f.device_id, 'face', NULL
  FROM face_events f JOIN m_keys k ON k.key = f.subject_kind || ':' || f.subject_ref
  WHERE f.time >= %(since)s AND f.time < %(now)s
  UNION ALL
  SELECT v.owner_id, e.time, e.event_id, e.device_id, 'vehicle', e.direction
  FROM vehicle_events e JOIN m_vehicles v ON v.plate = e.plate
  WHERE v.owner_id IS NOT NULL AND e.time >= %(since)s AND e.time < %(now)s
)
SELECT l.*, d.direction, d.time FROM
  (SELECT DISTINCT ON (resident_id) * FROM s ORDER BY resident_id, time DESC) l
  LEFT JOIN (SELECT DISTINCT ON (resident_id) resident_id, direction, time FROM s
             WHERE direction IS NOT NULL ORDER BY resident_id, time DESC) d USING (resident_id)
"""
_LT = "((a.time AT TIME ZONE 'UTC') + make_interval(secs => %(offset)s))"
PG_NIGHTS = f"""
WITH p AS (
  SELECT a.subject_kind || ':' || a.subject_ref AS who, a.subject_kind AS kind, a.direction,
         a.time, a.event_id, d.community_id, d.unit_id, {_LT} AS lt
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= %(since)s AND a.time < %(now)s
    AND NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)
), nights AS (
  SELECT DISTINCT ON (who, night) who, (lt - interval '12 hours')::date AS night, direction
  FROM p WHERE extract(hour FROM lt) >= 17 OR extract(hour FROM lt) < 3
  ORDER BY who, night, time DESC
), present AS (
  SELECT who, array_agg(night ORDER BY night) AS nights FROM nights
  WHERE direction = 'in' GROUP BY who
)
SELECT p.who, min(p.kind), min(p.time), present.nights,
       mode() WITHIN GROUP (ORDER BY p.unit_id), mode() WITHIN GROUP (ORDER BY p.community_id),
       (array_agg(p.event_id ORDER BY p.time DESC))[1:8]
FROM p JOIN present USING (who) GROUP BY p.who, present.nights
"""
PG_ZOMBIE = """
SELECT DISTINCT ON (e.plate, d.community_id) e.plate, d.community_id, e.direction, e.time
FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
WHERE d.kind = 'vehicle_gate' AND d.is_residential AND e.time >= %(since)s AND e.time < %(now)s
  AND NOT EXISTS (SELECT 1 FROM m_vehicles v WHERE v.plate = e.plate
                  AND v.community_id = d.community_id)
ORDER BY e.plate, d.community_id, e.time DESC
"""
PG_RESTRICTED = """
SELECT e.plate, e.vehicle_class, d.community_id, e.event_id, e.time, e.direction
FROM vehicle_events e JOIN m_devices d ON d.device_id = e.device_id
WHERE d.kind = 'vehicle_gate' AND d.is_residential
  AND e.vehicle_class IN ('muck_truck', 'hazmat') AND e.time >= %(day2)s AND e.time < %(now)s
ORDER BY e.time
"""
PG_CASING = f"""
SELECT a.subject_kind || ':' || a.subject_ref, d.community_id, d.unit_id, a.time
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id
WHERE a.result = 'granted' AND a.direction = 'in' AND d.unit_id IS NOT NULL
  AND a.subject_kind <> 'visitor' AND a.time >= %(day1)s AND a.time < %(now)s
  AND NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)
  AND (a.subject_kind || ':' || a.subject_ref) IN (
    SELECT b.subject_kind || ':' || b.subject_ref FROM access_events b
    JOIN m_devices u ON u.device_id = b.device_id AND u.unit_id IS NOT NULL
    WHERE b.time >= %(day1)s AND b.time < %(now)s AND b.direction = 'in'
    GROUP BY 1 HAVING count(DISTINCT u.unit_id) >= 5)
ORDER BY 1, a.time;
SELECT a.subject_kind || ':' || a.subject_ref, ({_LT})::date, count(DISTINCT d.community_id)
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
WHERE a.result = 'granted' AND a.direction = 'in' AND a.subject_kind <> 'visitor'
  AND a.time >= %(day1)s AND a.time < %(now)s
  AND NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)
GROUP BY 1, 2 HAVING count(DISTINCT d.community_id) >= 3
"""
PG_GROUP_RENTAL = f"""
SELECT d.house_id, coalesce(k.resident_id, a.subject_kind || ':' || a.subject_ref),
       min(a.subject_kind), min(a.time), array_agg(DISTINCT ({_LT})::date),
       (array_agg(a.event_id ORDER BY a.time DESC))[1:2]
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.house_id IS NOT NULL
LEFT JOIN m_keys k ON k.key = a.subject_kind || ':' || a.subject_ref
WHERE a.result = 'granted' AND a.time >= %(since)s AND a.time < %(now)s
GROUP BY 1, 2
"""
PG_QUERIES = {
    "model.group_rental": [PG_GROUP_RENTAL],
    "model.unregistered_resident": [PG_NIGHTS],
    "model.moved_out": [PG_SIGHTINGS],
    "model.vacant_house": [PG_SIGHTINGS],
    "model.welfare_check": [PG_SIGHTINGS],
    "model.zombie_vehicle": [PG_ZOMBIE],
    "model.restricted_vehicle": [PG_RESTRICTED],
    "model.casing": PG_CASING.split(";\n"),
}


def load_postgres(conn: psycopg.Connection[Any], store: EventStore, master: MasterData) -> None:
    conn.execute(PG_SCHEMA)
    copies: list[tuple[str, str, str]] = [
        ("access_events", "event_id, device_id, time, subject_kind, subject_ref, direction, "
         "result", "access_events"),
        ("vehicle_events", "event_id, device_id, time, plate, vehicle_class, direction",
         "vehicle_events"),
        ("face_events", "event_id, device_id, time, subject_kind, subject_ref", "face_events"),
    ]  # fmt: skip
    for table, columns, source in copies:
        # Through a CSV file: DuckDB writes it in one pass, PostgreSQL's COPY reads it.
        path = store.path.with_name(f"{table}.csv")
        store.query(f"COPY (SELECT {columns} FROM {source}) TO '{path}' (HEADER false)")
        sql = f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)"
        with conn.cursor().copy(sql) as copy, path.open("rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        path.unlink()
    for name, table in master.reference.by_name().items():
        if name == "m_optins" or name == "m_residents":
            continue
        columns = ", ".join(table.column_names)
        with conn.cursor().copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
            for row in zip(*(table.column(c).to_pylist() for c in table.column_names), strict=True):
                copy.write_row(row)
    conn.commit()
    conn.autocommit = True
    for statement in PG_INDEXES.split(";"):
        if statement.strip():
            conn.execute(statement)


def timed(action: Callable[[], object]) -> tuple[float, int]:
    with PeakMemory() as memory:
        began = time.perf_counter()
        action()
        seconds = time.perf_counter() - began
    return seconds, memory.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    district = build_district(seed=args.seed, scale=args.scale)
    simulation = Simulation(district, start=START, end=None, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="zhian-bench-models-") as folder:
        store = EventStore(Path(folder) / "events.duckdb", bench_vault())
        began = time.perf_counter()
        stored, last = load_duckdb(store, itertools.islice(simulation.events(), args.events))
        load_seconds = time.perf_counter() - began
        counts = store.queries.count_by_type()
        optins = [r.subject for r in simulation.truth if r.scenario == WELFARE_OPTIN]
        master = master_of(district, optins, store.protector.token)
        now = last.astimezone(UTC)
        days = (last - START).total_seconds() / 86400
        size = (Path(folder) / "events.duckdb").stat().st_size
        print(f"{stored:,} events ({days:.0f} days at scale {args.scale}) stored in "
              f"{load_seconds:.0f} s; DuckDB file {size / 2**30:.2f} GiB; {counts}")  # fmt: skip
        settings = ModelSettings()
        duck: dict[str, tuple[float, int]] = {}
        for model in MODELS:
            run = ModelRun(
                queries=store.queries,
                sealer=store.protector,
                master=master,
                settings=settings,
                now=now,
                overrides={},
            )
            drafts: list[Any] = []

            def run_duck(model: Any = model, run: ModelRun = run, out: list[Any] = drafts) -> None:
                out.extend(model.run(run))

            duck[model.name] = timed(run_duck)
            seconds, peak = duck[model.name]
            print(f"duckdb   {model.name:28} {seconds:7.2f} s  peak RSS {peak / 2**30:5.2f} GiB  "
                  f"{len(drafts)} drafts")  # fmt: skip
        if args.no_postgres:
            return
        name = f"zhian_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_url, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
            with psycopg.connect(url) as conn:
                began = time.perf_counter()
                load_postgres(conn, store, master)
                print(f"PostgreSQL loaded and indexed in {time.perf_counter() - began:.0f} s")
                params = {
                    "now": now,
                    "since": now - timedelta(days=settings.lookback_days),
                    "day1": now - timedelta(days=1),
                    "day2": now - timedelta(days=2),
                    "offset": int(settings.utc_offset_hours * 3600),
                }
                for model in MODELS:

                    def run_pg(queries: list[str] = PG_QUERIES[model.name]) -> None:
                        for sql in queries:
                            conn.execute(sql, params).fetchall()

                    seconds, _ = timed(run_pg)
                    ratio = seconds / max(duck[model.name][0], 1e-9)
                    print(f"postgres {model.name:28} {seconds:7.2f} s  ratio postgres/duckdb "
                          f"{ratio:6.1f}×")  # fmt: skip
        finally:
            with psycopg.connect(args.pg_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name}")
        store.close()


if __name__ == "__main__":
    main()
