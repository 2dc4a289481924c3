"""The live feed: publish/subscribe of alert messages, turned into SSE by the web.

`LiveFeed` is what the rest of the node sees. `MemoryLiveFeed` fans out within one
process; `PostgresLiveFeed` (`alerts/live_postgres.py`) carries messages from the process
that raised them (a worker) to the processes that serve pages. `open_live_feed` picks one
by `live.type`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Protocol

from zhian.alerts.schemas import LiveMessage
from zhian.alerts.settings import LiveSettings
from zhian.alerts.webhooks import BodyCipher
from zhian.db.engine import Database
from zhian.errors import ConfigurationError
from zhian.kit.clock import Clock, SystemClock

DEFAULT_QUEUE_MESSAGES = 1000


class Subscription:
    """An async iterator of the messages published since it was made; `close()` ends it.

    Made by `LiveFeed.subscribe()` inside a running event loop; it is registered at once,
    so nothing published after `subscribe()` returns is missed.
    """

    def __init__(
        self, feed: MemoryLiveFeed, loop: asyncio.AbstractEventLoop, capacity: int
    ) -> None:
        self._feed = feed
        self.loop = loop
        self._capacity = capacity
        self._buffer: deque[LiveMessage] = deque()
        self._dropped = 0
        self._ready = asyncio.Event()
        self._closed = False

    def offer(self, message: LiveMessage) -> None:
        # Runs on the subscriber's loop; a slow reader loses its oldest messages.
        if len(self._buffer) >= self._capacity:
            self._buffer.popleft()
            self._dropped += 1
        self._buffer.append(message)
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> LiveMessage:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._dropped:
                dropped, self._dropped = self._dropped, 0
                return LiveMessage(
                    type="feed.overflow", at=self._feed.clock.now(), data={"dropped": dropped}
                )
            if self._buffer:
                return self._buffer.popleft()
            self._ready.clear()
            await self._ready.wait()

    def close(self) -> None:
        self._closed = True
        self._ready.set()
        self._feed.unsubscribe(self)


class LiveFeed(Protocol):
    """Where alert messages are published after their transaction commits, and where the
    live pages subscribe to them."""

    clock: Clock
    published: int  # messages this instance published (tests and diagnostics)

    @property
    def subscriber_count(self) -> int:
        """Subscriptions open on this instance."""

    @property
    def seen(self) -> int:
        """Messages this process has seen so far, published here or (scaled tier) from
        another process; it moves with every change of an alert (the pages' cache)."""

    def publish(self, message: LiveMessage) -> None:
        """Send `message` to every subscriber; thread-safe, never raises to the publisher."""

    def subscribe(self) -> Subscription:
        """A new subscription; call inside the event loop that will iterate it."""

    def close(self) -> None:
        """Stop any background listening; the feed is not used afterwards."""


class MemoryLiveFeed:
    """Fan-out of `LiveMessage`s to every subscriber; `publish` is thread-safe and never blocks.

    Each subscriber holds a bounded buffer on its own event loop. A subscriber that falls
    more than `capacity` messages behind loses the oldest and then receives a
    `feed.overflow` message saying how many it lost.
    """

    def __init__(self, clock: Clock | None = None, capacity: int = DEFAULT_QUEUE_MESSAGES) -> None:
        self.clock = clock or SystemClock()
        self._capacity = capacity
        self._subscribers: set[Subscription] = set()
        self._lock = threading.Lock()
        self.published = 0

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @property
    def seen(self) -> int:
        return self.published

    def publish(self, message: LiveMessage) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
            self.published += 1
        for subscriber in subscribers:
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.offer, message)
            except RuntimeError:  # the subscriber's loop is closed
                self.unsubscribe(subscriber)

    def subscribe(self) -> Subscription:
        """A new subscription; call inside the event loop that will iterate it."""
        subscription = Subscription(self, asyncio.get_running_loop(), self._capacity)
        with self._lock:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def close(self) -> None:
        """Nothing runs in the background of an in-process feed."""


def open_live_feed(
    settings: LiveSettings, db: Database, clock: Clock, *, cipher: BodyCipher | None = None
) -> LiveFeed:
    """The feed `live.type` names; a postgres feed needs a PostgreSQL database and the
    node's cipher (it keeps the messages it carries sealed in a table)."""
    if settings.type == "memory":
        return MemoryLiveFeed(clock)
    if db.engine.dialect.name != "postgresql":
        raise ConfigurationError(
            'live.type = "postgres" needs a PostgreSQL database (database.url); this '
            f'node\'s database is {db.engine.dialect.name}. Use live.type = "memory" on '
            "one process, or move the operational database to PostgreSQL."
        )
    from zhian.alerts.live_postgres import PostgresLiveFeed  # it builds on this module

    if cipher is None:
        raise ConfigurationError(
            'live.type = "postgres" keeps messages sealed in the database and needs the '
            "node's key ring",
            field="live.type",
        )
    return PostgresLiveFeed(db, clock, settings, cipher=cipher)
