"""Operations figures in the Prometheus text format: `/metrics` and `/api/v1/metrics`.

Two kinds of figure (docs/operations.md lists every metric):

- Counted by this process as it works: HTTP request durations by route, intake events by
  source and outcome, rejections by reason. With `zhian serve --workers N` each web
  process counts its own, in the multiprocess files of prometheus_client
  (`PROMETHEUS_MULTIPROC_DIR`, which `zhian.cli.serving` sets), and whichever process
  answers a scrape sums them all: a scrape sees the node, not one process at random.
- Read at scrape time from what every process shares: the log's newest record and each
  named reader's position and lag, the event store's lag, alerts by state, tier and SLA
  breach. A part that does not answer is left out and `zhian_part_up{part}` says 0.

Counts only, never a record, but counts still describe the node's activity: `/metrics`
answers clients on this machine (`web.metrics_on_loopback`), `/api/v1/metrics` anyone with
an API token of a role holding `operations.metrics`.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Final

import duckdb
import sqlalchemy.exc
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhian import __version__
from zhian.errors import ForbiddenError
from zhian.ingest.service import IntakeCount
from zhian.kit.logs import REQUEST_ID
from zhian.kit.loopback import PeerUnreachableError
from zhian.log.base import EventLogError
from zhian.node import Node
from zhian.web.health import node_readiness, process_info
from zhian.web.openapi_errors import error_responses

logger = logging.getLogger(__name__)

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER: Final = "x-request-id"
# A request id a client sends is kept when it is this plain; anything else is replaced.
_CLIENT_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
# Seconds: an intake batch is acknowledged in milliseconds, a page in tens of them.
_DURATION_BUCKETS: Final = (
    *(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
    *(0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

router = APIRouter(tags=["operations"])


class OperationsMetrics:
    """The counters and histograms of one web app, and the scrape that reports them."""

    def __init__(self, node: Node) -> None:
        self._node = node
        # Per app, not prometheus_client's global registry: tests build many apps.
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "zhian_http_request_duration_seconds",
            "Time to the start of the response, by method, route template and status.",
            ["method", "route", "status"],
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.intake_events = Counter(
            "zhian_intake_events",
            "Events the intake answered, by source protocol and outcome "
            "(accepted, duplicate, rejected).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.intake_rejections = Counter(
            "zhian_intake_rejections",
            "Events the intake refused (kept in quarantine), by reason code.",
            ["reason"],
            registry=self.registry,
        )
        self.intake_requests = Counter(
            "zhian_intake_requests",
            "Intake requests (batches), by source protocol.",
            ["source"],
            registry=self.registry,
        )
        self._node_figures = NodeFigures(node)
        self.registry.register(self._node_figures)
        node.intake.observers.append(self.count_intake)

    def count_intake(self, count: IntakeCount) -> None:
        self.intake_requests.labels(count.source).inc()
        if count.accepted:
            self.intake_events.labels(count.source, "accepted").inc(count.accepted)
        if count.duplicate:
            self.intake_events.labels(count.source, "duplicate").inc(count.duplicate)
        if count.rejected_codes:
            self.intake_events.labels(count.source, "rejected").inc(len(count.rejected_codes))
            for reason in count.rejected_codes:
                self.intake_rejections.labels(reason).inc()

    def exposition(self) -> bytes:
        """The text a scrape gets: every process's counters when several share the port."""
        folder = os.environ.get(MULTIPROCESS_ENV)
        if not folder:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
        registry.register(self._node_figures)
        return generate_latest(registry)


