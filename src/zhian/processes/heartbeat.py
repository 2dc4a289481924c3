"""Heartbeats: each process of a node writes what it is and how far behind it stands.

A process's row is renewed every `HEARTBEAT_SECONDS` and counts as live while it is at
most `EXPIRES_SECONDS` old; a process that stops cleanly deletes its row, one killed is
left out once its row expires (and the row is deleted by the next beat of any process
a while later). Times are wall-clock UTC (the system clock), whatever clock the node's
domain logic runs on: a heartbeat says when a process last answered, in real time.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import msgspec
import sqlalchemy.exc
from sqlalchemy import delete, select

from zhian import __version__
from zhian.db.engine import Database
from zhian.kit.clock import Clock, SystemClock
from zhian.kit.histogram import HistogramState
from zhian.kit.loops import BackgroundLoop
from zhian.processes.models import ProcessHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS: Final = 5.0
EXPIRES_SECONDS: Final = 30.0
# Rows of processes gone this long are deleted by any process's beat.
_FORGET_SECONDS: Final = 600.0


class ProcessFigures(msgspec.Struct, frozen=True):
    """Counts a process reports of itself (never a record).

    `readers`: each log reader it runs and its lag in records; `intake_accepted`: events
    its intake accepted since it started (web and single processes); `rule_latency`: the
    rules' latency histograms (`event_time`: event time to alert raised; `arrival`: the
    intake's arrival time to alert raised); `model_run_seconds`: each batch model's run
    times since the process started.
    """

    readers: dict[str, int] = {}
    intake_accepted: int | None = None
    rule_latency: dict[str, HistogramState] = {}
    model_run_seconds: dict[str, HistogramState] = {}


class ProcessReport(msgspec.Struct, frozen=True):
    """One live process of the node, as its last heartbeat described it."""

    key: str
    role: str
    version: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    lag_records: int | None
    figures: ProcessFigures


FigureSource = Callable[[], tuple[int | None, ProcessFigures]]


class Heartbeat:
    """Writes this process's row every `interval_seconds` until stopped, then deletes it."""

    def __init__(
        self,
        db: Database,
        role: str,
        figures: FigureSource,
        *,
        clock: Clock | None = None,
        interval_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._db = db
        self._role = role
        self._figures = figures
        self._clock = clock or SystemClock()
        self.host = socket.gethostname()[:128]
        self.pid = os.getpid()
        self.started_at = self._clock.now()
        self.key = f"{self.host}:{self.pid}:{self.started_at.timestamp():.6f}"[:200]
        self._loop = BackgroundLoop(
            "heartbeat", self._step, interval_seconds=interval_seconds, logger=logger
        )

    def beat(self) -> None:
        """Write the row now (and forget rows of processes long gone)."""
        lag, figures = self._figures()
        now = self._clock.now()
        with self._db.session() as session:
            row = session.get(ProcessHeartbeat, self.key)
            if row is None:
                row = ProcessHeartbeat(
                    key=self.key,
                    role=self._role,
                    version=__version__,
                    host=self.host,
                    pid=self.pid,
                    started_at=self.started_at,
                    seen_at=now,
                )
                session.add(row)
            row.seen_at = now
            row.lag_records = lag
            row.figures = msgspec.to_builtins(figures)
            session.execute(
                delete(ProcessHeartbeat).where(
                    ProcessHeartbeat.seen_at < now - timedelta(seconds=_FORGET_SECONDS)
                )
            )

    def _step(self) -> None:
        self.beat()  # an error is logged by the loop, which tries again

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        """Stop beating and delete the row: a process that stopped is not listed."""
        self._loop.stop()
        try:
            with self._db.session() as session:
                session.execute(delete(ProcessHeartbeat).where(ProcessHeartbeat.key == self.key))
        except sqlalchemy.exc.SQLAlchemyError:  # the row expires on its own
            logger.warning("heartbeat: the row of this process could not be deleted")


def live_processes(db: Database, clock: Clock | None = None) -> list[ProcessReport]:
    """Every process whose heartbeat is fresh, by role, host and pid."""
    now = (clock or SystemClock()).now()
    with db.session() as session:
        rows = session.scalars(
            select(ProcessHeartbeat)
            .where(ProcessHeartbeat.seen_at >= now - timedelta(seconds=EXPIRES_SECONDS))
            .order_by(ProcessHeartbeat.role, ProcessHeartbeat.host, ProcessHeartbeat.pid)
        ).all()
        return [
            ProcessReport(
                key=row.key,
                role=row.role,
                version=row.version,
                host=row.host,
                pid=row.pid,
                started_at=row.started_at,
                seen_at=row.seen_at,
                lag_records=row.lag_records,
                figures=msgspec.convert(row.figures or {}, ProcessFigures),
            )
            for row in rows
        ]
