"""The live feed across processes: messages in a table, announced by PostgreSQL NOTIFY.

A publisher (a worker raising alerts) stores each message in `live_messages` and sends
`NOTIFY zhian_live, '<id>'` in the same transaction. A listener (a web process serving
pages) holds one connection with `LISTEN zhian_live`; on each notification, and at least
every `LISTEN_WAIT_SECONDS`, it reads every record above the last id it delivered and hands
them to its in-process fan-out (`MemoryLiveFeed`). The notification carries only the id:
its payload is limited to 8000 bytes, and the table is what makes catching up possible.

When the listener's connection drops, it reconnects with a growing pause (up to
`live.reconnect_max_seconds`) and then reads everything published meanwhile, so nothing
is lost as long as the outage is shorter than `live.keep_seconds`; older records are
pruned by the publishers and cannot be caught up.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import psycopg
from pydantic import ValidationError
from sqlalchemy import delete, func, select

from zhian.alerts.live import MemoryLiveFeed, Subscription
from zhian.alerts.models import LiveMessageRecord
from zhian.alerts.schemas import LiveMessage
from zhian.alerts.settings import LiveSettings
from zhian.alerts.webhooks import BodyCipher
from zhian.db.engine import Database
from zhian.errors import ZhianError
from zhian.kit.clock import Clock
from zhian.kit.loops import BackgroundLoop

logger = logging.getLogger(__name__)

CHANNEL = "zhian_live"
# Publishers take this transaction lock so that ids commit in order: a listener reading
# "above the last id" would otherwise pass a lower id still in flight and never see it.
PUBLISH_LOCK_KEY = 0x7A6869616E  # "zhian"
# Longest a listener sleeps without a notification before it reads the table anyway.
LISTEN_WAIT_SECONDS = 0.5
# First pause before reconnecting; it doubles up to `live.reconnect_max_seconds`.
RECONNECT_SECONDS = 0.5
# Records read per query while catching up.
CATCH_UP_BATCH = 500
# Publishers prune expired records once every this many messages.
PRUNE_EVERY = 100
# Listener connections carry this name, so an operator sees them in pg_stat_activity.
APPLICATION_NAME = "zhian-live-listener"
# A listener gives up on an unreachable server after this long, and tries again later.
CONNECT_TIMEOUT_SECONDS = 5


def record_context(record_id: int) -> str:
    """What a kept message is sealed for (the form of
    `zhian.governance.identity.field_context`, so key rotation re-seals it)."""
    return f"live_messages.body_enc:{record_id}"


class PostgresLiveFeed:
    """A `LiveFeed` whose messages reach subscribers in every process on the same database.

    `publish` writes and notifies (it blocks for one short transaction, and logs rather
    than raises when the database refuses: the alert itself is already committed).
    `subscribe` starts the listener on first use, reading the current last id first, so a
    subscription sees every message published after `subscribe()` returns. A process that
    only publishes (a worker) never listens.
    """

    def __init__(
        self, db: Database, clock: Clock, settings: LiveSettings, *, cipher: BodyCipher
    ) -> None:
        self.clock = clock
        self._cipher = cipher  # messages are sealed in the table (#12)
        self.published = 0
        self._db = db
        self._settings = settings
        self._local = MemoryLiveFeed(clock)
        self._conninfo = db.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._start_lock = threading.Lock()
        self._connection: psycopg.Connection[tuple[Any, ...]] | None = None
        self._last_id: int | None = None
        self._listener = BackgroundLoop(
            "live-listener",
            self._listen_once,
            interval_seconds=RECONNECT_SECONDS,
            max_backoff_seconds=settings.reconnect_max_seconds,
            logger=logger,
        )
        self.connects = 0  # how many times the listener (re)connected

    @property
    def subscriber_count(self) -> int:
        return self._local.subscriber_count

    @property
    def seen(self) -> int:
        # What this process published, and what the listener (running while a page is
        # subscribed) delivered from every process, its own messages included again.
        return self.published + self._local.published

    @property
    def last_delivered_id(self) -> int | None:
        """The id of the last record handed to this process's subscribers."""
        return self._last_id

    def publish(self, message: LiveMessage) -> None:
        try:
            self._store_and_notify(message)
        except Exception:  # the alert is committed; pages catch up on their next load
            logger.exception("the live feed could not publish %s", message.type)
            return
        self.published += 1

    def _store_and_notify(self, message: LiveMessage) -> None:
        now = self.clock.now()
        with self._db.session() as session:
            session.execute(select(func.pg_advisory_xact_lock(PUBLISH_LOCK_KEY)))
            # Sealed for its id, known once inserted; listeners read it after the commit.
            record = LiveMessageRecord(published_at=now, body_enc=b"")
            session.add(record)
            session.flush()
            record.body_enc = self._cipher.seal_bytes(
                message.model_dump_json().encode(), record_context(record.id)
            )
            session.flush()
            # Delivered at commit, after the row is visible to the listeners.
            session.execute(select(func.pg_notify(CHANNEL, str(record.id))))
            if record.id % PRUNE_EVERY == 0:
                cutoff = now - timedelta(seconds=self._settings.keep_seconds)
                session.execute(
                    delete(LiveMessageRecord).where(LiveMessageRecord.published_at < cutoff)
                )

    def subscribe(self) -> Subscription:
        subscription = self._local.subscribe()
        with self._start_lock:
            if not self._listener.is_running:
                if self._last_id is None:  # first start: from now on, not the history
                    with self._db.session() as session:
                        last = session.scalar(select(func.max(LiveMessageRecord.id)))
                    self._last_id = last or 0
                self._listener.start()
        return subscription

    def close(self) -> None:
        self._listener.stop()
        self._disconnect()

    def _listen_once(self) -> bool:
        """Connect if needed, deliver what is new, then wait for the next notification."""
        try:
            connection = self._connection or self._connect()
            self._catch_up(connection)
            for _ in connection.notifies(timeout=LISTEN_WAIT_SECONDS, stop_after=1):
                pass  # the id is in the table too: the next round reads it
        except psycopg.Error:
            self._disconnect()
            raise  # the loop logs it and reconnects after a growing pause
        return True  # the wait above is the pause

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        connection = psycopg.connect(
            self._conninfo,
            autocommit=True,
            application_name=APPLICATION_NAME,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        connection.execute(f"LISTEN {CHANNEL}")
        self._connection = connection
        self.connects += 1
        if self.connects > 1:
            logger.info("the live feed listener reconnected; catching up from %s", self._last_id)
        return connection

    def _catch_up(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        while True:
            rows = connection.execute(
                "SELECT id, body_enc FROM live_messages WHERE id > %s ORDER BY id LIMIT %s",
                (self._last_id or 0, CATCH_UP_BATCH),
            ).fetchall()
            for record_id, sealed in rows:
                self._last_id = int(record_id)
                try:
                    body = self._cipher.open_bytes(bytes(sealed), record_context(int(record_id)))
                    message = LiveMessage.model_validate_json(body)
                except (ValidationError, ZhianError):
                    # Written by another version or under a key this ring lacks: the pages
                    # catch up on their next load; the stream must not stall on it.
                    logger.exception("live message %d could not be read; skipped", record_id)
                    continue
                self._local.publish(message)
            if len(rows) < CATCH_UP_BATCH:
                return

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
