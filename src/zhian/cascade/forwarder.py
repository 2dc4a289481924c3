"""The upward forwarder: a named reader of the event log that sends a node's data to its parent.

Store-and-forward: the event log is the cache (retention keeps every record the reader
`parent` has not acknowledged), alert history and online samples stay in their tables.
Each step builds one batch from where the parent last acknowledged, sends it, and moves
the positions only once the parent answered: a batch not acknowledged within
`ack_timeout_seconds` is sent again, after `attempts` failures the link is down, and the
node registers again with a capped, jittered, doubling pause. Back-fill is the same loop
running without pause: batches leave strictly in log order, so each device's events arrive
in order, and the parent's idempotence (event ids, action ids, sample ids) makes a batch
sent twice (a crash between the parent's answer and our commit) harmless.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import httpx
import msgspec
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.alerts.service import AlertService
from zhian.alerts.settings import AlertSettings
from zhian.cascade.case_studies import CASE_STUDIES, shared_case_studies
from zhian.cascade.kpis import hour_number, kpi_summaries
from zhian.cascade.link import Backoff, LinkState
from zhian.cascade.orders import OrderApplier, alert_changes, relayed_changes
from zhian.cascade.presets import apply_presets, apply_procedures
from zhian.cascade.repository import ChildDataRepository, ForwardPositionRepository
from zhian.cascade.search_requests import (
    ENCODER as SEARCH_ENCODER,
)
from zhian.cascade.search_requests import (
    PENDING_DECODER,
    PendingSearches,
    SearchAnswer,
    SearchResponder,
)
from zhian.cascade.settings import ParentSettings
from zhian.cascade.wire import (
    BATCH_ACK_DECODER,
    CONTENT_TYPE,
    ENCODER,
    HELLO_ACK_DECODER,
    ORDERS_DECODER,
    AlertChange,
    BatchAck,
    CaseStudyItem,
    ChildBatch,
    DeviceSummary,
    Hello,
    KpiReport,
    LinkStatus,
    OnlineSummary,
    Orders,
    Overrides,
    ParameterPreset,
    ProcedurePreset,
)
from zhian.db.engine import Database
from zhian.devices.service import DeviceService
from zhian.ingest.events import Event, FaceEvent, LoggedBatch, VehicleEvent
from zhian.ingest.images import ImageStore
from zhian.kit.clock import Clock
from zhian.kit.loops import BackgroundLoop
from zhian.kit.thumbnails import thumbnail
from zhian.log.base import PrunableLog
from zhian.log.readers import LogReader
from zhian.models.settings import ModelSettings
from zhian.registry.identity import IdentityProtector
from zhian.store.remote import EventReads

logger = logging.getLogger(__name__)

READER_NAME: Final = "parent"
EVENTS, ALERT_CHANGES, ONLINE = "events", "alert_changes", "online"
# Children's alert changes this node received, relayed up (by their id here).
RELAYED = "relayed_alert_changes"
# Children's online summaries this node received, relayed up (by their id here).
RELAYED_ONLINE = "relayed_online"
HEALTH_FILE: Final = "parent-link.json"
BATCHES_PATH: Final = "/api/v1/cascade/batches"
HELLO_PATH: Final = "/api/v1/cascade/hello"
ORDERS_PATH: Final = "/api/v1/cascade/orders"
OVERRIDES_PATH: Final = "/api/v1/cascade/overrides"
SEARCH_REQUESTS_PATH: Final = "/api/v1/cascade/search-requests"
SEARCH_ANSWERS_PATH: Final = "/api/v1/cascade/search-answers"
STATUS_PATH: Final = "/api/v1/cascade/status"
KPIS_PATH: Final = "/api/v1/cascade/kpis"
# The last closed hour whose KPI summaries the parent acknowledged (an epoch hour number).
KPI_HOURS = "kpi_hours"
# At most this many hours of KPI summaries go up in one report (and a node that never
# sent any starts this far back).
_KPI_HOURS_PER_REPORT: Final = 24
_RECORDS_PER_READ: Final = 16
# Batches that fit after a 413 before the forwarder tries twice the size again.
_BATCHES_BEFORE_GROWING: Final = 20


class LinkError(Exception):
    """The parent did not acknowledge: unreachable, too slow, or it refused."""


class UnreachableError(LinkError):
    """No answer from the parent at all: no connection, or none within the timeout."""


class BatchTooLargeError(LinkError):
    """The parent refused the body as too large (HTTP 413): send smaller batches."""


class LinkHealth(msgspec.Struct):
    """What `zhian cascade status` and the status page show of the upward link."""

    node_id: str
    parent_url: str
    is_up: bool
    last_contact_at: datetime | None
    last_error: str
    next_attempt_at: datetime | None
    registrations: int
    forwarded_through_seq: int
    durable_seq: int
    cache_records: int
    cache_bytes: int
    is_cache_alarm: bool
    backfill_from_seq: int | None
    backfill_to_seq: int | None
    events_sent: int
    updated_at: datetime

    @property
    def backfill_percent(self) -> float | None:
        """How far the back-fill after the last outage has come, while it runs."""
        start, end = self.backfill_from_seq, self.backfill_to_seq
        if start is None or end is None or end <= start:
            return None
        done = min(max(self.forwarded_through_seq - start, 0), end - start)
        return 100.0 * done / (end - start)


_HEALTH_DECODER: Final = msgspec.json.Decoder(LinkHealth)


def read_health(workspace: Path) -> LinkHealth | None:
    """The link health the forwarder last wrote (None when it never ran here)."""
    try:
        return _HEALTH_DECODER.decode((workspace / "cascade" / HEALTH_FILE).read_bytes())
    except (FileNotFoundError, msgspec.DecodeError):
        return None


class ParentClient:
    """The HTTP side of the link: register (hello) and send one batch, each acknowledged."""

    def __init__(
        self, settings: ParentSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._settings = settings
        self._base = settings.url.rstrip("/")
        self._http = httpx.Client(timeout=settings.ack_timeout_seconds, transport=transport)

    def _post(self, path: str, body: bytes) -> bytes:
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Authorization": f"Bearer {self._settings.token.get_secret_value()}",
        }
        try:
            response = self._http.post(self._base + path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise UnreachableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 413:
            raise BatchTooLargeError(f"HTTP 413: {response.text[:300]}")
        if response.status_code != 200:
            raise LinkError(f"HTTP {response.status_code}: {response.text[:300]}")
        return response.content

    def hello(self, now: datetime) -> None:
        body = ENCODER.encode(Hello(node_id=self._settings.node_id, sent_at=now))
        try:
            HELLO_ACK_DECODER.decode(self._post(HELLO_PATH, body))
        except msgspec.DecodeError as exc:
            raise LinkError(f"the parent's answer to hello is unreadable: {exc}") from exc

    def _get(self, path: str) -> bytes:
        """What the parent holds for this node at `path` (asked by node id, with its token)."""
        headers = {"Authorization": f"Bearer {self._settings.token.get_secret_value()}"}
        try:
            response = self._http.get(
                self._base + path, params={"node_id": self._settings.node_id}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise UnreachableError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise LinkError(f"HTTP {response.status_code}: {response.text[:300]}")
        return response.content

    def orders(self) -> Orders:
        try:
            return ORDERS_DECODER.decode(self._get(ORDERS_PATH))
        except msgspec.DecodeError as exc:
            raise LinkError(f"the parent's orders are unreadable: {exc}") from exc

    def report_overrides(self, report: Overrides) -> None:
        self._post(OVERRIDES_PATH, ENCODER.encode(report))

    def search_requests(self) -> PendingSearches:
        """The parent's cross-node search requests waiting for this node's answer."""
        try:
            return PENDING_DECODER.decode(self._get(SEARCH_REQUESTS_PATH))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise LinkError(f"the parent's search requests are unreadable: {exc}") from exc

    def answer_search(self, answer: SearchAnswer) -> None:
        self._post(SEARCH_ANSWERS_PATH, SEARCH_ENCODER.encode(answer))

    def report_status(self, status: LinkStatus) -> None:
        self._post(STATUS_PATH, ENCODER.encode(status))

    def report_kpis(self, report: KpiReport) -> None:
        self._post(KPIS_PATH, ENCODER.encode(report))

    def send(self, batch: ChildBatch) -> BatchAck:
        body = ENCODER.encode(batch)
        try:
            return BATCH_ACK_DECODER.decode(self._post(BATCHES_PATH, body))
        except msgspec.DecodeError as exc:
            raise LinkError(f"the parent's acknowledgement is unreadable: {exc}") from exc

    def close(self) -> None:
        self._http.close()


@dataclass
class _Pending:
    """A batch built but not yet acknowledged, with the positions it moves to."""

    batch: ChildBatch
    positions: dict[str, int]
    events: int

    @property
    def items(self) -> int:
        b = self.batch
        return len(b.events) + len(b.alert_changes) + len(b.online) + len(b.case_studies)

    @property
    def is_empty(self) -> bool:
        return self.items == 0


class _Failing:
    """Whether one exchange with the parent (fetching its orders or search requests,
    reporting the link status or the KPI summaries) fails: logged once when it starts
    failing and once when it works again, not at every try while the parent is away or
    cannot take it (an older parent)."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._failing = False

    def failed(self, exc: Exception, every_seconds: float) -> None:
        if self._failing:
            logger.debug("could not %s (still): %s", self._what, exc)
            return
        self._failing = True
        logger.warning(
            "could not %s: %s; tried again every %.0f s (logged again once it works)",
            self._what,
            exc,
            every_seconds,
        )

    def worked(self) -> None:
        if self._failing:
            self._failing = False
            logger.warning("%s: works again", self._what)


