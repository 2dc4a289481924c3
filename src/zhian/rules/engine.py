"""The rule engine: reads the durable log from its own checkpoint and runs every rule on it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.alerts.drafts import AlertClear, AlertDraft, OnlineSample, RuleOutput
from zhian.errors import ZhianError
from zhian.ingest.events import (
    EVENT_CLASSES,
    Event,
    LoggedBatch,
    is_cascade_source,
    is_history_source,
)
from zhian.kit.clock import Clock
from zhian.kit.histogram import Histogram, HistogramState
from zhian.kit.loops import BackgroundLoop
from zhian.log.base import EventLog
from zhian.log.readers import LogReader
from zhian.rules.access import AccessConfig, AccessPatternRule
from zhian.rules.alarms import AlarmConfig, AlarmRule
from zhian.rules.base import Rule
from zhian.rules.counting_lines import SilentLineConfig, SilentLineRule
from zhian.rules.crowd import CrowdConfig, CrowdRule
from zhian.rules.devices import DeviceHealthConfig, DeviceHealthRule
from zhian.rules.directory import PlaceDirectory
from zhian.rules.models import RuleCheckpoint
from zhian.rules.settings import CrowdSettings, RuleSettings
from zhian.rules.watchlist import WATCHLIST_RULE, WatchlistRule
from zhian.store.identifiers import IdentifierProtector
from zhian.watchlists.matcher import WatchlistMatcher

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "rules"
# The engine's name among the log's readers (zhian.log.readers).
READER_NAME = "rules"
RECORDS_PER_READ = 256
# Save the checkpoint at least this often when batches raise nothing (a restart then
# re-reads at most this much of the log; drafts are idempotent per key anyway).
CHECKPOINT_SECONDS = 1.0
# Arrival times further ahead of the clock than this do not move stream time.
MAX_AHEAD = timedelta(seconds=60)
# Seconds from an event to its alert: tens of milliseconds live, minutes for a late device.
LATENCY_BOUNDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class RuleLatency:
    """How long after an event the alert it caused was raised (committed), live only.

    `event_time`: from the event's own time (the device's clock: includes the device's and
    the network's delay); `arrival`: from the intake's arrival time (the log, the rule
    engine and the commit). Replayed history is left out: its alerts are raised at their
    own time, not now."""

    def __init__(self) -> None:
        self.event_time = Histogram(LATENCY_BOUNDS)
        self.arrival = Histogram(LATENCY_BOUNDS)

    def observe(self, raised_at: datetime, causes: Sequence[tuple[datetime, datetime]]) -> None:
        for event_time, arrived in causes:
            self.event_time.observe(max(0.0, (raised_at - event_time).total_seconds()))
            self.arrival.observe(max(0.0, (raised_at - arrived).total_seconds()))

    def states(self) -> dict[str, HistogramState]:
        return {"event_time": self.event_time.state(), "arrival": self.arrival.state()}


class AlertSink(Protocol):
    """What the engine hands its output to, inside one transaction (AlertService)."""

    session: Session

    def raise_drafts(self, drafts: Sequence[AlertDraft]) -> list[int]: ...

    def clear(self, clears: Sequence[AlertClear]) -> list[int]: ...

    def record_samples(self, samples: Sequence[OnlineSample]) -> None: ...


class RuleEngineStoppedError(ZhianError):
    code = "rule_engine_stopped"


def build_rules(settings: RuleSettings, protector: IdentifierProtector) -> list[Rule]:
    """Every streaming rule, each configured from its own part of the `rules` settings;
    `protector` seals the identifiers a rule names in its alerts (watchlist plates)."""
    return [
        DeviceHealthRule(DeviceHealthConfig.from_settings(settings)),
        SilentLineRule(SilentLineConfig.from_settings(settings)),
        AlarmRule(AlarmConfig.from_settings(settings)),
        AccessPatternRule(AccessConfig.from_settings(settings)),
        WatchlistRule(protector.protect),
        # Crowd safety; CrowdMonitor (node) applies the `crowd` settings and zones.
        CrowdRule(CrowdConfig.from_settings(CrowdSettings())),
    ]


def _raised_at(output: RuleOutput, moment: datetime) -> RuleOutput:
    """`output` with its drafts raised, and its clears cleared, at `moment` (replayed
    history: the replay's clock runs ahead of the rules reading it)."""
    if output.drafts:
        output.drafts = [replace(draft, raised_at=moment) for draft in output.drafts]
    if output.clears:
        output.clears = [replace(clear, cleared_at=moment) for clear in output.clears]
    return output


def rules_by_event_type(rules: Sequence[Rule]) -> dict[type[Event], list[Rule]]:
    """Which rules see which event type: a rule names its `event_types`, or sees all.

    Most events are heartbeats that only the device-health rule reads; dispatching by
    type keeps the other rules off the hot path.
    """
    table: dict[type[Event], list[Rule]] = {kind: [] for kind in EVENT_CLASSES}
    for rule in rules:
        wanted = getattr(rule, "event_types", None)
        for kind in EVENT_CLASSES:
            if wanted is None or kind in wanted:
                table[kind].append(rule)
    return table


class RuleEngine:
    """Runs the rules over the log in order, exactly where the last committed batch ended.

    Each batch's alerts and the checkpoint commit in one transaction, so a restart neither
    loses nor repeats alerts. Timer rules are evaluated on stream time: the newest arrival
    time (the intake's `received_at`) read so far, moved on by the clock since. Live, that
    is now; while the engine catches up after a restart, it is the time of the backlog,
    so devices are not reported offline for the engine's own downtime. While the newest
    batch read is replayed history, stream time is its arrival time, not moved on by the
    clock: a device is offline in history only when history shows it silent.

    Replayed history (a batch whose source `is_history_source`) raises its alerts at their
    own time: an event's drafts at the event's time, the timer rules' at the stream time
    while the newest batch read is history. Live batches, late ones included, raise at the
    moment the engine commits them, as they always have.

    `protector` is the engine's own identifier vault (one writer per vault: the store
    feeder has another); what the rules sealed is flushed before their alerts commit, so
    no stored alert names a token the vault cannot open.
    """

    def __init__(
        self,
        log: EventLog,
        open_sink: Callable[[], AbstractContextManager[AlertSink]],
        clock: Clock,
        settings: RuleSettings,
        *,
        load_directory: Callable[[], PlaceDirectory],
        load_matcher: Callable[[], WatchlistMatcher],
        protector: IdentifierProtector,
        refresh_seconds: float = 5.0,
        reader: LogReader | None = None,
    ) -> None:
        self._log = log
        # The engine's named position in the log, acknowledged after each committed
        # checkpoint (retention prunes below it); the checkpoint row is what a restart reads.
        self._reader = reader
        self._open_sink = open_sink
        self._clock = clock
        self.settings = settings
        self._load_directory = load_directory
        self._load_matcher = load_matcher
        self._refresh_seconds = refresh_seconds
        self._protector = protector
        self.rules = build_rules(settings, protector)
        self._rules_by_type = rules_by_event_type(self.rules)
        self._decoder = msgspec.msgpack.Decoder(LoggedBatch)
        self._last_seq: int | None = None
        self._watermark: datetime | None = None
        self._watermark_seen_at: datetime | None = None
        self._reading_history = False
        self._next_refresh = 0.0
        self._next_evaluate = 0.0
        self._last_save = 0.0
        self._loop = BackgroundLoop(
            "rules",
            self._step,
            interval_seconds=settings.poll_seconds,
            fatal=(RuleEngineStoppedError,),
            logger=logger,
        )
        self._lock = threading.Lock()
        self.last_error: Exception | None = None
        self.processed = 0
        self.latency = RuleLatency()

    # -- state -------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        if self._last_seq is None:
            with self._open_sink() as sink:
                row = sink.session.scalar(
                    select(RuleCheckpoint.last_seq).where(RuleCheckpoint.name == CHECKPOINT_NAME)
                )
            self._last_seq = int(row or 0)
            if self._reader is not None:
                self._reader.register(self._last_seq)
        return self._last_seq

    def lag(self) -> int:
        return max(0, self._log.durable_seq - self.last_seq)

    def refresh(self) -> None:
        """Reload the device directory and the watchlist snapshot."""
        directory = self._load_directory()
        matcher = self._load_matcher()
        for rule in self.rules:
            rule.set_directory(directory)
            if isinstance(rule, WatchlistRule):
                rule.set_matcher(matcher)
        self._next_refresh = time.monotonic() + self._refresh_seconds

    def stream_now(self) -> datetime:
        now = self._clock.now()
        if self._watermark is None or self._watermark_seen_at is None:
            return now
        if self._reading_history:
            # Replayed history is submitted far faster than it happened, and the clock
            # that stamps its arrival runs ahead of what the engine has read: moved on by
            # that clock, stream time would find every device silent while the next chunk
            # waits in the log (thousands of offline alerts raised and cleared at once).
            # History's time is what has been read.
            return min(now, self._watermark)
        return min(now, self._watermark + (now - self._watermark_seen_at))

    # -- work --------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Run the rules over the next batch of the log; returns how many events it held."""
        with self._lock:
            if time.monotonic() >= self._next_refresh:
                self.refresh()
            after = last = self.last_seq
            out = RuleOutput()
            decode = self._decoder.decode
            clock_now = self._clock.now()
            count = 0
            # (event time, arrival) of each live alert draft, timed once committed.
            causes: list[tuple[datetime, datetime]] = []
            # Whole records (one per accepted request), gathered to about `batch_events`.
            while count < self.settings.batch_events:
                records = self._log.read(last, RECORDS_PER_READ)
                if not records:
                    break
                for seq, payload in records:
                    try:
                        batch = decode(payload)
                    except msgspec.DecodeError as exc:
                        raise RuleEngineStoppedError(
                            f"log record {seq} is not a logged batch: {exc}"
                        ) from exc
                    arrived = batch.received_at
                    history = self._reading_history = is_history_source(batch.source)
                    if (self._watermark is None or arrived > self._watermark) and (
                        arrived <= clock_now + MAX_AHEAD
                    ):
                        self._watermark, self._watermark_seen_at = arrived, clock_now
                    rules_for = self._rules_by_type
                    # A child node's events (docs/cascade.md): the child raised their alerts
                    # and sends them up as alert changes; here only this node's watchlist
                    # (its own orders) is matched against them.
                    from_child = is_cascade_source(batch.source)
                    for event in batch.events:
                        for rule in rules_for[type(event)]:
                            if from_child and rule.key != WATCHLIST_RULE:
                                continue
                            result = rule.on_event(event, batch.received_at)
                            if result is not None:
                                if history:
                                    result = _raised_at(result, event.time)
                                else:
                                    causes.extend([(event.time, arrived)] * len(result.drafts))
                                out.extend(result)
                    count += len(batch.events)
                    last = seq
            if last != after or out:
                self._commit(out, last)
                if causes:
                    self.latency.observe(self._clock.now(), causes)
            self.processed += count
            return count

    def evaluate(self, now: datetime | None = None) -> RuleOutput:
        """Run the timer rules at `now` (default: stream time) and commit what they raise."""
        with self._lock:
            if time.monotonic() >= self._next_refresh:
                self.refresh()
            moment = now or self.stream_now()
            out = RuleOutput()
            for rule in self.rules:
                result = rule.evaluate(moment)
                if result is not None:
                    if self._reading_history:
                        result = _raised_at(result, moment)
                    out.extend(result)
            self._commit(out, self.last_seq)
            return out

    def drain(self) -> int:
        """Process everything durable now (tests, replays); returns how many events."""
        total = 0
        while (n := self.run_once()) > 0:
            total += n
        return total

    def _commit(self, out: RuleOutput, last: int) -> None:
        moved = last != self.last_seq
        due = time.monotonic() - self._last_save >= CHECKPOINT_SECONDS
        if not out and not (moved and due):
            if moved:
                self._last_seq = last  # saved with the next output or within a second
            return
        if out.drafts:
            self._protector.flush()  # the sealed values first: the alerts hold their tokens
        with self._open_sink() as sink:
            if out.drafts:
                sink.raise_drafts(out.drafts)
            if out.clears:
                sink.clear(out.clears)
            if out.samples:
                sink.record_samples(out.samples)
            self._write_checkpoint(sink.session, last)
        self._last_seq = last
        self._last_save = time.monotonic()
        if self._reader is not None:
            self._reader.ack(last)

    # -- thread ------------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._loop.is_running

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        if self._last_seq is not None:
            with self._open_sink() as sink:
                self._write_checkpoint(sink.session, self._last_seq)
            if self._reader is not None:
                self._reader.ack(self._last_seq)

    def _write_checkpoint(self, session: Session, last: int) -> None:
        checkpoint = session.get(RuleCheckpoint, CHECKPOINT_NAME)
        if checkpoint is None:
            session.add(
                RuleCheckpoint(name=CHECKPOINT_NAME, last_seq=last, updated_at=self._clock.now())
            )
        elif checkpoint.last_seq != last:
            checkpoint.last_seq, checkpoint.updated_at = last, self._clock.now()

    def wait_caught_up(self, timeout_seconds: float) -> bool:
        target = self._log.durable_seq
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.last_error is not None:
                raise self.last_error
            if (self._last_seq or 0) >= target:
                return True
            time.sleep(0.01)
        return False

    def _step(self) -> bool:
        """One round of the loop; True while a full batch suggests more records wait."""
        try:
            n = self.run_once()
            if time.monotonic() >= self._next_evaluate:
                self.evaluate()
                self._next_evaluate = time.monotonic() + self.settings.evaluate_seconds
        except RuleEngineStoppedError as exc:
            logger.exception("the rule engine stops at a bad log record")
            self.last_error = exc
            raise
        except Exception as exc:  # logged by the loop, which tries again with a growing pause
            self.last_error = exc
            raise
        self.last_error = None
        return n >= self.settings.batch_events