class NodeFigures(Collector):
    """Figures read at scrape time from what every process of the node shares."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        node = self._node
        up = GaugeMetricFamily(
            "zhian_part_up", "1 when the part answered this scrape, else 0.", labels=["part"]
        )
        info = GaugeMetricFamily(
            "zhian_process_info",
            "The process that answered: its role and version (always 1).",
            labels=["role", "version"],
        )
        info.add_metric([node.role.value, __version__], 1)
        yield info
        log_figures = self._log_figures()
        up.add_metric(["event_log"], 1 if log_figures is not None else 0)
        if log_figures is not None:
            durable, families = log_figures
            yield from families
            store = self._store_lag(durable)
            up.add_metric(["event_store"], 1 if store is not None else 0)
            if store is not None:
                yield store
        alerts = self._alert_figures()
        processes = self._process_figures() if alerts is not None else None
        up.add_metric(["database"], 1 if alerts is not None and processes is not None else 0)
        if alerts is not None:
            yield alerts
        if processes is not None:
            yield from processes
        yield up

    def _process_figures(self) -> list[Metric] | None:
        """Each live process of the node, from its heartbeat (zhian.processes): when it
        last beat, its lag, and the figures of a process that serves no HTTP (the worker's
        rule latency and model run times), labelled by process, up to a heartbeat old."""
        try:
            reports = self._node.processes()
        except sqlalchemy.exc.SQLAlchemyError:
            logger.exception("metrics: the operational database does not answer")
            return None
        seen = GaugeMetricFamily(
            "zhian_process_heartbeat_timestamp_seconds",
            "When each live process of the node last wrote its heartbeat (Unix time).",
            labels=["role", "host", "pid", "version"],
        )
        lag = GaugeMetricFamily(
            "zhian_process_lag_records",
            "Log records the readers a process runs have still to do (the largest).",
            labels=["role", "host", "pid"],
        )
        latency = HistogramMetricFamily(
            "zhian_rule_latency_seconds",
            "Seconds from an event (`since`: its event time, or its arrival at the intake) "
            "to the alert the rules raised for it (committed), live events only.",
            labels=["role", "host", "pid", "since"],
        )
        model_seconds = HistogramMetricFamily(
            "zhian_model_run_seconds",
            "Seconds each batch model took per run (its queries and its own work).",
            labels=["role", "host", "pid", "model"],
        )
        for report in reports:
            who = [report.role, report.host, str(report.pid)]
            seen.add_metric([*who, report.version], report.seen_at.timestamp())
            if report.lag_records is not None:
                lag.add_metric(who, report.lag_records)
            for since, state in report.figures.rule_latency.items():
                latency.add_metric([*who, since], state.cumulative(), state.sum)
            for model, state in report.figures.model_run_seconds.items():
                model_seconds.add_metric([*who, model], state.cumulative(), state.sum)
        return [seen, lag, latency, model_seconds]

    def _log_figures(self) -> tuple[int, list[Metric]] | None:
        try:
            durable = self._node.log.durable_seq
            positions = self._node.log.readers.positions()
        except (OSError, EventLogError):  # a scrape reports the part as down, never fails
            logger.exception("metrics: the event log does not answer")
            return None
        newest = GaugeMetricFamily(
            "zhian_log_durable_seq", "Sequence number of the newest record the log holds."
        )
        newest.add_metric([], durable)
        position = GaugeMetricFamily(
            "zhian_log_reader_position",
            "Newest log record each named reader is done with.",
            labels=["reader"],
        )
        lag = GaugeMetricFamily(
            "zhian_log_reader_lag_records",
            "Log records each named reader has still to do (newest record less its position).",
            labels=["reader"],
        )
        updated = GaugeMetricFamily(
            "zhian_log_reader_updated_timestamp_seconds",
            "When each named reader last moved its position (Unix time).",
            labels=["reader"],
        )
        for reader in positions:
            position.add_metric([reader.name], reader.seq)
            lag.add_metric([reader.name], max(0, durable - reader.seq))
            updated.add_metric([reader.name], reader.updated_at.timestamp())
        return durable, [newest, position, lag, updated]

    def _store_lag(self, durable: int) -> Metric | None:
        try:
            stored = self._node.event_reads.last_seq()
        except (PeerUnreachableError, duckdb.Error):  # the worker down or starting
            logger.warning("metrics: the event store does not answer", exc_info=True)
            return None
        lag = GaugeMetricFamily(
            "zhian_store_lag_records", "Log records not yet in the event store."
        )
        lag.add_metric([], max(0, durable - stored))
        return lag

    def _alert_figures(self) -> Metric | None:
        try:
            with self._node.alerts() as alerts:
                rows = alerts.counts_by_state()
        except sqlalchemy.exc.SQLAlchemyError:
            logger.exception("metrics: the operational database does not answer")
            return None
        family = GaugeMetricFamily(
            "zhian_alerts",
            "Alerts by state, severity tier and whether an SLA deadline was breached.",
            labels=["state", "tier", "breached"],
        )
        for state, tier, breached, count in rows:
            family.add_metric([state, tier, "true" if breached else "false"], count)
        return family


class RequestObserver:
    """ASGI middleware: gives every request an id (`X-Request-ID`, kept for the log lines
    it causes) and times it to the start of its response, by route template."""

    def __init__(self, app: ASGIApp, metrics: OperationsMetrics) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
                self._metrics.request_seconds.labels(
                    scope["method"], _route_of(scope), str(message["status"])
                ).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            text: str = bytes(value).decode("latin-1")
            if _CLIENT_REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


def _route_of(scope: Scope) -> str:
    """The route's template (`/alerts/{alert_id}`), never the raw path: one series per
    route, however many ids clients send."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def install(app: FastAPI, node: Node) -> OperationsMetrics:
    """Count and time every request of `app`; the routes below read the result."""
    metrics = OperationsMetrics(node)
    app.state.metrics = metrics
    app.add_middleware(RequestObserver, metrics=metrics)
    app.include_router(router)
    return metrics


def _exposition(request: Request) -> Response:
    metrics: OperationsMetrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)


@router.get(
    "/metrics",
    summary="Operations figures (Prometheus text format), for clients on this machine",
    responses=error_responses(403),
)
def metrics_on_loopback(request: Request) -> Response:
    node: Node = request.app.state.node
    client = request.client.host if request.client is not None else ""
    if not node.settings.web.metrics_on_loopback or client not in _LOOPBACK_HOSTS:
        raise ForbiddenError(
            "/metrics answers clients on this machine only (web.metrics_on_loopback); "
            "from elsewhere use /api/v1/metrics with an API token holding "
            "operations.metrics",
            field="client",
        )
    return _exposition(request)


@router.get(
    "/api/v1/metrics",
    summary="Operations figures (Prometheus text format), with an API token",
    responses=error_responses(401, 403),
)
def metrics_with_token(request: Request) -> Response:
    return _exposition(request)


@router.get("/healthz", summary="Liveness: the process answers (no login, no checks)")
def liveness(request: Request) -> dict[str, object]:
    return {"status": "alive", "process": process_info(request.app.state.node)}


@router.get(
    "/readyz",
    summary="Readiness: the log, event store and database answer; 503 names what fails",
)
def readiness(request: Request) -> Response:
    status_code, body = node_readiness(request.app.state.node)
    return JSONResponse(body, status_code=status_code)
