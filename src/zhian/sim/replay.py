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

    def go_live(self) -> None:
        """From now on, the live clock (the history replayed ends before it)."""
        with self._lock:
            self._pinned = None
