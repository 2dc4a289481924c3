"""`GET /api/v1/health`: whether this node can do its work, cheaply and without login.

Load balancers and supervisors poll it, so it answers 503 when the node cannot keep what
it acknowledges: the workspace disk nearly full, the operational database or the event
store not answering a trivial query. The body names each check and its state, never a
path or personal data: anyone on the network may read it. One detail is given: records the
event log lost to a damaged disk (zhian.log.damage) make the node "degraded" until an
operator acknowledges the loss (`zhian log acknowledge-damage`), and `details.event_log`
names each lost range of sequence numbers not yet acknowledged and the file kept aside in
the log's `damaged/` folder (a file name, not a path), as `zhian log damage` lists them.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Literal, TypedDict

import duckdb
import sqlalchemy.exc
from sqlalchemy import text

from zhian import __version__
from zhian.kit.loopback import PeerUnreachableError
from zhian.log.base import EventLogError
from zhian.log.damage import DAMAGED_FOLDER
from zhian.node import Node

logger = logging.getLogger(__name__)

# Under this much free space the disk counts as full: a log segment, a SQLite journal and a
# DuckDB checkpoint each need room, and an intake that cannot write answers 503 anyway.
# Whichever bound is larger applies: 100 MiB on a small disk, 1 % on a large one.
MIN_FREE_BYTES = 100 * 1024 * 1024
MIN_FREE_FRACTION = 0.01

CheckState = Literal["ok", "degraded", "failed"]


def disk_usage(path: Path) -> tuple[int, int]:
    """(total, free) bytes of the file system holding `path`; tests replace it."""
    usage = shutil.disk_usage(path)
    return usage.total, usage.free


def check_disk(workspace: Path) -> CheckState:
    try:
        total, free = disk_usage(workspace)
    except OSError:
        logger.exception("health: cannot read the workspace disk's free space")
        return "failed"
    return "failed" if free < max(MIN_FREE_BYTES, total * MIN_FREE_FRACTION) else "ok"


def check_database(node: Node) -> CheckState:
    try:
        with node.db.engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
    except sqlalchemy.exc.SQLAlchemyError:
        logger.exception("health: the operational database does not answer")
        return "failed"
    return "ok"


def check_event_store(node: Node) -> CheckState:
    try:
        # A real read (the newest event, top-1), local or asked of the worker: the
        # store's position alone is kept in memory and proves nothing about the file.
        node.event_reads.recent_events(limit=1)
    except PeerUnreachableError:
        # A web process whose worker is down or starting: intake still accepts into the
        # durable log, the store catches up when the worker answers.
        return "degraded"
    except duckdb.Error:
        logger.exception("health: the event store does not answer")
        return "failed"
    return "ok"


class LostRange(TypedDict):
    first_seq: int
    last_seq: int
    found_at: str
    kept_aside: str | None


class LogLossDetail(TypedDict):
    lost: list[LostRange]
    damaged_folder: str


def check_event_log(node: Node) -> tuple[CheckState, LogLossDetail | None]:
    """Degraded once the log has recorded a loss that no operator acknowledged yet:
    acknowledged events are gone (the node still keeps what it acknowledges now). The
    detail names those ranges and kept files."""
    try:
        losses = [loss for loss in node.log.losses() if loss.acknowledged is None]
    except (OSError, EventLogError):
        logger.exception("health: cannot read the event log's loss book")
        return "degraded", None
    if not losses:
        return "ok", None
    lost: list[LostRange] = [
        {
            "first_seq": loss.first_seq,
            "last_seq": loss.last_seq,
            "found_at": loss.found_at.isoformat(),
            "kept_aside": loss.kept_aside,
        }
        for loss in losses
    ]
    return "degraded", {"lost": lost, "damaged_folder": DAMAGED_FOLDER}


def process_info(node: Node) -> dict[str, object]:
    """Which process answered: with several web processes on one port (`serve --workers`),
    each answers for itself."""
    return {"role": node.role.value, "pid": os.getpid(), "version": __version__}


def node_health(node: Node) -> tuple[int, dict[str, object]]:
    """The HTTP status and the body: 503 when any check failed, else 200."""
    event_log, log_detail = check_event_log(node)
    checks: dict[str, CheckState] = {
        "disk": check_disk(node.settings.workspace),
        "database": check_database(node),
        "event_store": check_event_store(node),
        "event_log": event_log,
    }
    if "failed" in checks.values():
        overall = "unhealthy"
    elif "degraded" in checks.values():
        overall = "degraded"
    else:
        overall = "ok"
    body: dict[str, object] = {"status": overall, "checks": checks, "process": process_info(node)}
    if log_detail is not None:
        body["details"] = {"event_log": log_detail}
    return (503 if overall == "unhealthy" else 200), body


def check_log_reachable(node: Node) -> CheckState:
    """The log answers: its newest number is read (a round trip to NATS on that tier)."""
    try:
        node.log.durable_seq  # noqa: B018 - the read is the check
    except (OSError, EventLogError):
        logger.exception("readiness: the event log does not answer")
        return "failed"
    return "ok"


def node_readiness(node: Node) -> tuple[int, dict[str, object]]:
    """`/readyz`: 503 naming each failing part when the log, the event store or the
    database does not answer, else 200. An event store that is only "degraded" (the worker
    of a web process is down or starting) leaves the process ready: intake still goes to
    the durable log, and the store catches up when the worker answers."""
    checks: dict[str, CheckState] = {
        "event_log": check_log_reachable(node),
        "event_store": check_event_store(node),
        "database": check_database(node),
    }
    failing = [part for part, state in checks.items() if state == "failed"]
    body: dict[str, object] = {
        "status": "not_ready" if failing else "ready",
        "failing": failing,
        "checks": checks,
        "process": process_info(node),
    }
    return (503 if failing else 200), body
