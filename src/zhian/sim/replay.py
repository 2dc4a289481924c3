"""Replaying history with its arrival times: a clock that follows the replayed events.

The device-offline rule measures silence by arrival (`received_at`), which is right for
live input and for late batches, but a history pushed through the intake in minutes all
"arrives" at once: every device then looks freshly seen, and an outage still going on at
the end of the history shows only an offline period after the replay. `ArrivalClock`
makes the replay honest instead of the rule: hand it to the node, pass the events through
`follow`, and each event arrives when it happened (at the end of the chunk it travels in);
after the last chunk, `go_live` makes it the live clock again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import datetime

from zhian.ingest.events import Event
from zhian.kit.clock import Clock


class ArrivalClock:
    """`start` until `follow` begins, then the time of the newest event followed, then
    (after `go_live`) the `live` clock. It never goes back."""

    def __init__(self, start: datetime, live: Clock) -> None:
        if start.tzinfo is None:
            raise ValueError("ArrivalClock needs a timezone-aware start")
        self._pinned: datetime | None = start
        self._live = live
        self._lock = threading.Lock()

    @property
    def is_live(self) -> bool:
        with self._lock:
            return self._pinned is None

    def now(self) -> datetime:
        with self._lock:
            pinned = self._pinned
        if pinned is None:
            return self._live.now()
        return pinned

    def follow(self, events: Iterable[Event]) -> Iterator[Event]:
        """Yield `events` in order, moving the clock to each (call `go_live` when done:
        the last chunk is still submitted after the events run out)."""
        for event in events:
            with self._lock:
                if self._pinned is not None and event.time > self._pinned:
                    self._pinned = event.time
            yield event

    def arrive(self, events: Iterable[Event]) -> None:
        """Move the clock to the newest of `events`: a chunk about to be submitted."""
        for _event in self.follow(events):
            pass

    def go_live(self) -> None:
        """From now on, the live clock (the history replayed ends before it)."""
        with self._lock:
            self._pinned = None


class ReplayProgress:
    """How far a replay of history has come, for a page to show while it goes on
    (thread-safe: the replay moves it, requests read it)."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.end = end
        self._lock = threading.Lock()
        self._reached = start
        self._events = 0
        self._is_done = False
        self._failure: str | None = None

    def advance(self, reached: datetime, events: int) -> None:
        with self._lock:
            self._reached = max(self._reached, reached)
            self._events = events

    def finish(self) -> None:
        with self._lock:
            self._reached = self.end
            self._is_done = True

    def fail(self, what: str) -> None:
        """The replay stopped on an error (`what`, one line): the pages say so instead of
        showing progress that will not come."""
        with self._lock:
            self._failure = what

    @property
    def failure(self) -> str | None:
        """What stopped the replay, or None while it goes on (or once it finished)."""
        with self._lock:
            return self._failure

    @property
    def is_done(self) -> bool:
        with self._lock:
            return self._is_done

    @property
    def reached(self) -> datetime:
        with self._lock:
            return self._reached

    @property
    def events(self) -> int:
        with self._lock:
            return self._events

    @property
    def fraction(self) -> float:
        total = (self.end - self.start).total_seconds()
        if total <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.reached - self.start).total_seconds() / total))
