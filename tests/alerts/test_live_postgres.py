"""The cross-process live feed over PostgreSQL LISTEN/NOTIFY, against the real server.

The publisher runs in another process (`tests/alerts/live_publisher.py`), as a worker
would; the subscriber is this process, as a web process would be.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from tests.registry.factories import SEALER
from zhian.alerts.live import MemoryLiveFeed, Subscription, open_live_feed
from zhian.alerts.live_postgres import (
    APPLICATION_NAME,
    PRUNE_EVERY,
    PostgresLiveFeed,
    record_context,
)
from zhian.alerts.models import LiveMessageRecord
from zhian.alerts.schemas import LiveMessage
from zhian.config import LiveSettings, load_settings
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade_url
from zhian.errors import ConfigurationError
from zhian.kit.clock import ManualClock

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = LiveSettings(type="postgres")


def publish_from_another_process(database_url: str, *messages: LiveMessage) -> None:
    lines = "".join(message.model_dump_json() + "\n" for message in messages)
    result = subprocess.run(
        [sys.executable, "-m", "tests.alerts.live_publisher", database_url],
        input=lines,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(messages)), result.stderr


async def receive(subscription: Subscription, count: int) -> list[LiveMessage]:
    received: list[LiveMessage] = []
    async with asyncio.timeout(20):
        async for message in subscription:
            received.append(message)
            if len(received) == count:
                break
    return received


def message(kind: str, at: datetime, n: int) -> LiveMessage:
    return LiveMessage(type=kind, at=at, data={"n": n})


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    upgrade_url(postgres_url)
    database = Database(make_engine(postgres_url))
    yield database
    database.dispose()


@pytest.fixture
def feed(db: Database, clock: ManualClock) -> Iterator[PostgresLiveFeed]:
    opened = open_live_feed(POSTGRES, db, clock, cipher=SEALER.cipher)
    assert isinstance(opened, PostgresLiveFeed)
    yield opened
    opened.close()


def test_the_config_picks_the_feed_and_refuses_postgres_on_sqlite(
    tmp_path: Path, clock: ManualClock
) -> None:
    sqlite = Database(make_engine(f"sqlite:///{tmp_path / 'zhian.db'}"))
    try:
        assert isinstance(open_live_feed(LiveSettings(), sqlite, clock), MemoryLiveFeed)
        with pytest.raises(ConfigurationError, match=r"live\.type = \"postgres\".*sqlite"):
            open_live_feed(POSTGRES, sqlite, clock, cipher=SEALER.cipher)
    finally:
        sqlite.dispose()


def test_a_message_published_in_another_process_reaches_the_subscriber(
    feed: PostgresLiveFeed, postgres_url: str, clock: ManualClock
) -> None:
    async def scenario() -> list[LiveMessage]:
        feed.publish(message("alert.before", clock.now(), 0))
        subscription = feed.subscribe()  # from now on: the message above is history
        await asyncio.to_thread(
            publish_from_another_process,
            postgres_url,
            message("alert.created", clock.now(), 1),
            message("alert.transition", clock.now(), 2),
        )
        try:
            return await receive(subscription, 2)
        finally:
            subscription.close()

    received = asyncio.run(scenario())
    assert [(m.type, m.data) for m in received] == [
        ("alert.created", {"n": 1}),
        ("alert.transition", {"n": 2}),
    ]
    assert feed.subscriber_count == 0


def test_a_publisher_that_also_listens_delivers_each_message_once(
    feed: PostgresLiveFeed, clock: ManualClock
) -> None:
    async def scenario() -> list[LiveMessage]:
        subscription = feed.subscribe()
        await asyncio.to_thread(feed.publish, message("alert.created", clock.now(), 1))
        await asyncio.to_thread(feed.publish, message("alert.created", clock.now(), 2))
        try:
            first_two = await receive(subscription, 2)
            with pytest.raises(TimeoutError):  # nothing more: no local echo besides NOTIFY
                async with asyncio.timeout(1.0):
                    await anext(subscription)
            return first_two
        finally:
            subscription.close()

    assert [m.data["n"] for m in asyncio.run(scenario())] == [1, 2]
    assert feed.published == 2


def terminate_listeners(postgres_url: str) -> int:
    database = postgres_url.rsplit("/", 1)[1]
    admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            (database, APPLICATION_NAME),
        ).fetchall()
    return len(rows)


def test_the_listener_reconnects_and_catches_up_on_what_it_missed(
    feed: PostgresLiveFeed,
    db: Database,
    postgres_url: str,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = PostgresLiveFeed(db, clock, POSTGRES, cipher=SEALER.cipher)

    async def scenario() -> list[LiveMessage]:
        subscription = feed.subscribe()
        await asyncio.to_thread(publisher.publish, message("alert.created", clock.now(), 1))
        received = await receive(subscription, 1)
        assert feed.connects == 1
        # The database drops the listener's connection; two messages go out meanwhile.
        assert await asyncio.to_thread(terminate_listeners, postgres_url) == 1
        for n in (2, 3):
            await asyncio.to_thread(publisher.publish, message("alert.created", clock.now(), n))
        received += await receive(subscription, 2)
        subscription.close()
        return received

    with caplog.at_level(logging.ERROR, logger="zhian.alerts.live_postgres"):
        received = asyncio.run(scenario())
    assert [m.data["n"] for m in received] == [1, 2, 3]  # none lost, none twice, in order
    assert feed.connects == 2
    assert any("live-listener" in r.getMessage() for r in caplog.records)


def test_a_failed_publish_is_logged_and_does_not_reach_the_caller(
    db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    feed = PostgresLiveFeed(db, clock, POSTGRES, cipher=SEALER.cipher)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE live_messages")
    with caplog.at_level(logging.ERROR, logger="zhian.alerts.live_postgres"):
        feed.publish(message("alert.created", clock.now(), 1))
    assert feed.published == 0
    assert "could not publish alert.created" in caplog.text


def test_publishers_prune_what_is_older_than_keep_seconds(db: Database, clock: ManualClock) -> None:
    feed = PostgresLiveFeed(
        db, clock, LiveSettings(type="postgres", keep_seconds=60), cipher=SEALER.cipher
    )
    feed.publish(message("alert.created", clock.now(), 0))
    clock.advance(timedelta(seconds=61))
    for n in range(1, PRUNE_EVERY):
        feed.publish(message("alert.created", clock.now(), n))
    with db.session() as session:
        kept = session.scalars(select(LiveMessageRecord.id).order_by(LiveMessageRecord.id)).all()
    assert kept == list(range(2, PRUNE_EVERY + 1))  # the first, 61 s old, is gone


def test_a_record_that_is_not_a_message_is_skipped_not_retried_forever(
    feed: PostgresLiveFeed, db: Database, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> list[LiveMessage]:
        subscription = feed.subscribe()
        with db.session() as session:
            # Sealed as the publisher would, but not a message; and one under no key at all.
            bad = LiveMessageRecord(published_at=clock.now(), body_enc=b"")
            session.add(bad)
            session.flush()
            bad.body_enc = SEALER.cipher.seal_bytes(b'{"type": 7}', record_context(bad.id))
            session.add(LiveMessageRecord(published_at=clock.now(), body_enc=b"not sealed"))
        await asyncio.to_thread(feed.publish, message("alert.created", clock.now(), 1))
        try:
            return await receive(subscription, 1)
        finally:
            subscription.close()

    with caplog.at_level(logging.ERROR, logger="zhian.alerts.live_postgres"):
        assert [m.data["n"] for m in asyncio.run(scenario())] == [1]
    assert caplog.text.count("could not be read; skipped") == 2


def test_settings_refuse_a_postgres_feed_on_a_sqlite_node(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"live\.type = \"postgres\" needs a PostgreSQL"):
        load_settings(tmp_path, live={"type": "postgres"})
    assert load_settings(tmp_path).live.type == "memory"


def test_kept_messages_are_sealed_and_reach_subscribers_whole(
    feed: PostgresLiveFeed, db: Database, postgres_url: str, clock: ManualClock
) -> None:
    # A skipped step's reason, as an officer typed it, travels in the message (#12).
    reason = "住户王小明（13912345678）不在家"
    sent = LiveMessage(type="procedure.skipped", at=clock.now(), data={"reason": reason})

    async def scenario() -> list[LiveMessage]:
        subscription = feed.subscribe()
        await asyncio.to_thread(publish_from_another_process, postgres_url, sent)
        try:
            return await receive(subscription, 1)
        finally:
            subscription.close()

    [received] = asyncio.run(scenario())
    assert received.data["reason"] == reason
    with db.engine.connect() as connection:
        stored = [
            bytes(row[0])
            for row in connection.exec_driver_sql("SELECT body_enc FROM live_messages")
        ]
    assert stored and all(
        "王小明".encode() not in body and b"13912345678" not in body for body in stored
    )