class UpwardForwarder:
    """Forwards events, alert history and online summaries to the parent node, in order."""

    def __init__(
        self,
        *,
        db: Database,
        log: PrunableLog,
        images: ImageStore,
        clock: Clock,
        settings: ParentSettings,
        alert_settings: AlertSettings,
        workspace: Path,
        log_dir: Path,
        identity: IdentityProtector | None = None,
        on_orders_changed: Callable[[], None] | None = None,
        model_settings: ModelSettings | None = None,
        transport: httpx.BaseTransport | None = None,
        draw: Callable[[], float] | None = None,
        searches: SearchResponder | None = None,
        event_reads: EventReads | None = None,
    ) -> None:
        if not settings.is_enabled:
            raise ValueError("parent.url is empty: there is no parent to forward to")
        self._db = db
        self._log = log
        self._images = images
        self._clock = clock
        self._settings = settings
        self._alert_settings = alert_settings
        self._health_path = workspace / "cascade" / HEALTH_FILE
        self._log_dir = log_dir  # the disk the cache (the log) fills
        self._client = ParentClient(settings, transport=transport)
        self._reader = LogReader(log.readers, READER_NAME)
        backoff = Backoff(settings.backoff_initial_seconds, settings.backoff_max_seconds)
        self.link = LinkState(backoff) if draw is None else LinkState(backoff, draw=draw)
        self._positions: dict[str, int] | None = None
        # Devices the parent has been told of since the last registration: each batch
        # summarises only the others (a parent rebuilt meanwhile hears of all again).
        self._devices_told: set[str] = set()
        self._orders = OrderApplier(db=db, clock=clock, identity=identity)
        self._on_orders_changed = on_orders_changed
        self._orders_asked_at: datetime | None = None
        self._orders_fetch = _Failing("fetch the parent's watchlist orders")
        # The presets pushed down apply over these defaults; the overrides last reported.
        self._model_settings = model_settings or ModelSettings()
        self._overrides_reported: Overrides | None = None
        # Cross-node search (跨区域研判): answers the parent's requests (search_requests).
        self._searches = searches if settings.searches else None
        self._searches_asked_at: datetime | None = None
        self._searches_fetch = _Failing("fetch the parent's search requests")
        self._status_report = _Failing("report the link status to the parent")
        self._kpi_report = _Failing("send the KPI summaries to the parent")
        self._backfill: tuple[int, int] | None = None
        # Most events (and alert changes, summaries) in one batch: halved when the parent
        # answers 413, grown back after batches that fit.
        self._batch_limit = settings.batch_events
        # The KPI summaries are computed from this node's event store (None: none sent).
        self._event_reads = event_reads
        self._kpis_failed_at: datetime | None = None
        self._fitting_batches = 0
        # When the link status last went up, and whether a back-fill ran then.
        self._status_sent: tuple[datetime, bool] | None = None
        self._lock = threading.Lock()
        self.events_sent = 0
        self.batches_sent = 0
        self._loop = BackgroundLoop(
            "parent-forwarder",
            self._step_in_loop,
            interval_seconds=settings.poll_seconds,
            logger=logger,
        )

    # --- positions --------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        """Where each stream stands (what the parent has acknowledged)."""
        if self._positions is None:
            with self._db.session() as session:
                stored = ForwardPositionRepository(session).positions()
            self._positions = {
                EVENTS: stored.get(EVENTS, 0),
                ALERT_CHANGES: stored.get(ALERT_CHANGES, 0),
                ONLINE: stored.get(ONLINE, 0),
                RELAYED: stored.get(RELAYED, 0),
                RELAYED_ONLINE: stored.get(RELAYED_ONLINE, 0),
                KPI_HOURS: stored.get(KPI_HOURS, 0),
                CASE_STUDIES: stored.get(CASE_STUDIES, 0),
            }
        return dict(self._positions)

    def _commit(self, positions: dict[str, int]) -> None:
        with self._db.session() as session:
            ForwardPositionRepository(session).save(positions, self._clock.now())
        self._positions = dict(positions)
        # After the commit, as the store feeder does: retention never prunes below it.
        self._reader.ack(positions[EVENTS])

    # --- one step ---------------------------------------------------------------------------

    def step(self) -> int:
        """Register if the link is down and its pause is over, then send one batch.

        Returns how many items (events, alert changes, online summaries) the parent
        acknowledged: 0 when nothing went up."""
        with self._lock:
            try:
                sent = self._step()
                self._report_status()
                self._report_kpis()
                return sent
            finally:
                self._write_health()

    def _step(self) -> int:
        now = self._clock.now()
        if not self.link.may_try(now):
            return 0
        if not self.link.is_up and not self._register(now):
            return 0
        self._sync_orders(now)
        self._sync_searches(now)
        pending = self._build()
        if pending.is_empty:
            if pending.positions != self.positions():
                self._commit(pending.positions)  # skipped records (mode none, other sources)
            self._backfill = None
            return 0
        error = ""
        attempt = 0
        while attempt < self._settings.attempts:
            try:
                ack = self._client.send(pending.batch)
            except BatchTooLargeError as exc:
                error = str(exc)
                if not self._shrink(pending):
                    attempt += 1
                    continue
                pending = self._build()  # smaller, from the same positions: not a failure
                continue
            except LinkError as exc:
                error = str(exc)
                attempt += 1
                continue
            self._grow()
            self._commit(pending.positions)
            self._devices_told.update(device.id for device in pending.batch.devices)
            self.link.contact(self._clock.now())
            self.events_sent += pending.events
            self.batches_sent += 1
            if ack.held:
                logger.warning(
                    "the parent held %d forwarded events in its quarantine (zhian quarantine "
                    "there says why)",
                    ack.held,
                )
            return pending.items
        self._went_down(error)
        return 0

    def _went_down(self, error: str) -> None:
        pause = self.link.failed(self._clock.now(), error)
        logger.warning(
            "parent %s did not acknowledge %d tries (%s): the link is down, data stays "
            "cached; registering again in %.1f s",
            self._settings.url,
            self._settings.attempts,
            error,
            pause,
        )

    def _shrink(self, pending: _Pending) -> bool:
        """Halve the batch after the parent answered 413; False when it cannot get smaller
        (one log record, or nothing but alert changes and summaries, at one item)."""
        if self._batch_limit <= 1 or pending.items <= 1:
            return False
        self._batch_limit = max(1, min(self._batch_limit, pending.items) // 2)
        self._fitting_batches = 0
        logger.warning(
            "the parent refused a batch of %d items as too large (413): sending at most %d "
            "from now on",
            pending.items,
            self._batch_limit,
        )
        return True

    def _grow(self) -> None:
        """After a run of batches that fit, try twice the size again, up to the setting."""
        if self._batch_limit >= self._settings.batch_events:
            return
        self._fitting_batches += 1
        if self._fitting_batches >= _BATCHES_BEFORE_GROWING:
            self._batch_limit = min(self._settings.batch_events, self._batch_limit * 2)
            self._fitting_batches = 0

    def _register(self, now: datetime) -> bool:
        try:
            self._client.hello(now)
        except LinkError as exc:
            pause = self.link.failed(self._clock.now(), str(exc))
            logger.warning(
                "parent %s refused registration (%s); next try in %.1f s",
                self._settings.url,
                exc,
                pause,
            )
            return False
        self.link.registered(self._clock.now())
        self._devices_told.clear()
        # Orders and search requests are asked for at once after each registration.
        self._orders_asked_at = self._searches_asked_at = None
        # Everything durable now and not yet acknowledged is the back-fill of this outage.
        start, end = self.positions()[EVENTS], self._log.durable_seq
        self._backfill = (start, end) if end > start else None
        return True

    def _report_status(self) -> None:
        """Tell the parent this side of the link every `status_seconds`, and as soon as a
        back-fill starts or ends. It is a notification like a batch: a parent that gives no
        answer at all to `attempts` tries takes the link down, so a node with nothing to
        send sees its parent gone; a parent that answers but cannot take it (an older one:
        404) is logged, nothing more."""
        if not self.link.is_up:
            return
        now = self._clock.now()
        running = self._backfill is not None
        sent = self._status_sent
        if (
            sent is not None
            and sent[1] == running
            and (now - sent[0]).total_seconds() < self._settings.status_seconds
        ):
            return
        health = self.health()
        left = None
        if health.backfill_to_seq is not None and health.backfill_percent is not None:
            left = max(0, health.backfill_to_seq - health.forwarded_through_seq)
        status = LinkStatus(
            node_id=self._settings.node_id,
            sent_at=now,
            cache_records=health.cache_records,
            cache_bytes=health.cache_bytes,
            is_cache_alarm=health.is_cache_alarm,
            backfill_percent=health.backfill_percent,
            backfill_records_left=left,
        )
        self._status_sent = (now, running)
        error = ""
        for _ in range(self._settings.attempts):
            try:
                self._client.report_status(status)
            except UnreachableError as exc:
                error = str(exc)
                continue
            except LinkError as exc:
                self._status_report.failed(exc, self._settings.status_seconds)
                return
            self._status_report.worked()
            self.link.contact(self._clock.now())
            return
        self._went_down(error)

    def _report_kpis(self) -> None:
        """Send the KPI summaries of the closed hours the parent has not acknowledged, once
        an hour closes; the position moves only after the parent took them. A parent that
        cannot take them is logged and asked again after `status_seconds`."""
        if self._event_reads is None or not self.link.is_up:
            return
        now = self._clock.now()
        closed = hour_number(now) - 1
        done = self.positions().get(KPI_HOURS, 0)
        if done >= closed:
            return
        tried = self._kpis_failed_at
        if tried is not None and (now - tried).total_seconds() < self._settings.status_seconds:
            return  # a parent that refused them is asked again after a pause, not each step
        first = max(done + 1, closed - _KPI_HOURS_PER_REPORT + 1)
        hours = range(first, min(closed, first + _KPI_HOURS_PER_REPORT - 1) + 1)
        with self._db.session() as session:
            summaries = [s for h in hours for s in kpi_summaries(session, self._event_reads, h)]
        try:
            self._client.report_kpis(
                KpiReport(
                    node_id=self._settings.node_id,
                    events_forwarded=self._settings.events != "none",
                    summaries=summaries,
                )
            )
        except LinkError as exc:
            self._kpi_report.failed(exc, self._settings.status_seconds)
            self._kpis_failed_at = now
            return
        self._kpi_report.worked()
        self._kpis_failed_at = None
        with self._db.session() as session:
            ForwardPositionRepository(session).save({KPI_HOURS: hours[-1]}, self._clock.now())
        if self._positions is not None:
            self._positions[KPI_HOURS] = hours[-1]

    # --- orders from the parent ------------------------------------------------------------

    def _sync_orders(self, now: datetime) -> None:
        """Ask the parent for its watchlist orders now and then, and apply them here."""
        if not self._settings.orders:
            return
        due = self._orders_asked_at is None or (
            (now - self._orders_asked_at).total_seconds() >= self._settings.orders_poll_seconds
        )
        if not due:
            return
        self._orders_asked_at = now  # a failure too waits for the next poll
        try:
            orders = self._client.orders()
        except LinkError as exc:  # the batches say whether the link is down
            self._orders_fetch.failed(exc, self._settings.orders_poll_seconds)
            return
        self._orders_fetch.worked()
        if self._orders.apply(orders.orders) and self._on_orders_changed is not None:
            self._on_orders_changed()  # the rules match the new entries from now on
        self._apply_presets(orders.parameters, orders.procedures, now)

    def _apply_presets(
        self, presets: list[ParameterPreset], procedures: list[ProcedurePreset], now: datetime
    ) -> None:
        """Apply the parent's parameter presets and response procedures here and tell it,
        when the set changed, which of them this node keeps its own for."""
        with self._db.session() as session:
            overrides = apply_presets(
                session,
                presets,
                defaults=self._model_settings,
                allow_override=self._settings.parameter_overrides,
                now=now,
            )
            kept = apply_procedures(
                session,
                procedures,
                allow_override=self._settings.procedure_overrides,
                now=now,
            )
        report = Overrides(node_id=self._settings.node_id, overrides=overrides, procedures=kept)
        if report == self._overrides_reported:
            return
        try:
            self._client.report_overrides(report)
        except LinkError as exc:  # told at the next poll
            logger.warning("could not report the overrides: %s", exc)
            return
        self._overrides_reported = report

    # --- cross-node search requests from the parent ----------------------------------------

    def _sync_searches(self, now: datetime) -> None:
        """Ask the parent for its search requests with the orders, answer each (a refusal
        is an answer too); one whose answer is lost comes again and is answered again."""
        if self._searches is None:
            return
        asked = self._searches_asked_at
        if asked is not None and (now - asked).total_seconds() < self._settings.orders_poll_seconds:
            return
        self._searches_asked_at = now  # a failure too waits for the next poll
        try:
            pending = self._client.search_requests()
        except LinkError as exc:
            self._searches_fetch.failed(exc, self._settings.orders_poll_seconds)
            return
        self._searches_fetch.worked()
        for answer in self._searches.answer_all(pending):
            try:
                self._client.answer_search(answer)
            except LinkError as exc:
                logger.warning("could not answer search request %s: %s", answer.request_id, exc)
        # The answers of the nodes below, to requests this node passed on, go up as they come.
        for row_id, answer in self._searches.follow_ups():
            try:
                self._client.answer_search(answer)
            except LinkError as exc:
                if str(exc).startswith("HTTP 409"):
                    # Timed out there, or answered already: never taken.
                    logger.warning("search answer of %s not taken: %s", answer.node_id, exc)
                    self._searches.sent_up(row_id)
                else:
                    logger.warning("could not send up %s's answer: %s", answer.node_id, exc)
                continue
            self._searches.sent_up(row_id)

    # --- building a batch -------------------------------------------------------------------

    def _build(self) -> _Pending:
        positions = self.positions()
        events, through = self._read_events(positions[EVENTS])
        positions[EVENTS] = through
        changes: list[AlertChange] = []
        online: list[OnlineSummary] = []
        limit = self._batch_limit
        if self._settings.alerts or self._settings.device_online:
            with self._db.session() as session:
                # Reads history only: no webhook is queued and no note opened here.
                alerts = AlertService(
                    session, clock=self._clock, settings=self._alert_settings, cipher=None
                )
                if self._settings.alerts:
                    changes = alert_changes(
                        session, alerts.history_after(positions[ALERT_CHANGES], limit)
                    )
                    if changes:
                        positions[ALERT_CHANGES] = changes[-1].action_id
                    relayed = relayed_changes(session, positions[RELAYED], limit)
                    if relayed:
                        positions[RELAYED] = relayed[-1][0]
                        changes += [change for _id, change in relayed]
                if self._settings.device_online:
                    online = self._online(session, alerts, positions, limit)
        # Case library entries shared upward, in the order they changed (docs/case-library.md).
        with self._db.session() as session:
            studies: list[CaseStudyItem] = shared_case_studies(
                session, self._clock, positions[CASE_STUDIES], limit
            )
        if studies:
            positions[CASE_STUDIES] = studies[-1].share_seq
        images: dict[str, bytes] = {}
        events = [self._shaped(event, images) for event in events]
        batch = ChildBatch(
            node_id=self._settings.node_id,
            sent_at=self._clock.now(),
            devices=self._devices({event.device_id for event in events} - self._devices_told),
            images=images,
            events=events,
            alert_changes=changes,
            online=online,
            case_studies=studies,
        )
        return _Pending(batch, positions, len(events))

    def _online(
        self, session: Session, alerts: AlertService, positions: dict[str, int], limit: int
    ) -> list[OnlineSummary]:
        """This node's online samples, then those its children sent (relayed, each under
        the node it was sampled at). Of its own, a community that a child reports is left
        out: the child's summary counts its devices first-hand, ours from the events that
        reached us. Moves `positions` past what it read."""
        relayed_rows = ChildDataRepository(session).online_after(positions[RELAYED_ONLINE], limit)
        reported = ChildDataRepository(session).reported_communities()
        own_rows = alerts.online_samples_after(positions[ONLINE], limit)
        if own_rows:
            positions[ONLINE] = own_rows[-1].id
        if relayed_rows:
            positions[RELAYED_ONLINE] = relayed_rows[-1].id
        own = [
            OnlineSummary(
                sample_id=s.id,
                sampled_at=s.sampled_at,
                community_id=s.community_id,
                device_kind=s.device_kind,
                total=s.total,
                online=s.online,
            )
            for s in own_rows
            if s.community_id not in reported
        ]
        return own + [
            OnlineSummary(
                sample_id=r.sample_id,
                sampled_at=r.sampled_at,
                community_id=r.community_id,
                device_kind=r.device_kind,
                total=r.total,
                online=r.online,
                origin_node=r.node_id,
            )
            for r in relayed_rows
        ]

    def _read_events(self, after_seq: int) -> tuple[list[Event], int]:
        """Whole log records after `after_seq`, up to about the batch limit in events
        (`batch_events`, halved after a 413); at least one record."""
        if self._settings.events == "none":
            return [], max(after_seq, self._log.durable_seq)
        decoder = msgspec.msgpack.Decoder(LoggedBatch)
        events: list[Event] = []
        through = after_seq
        while len(events) < self._batch_limit:
            records = self._log.read(through, _RECORDS_PER_READ)
            if not records:
                break
            for seq, payload in records:
                events.extend(decoder.decode(payload).events)
                through = seq
                if len(events) >= self._batch_limit:
                    break
        return events, through

    def _shaped(self, event: Event, images: dict[str, bytes]) -> Event:
        """The event as the configured mode sends it; images it keeps go into `images`."""
        if not isinstance(event, FaceEvent | VehicleEvent):
            return event
        mode = self._settings.events
        if mode == "structured":
            if isinstance(event, FaceEvent):
                return msgspec.structs.replace(event, image=None, feature=None)
            return msgspec.structs.replace(event, image=None)
        if event.image is None or not self._images.exists(event.image):
            return msgspec.structs.replace(event, image=None) if event.image else event
        data = self._images.read(event.image)
        if mode == "all":
            images[event.image] = data
            return event
        try:
            small = thumbnail(data)
        except ValueError:
            return msgspec.structs.replace(event, image=None)
        ref = self._images.save(small, "image/jpeg")  # content-addressed: same ref upstairs
        images[ref] = small
        return msgspec.structs.replace(event, image=ref)

    def _devices(self, device_ids: set[str]) -> list[DeviceSummary]:
        if not device_ids:
            return []
        found: list[DeviceSummary] = []
        with self._db.session() as session:
            service = DeviceService(session)
            for device_id in sorted(device_ids):
                device = service.get_device(device_id, scope=JurisdictionScope.unscoped())
                if device is None or device.community_id is None:
                    continue  # the parent holds its events in quarantine (unknown device)
                found.append(
                    DeviceSummary(
                        id=device.id,
                        kind=device.kind,
                        name=device.name,
                        community_id=device.community_id,
                        latitude=device.latitude,
                        longitude=device.longitude,
                    )
                )
        return found

    # --- health -----------------------------------------------------------------------------

    def health(self) -> LinkHealth:
        through = self.positions()[EVENTS]
        durable = self._log.durable_seq
        cache_bytes = sum(
            segment.size_bytes for segment in self._log.segments() if segment.last_seq > through
        )
        backfill = self._backfill
        return LinkHealth(
            node_id=self._settings.node_id,
            parent_url=self._settings.url,
            is_up=self.link.is_up,
            last_contact_at=self.link.last_contact_at,
            last_error=self.link.last_error,
            next_attempt_at=self.link.next_attempt_at,
            registrations=self.link.registrations,
            forwarded_through_seq=through,
            durable_seq=durable,
            cache_records=max(0, durable - through),
            cache_bytes=cache_bytes,
            is_cache_alarm=durable > through and self._is_cache_filling(cache_bytes),
            backfill_from_seq=backfill[0] if backfill else None,
            backfill_to_seq=backfill[1] if backfill else None,
            events_sent=self.events_sent,
            updated_at=self._clock.now(),
        )

    def _is_cache_filling(self, cache_bytes: int) -> bool:
        if cache_bytes >= self._settings.cache_alarm_bytes:
            return True
        if not self._log_dir.exists():
            return False
        usage = shutil.disk_usage(self._log_dir)
        return usage.free < self._settings.cache_alarm_free_fraction * usage.total

    def _write_health(self) -> None:
        health = self.health()
        try:
            self._health_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._health_path.with_name(f".{HEALTH_FILE}.{os.getpid()}")
            temporary.write_bytes(msgspec.json.encode(health))
            temporary.replace(self._health_path)
        except OSError:
            logger.exception("could not write the parent link's health")
        if health.is_cache_alarm:
            logger.error(
                "the cache for parent %s is filling: %d records (%d bytes) wait",
                self._settings.url,
                health.cache_records,
                health.cache_bytes,
            )

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Register the reader at its acknowledged position, then run the loop."""
        self._reader.register(self.positions()[EVENTS])
        if not self._loop.is_running:
            self._loop.start()

    def _step_in_loop(self) -> bool:
        # Busy (no rest) while items went up: the back-fill runs at the link's pace.
        return self.step() > 0

    def stop(self) -> None:
        self._loop.stop(timeout_seconds=15)
        self._client.close()
