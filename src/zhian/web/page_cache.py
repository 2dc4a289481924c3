"""What the busiest pages compute for a scope, reused for a moment while no alert moves.

Fifty officers on the workbench and the alert wall ask the same questions of the same
scope many times a second (#12): the day's counts, the week's chart, the wall's rows, the
scope itself. `PageCache` keeps each answer for at most `pages.figures_cache_seconds`, and
forgets everything at once when the live feed carries any message (every change of an
alert sends one, from this process or, on the scaled tier, from another) and when a
request of this process commits a change, so an officer who signs an alert sees the
counts move on the reload that message triggers. A change another process makes without
a message (master data loaded from the command line) shows within the maximum age.

Only answers are shared, never the decision who may see them: the key of every entry
holds the scope (or the user) it was computed for, and the role and jurisdiction checks
still run on every request before anything is looked up here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

T = TypeVar("T")

# Entries kept at most; past it the oldest go (one per scope, user and filter asked).
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class _Entry:
    changes: int
    stored_at: float
    value: Any


class PageCache:
    """A thread-safe map from key to answer, valid for `max_age_seconds` and only while
    `changes()` (the live feed's message count) has not moved since it was computed."""

    def __init__(
        self,
        max_age_seconds: float,
        changes: Callable[[], int],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._max_age_seconds = max_age_seconds
        self._changes = changes
        self._monotonic = monotonic
        self._max_entries = max_entries
        self._entries: dict[Hashable, _Entry] = {}
        self._lock = threading.Lock()
        self._writes = 0
        self.hits = 0
        self.misses = 0

    @property
    def is_enabled(self) -> bool:
        return self._max_age_seconds > 0

    def changes(self) -> int:
        """How many changes this cache has heard of (live-feed messages and writes of this
        process): read it before the database."""
        return self._changes() + self._writes

    def note_write(self) -> None:
        """A request of this process committed a change (a device registered, a watchlist
        entry added …): forget every answer, as an alert message would."""
        with self._lock:
            self._writes += 1
            self._entries.clear()

    def get(self, key: Hashable, compute: Callable[[], T], *, changes: int | None = None) -> T:
        """The answer kept for `key`, or `compute()`'s, kept for the next asker.

        `changes` is the count read before the reading transaction began (a request reads
        it as it opens its session): a change committed after that may be missing from
        what `compute` sees, and its message moves the count, so the answer is never served
        after it.
        """
        if not self.is_enabled:
            return compute()
        current = self.changes()
        if changes is None:
            changes = current
        now = self._monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is not None
                and entry.changes == current
                and now - entry.stored_at < self._max_age_seconds
            ):
                self.hits += 1
                value: T = entry.value
                return value
            self.misses += 1
        value = compute()
        with self._lock:
            kept = self._entries.get(key)
            if kept is None or kept.changes <= changes:  # never replace a newer answer
                if len(self._entries) >= self._max_entries:
                    # Dicts keep insertion order: drop the oldest half in one go.
                    for stale in list(self._entries)[: self._max_entries // 2]:
                        del self._entries[stale]
                self._entries[key] = _Entry(changes, now, value)
        return value


def page_cache_of(request: Request) -> PageCache | None:
    """The app's cache; None for a request made outside an app (a test's bare request)."""
    app = request.scope.get("app")
    cache: PageCache | None = getattr(app.state, "page_cache", None) if app else None
    return cache
