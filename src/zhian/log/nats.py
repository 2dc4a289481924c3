"""The event log of the scaled tier: one NATS JetStream stream, replicated by the cluster.

Layout (docs/deploy-scaled.md):

- One stream (`log.nats_stream`, default `ZHIAN_EVENTS`) with one subject
  (`log.nats_subject`). A record is one intake request's batch, sealed at rest, so the log
  cannot route it by community or event type without opening it; and every reader's
  checkpoint is one number, so one totally ordered stream is what the readers need. The
  stream sequence *is* the log's sequence number: nothing is ever deleted from the middle
  (retention purges from the oldest end only) and JetStream numbers every stored message
  1, 2, 3 ... without gaps, a suppressed duplicate taking no number.
- An append publishes each record with a `Nats-Msg-Id` (the intake's batch id, or a random
  one for a caller that gives none) and returns once the stream has acknowledged every one
  (a replicated stream acknowledges once a quorum stored it). Records are published one
  after the other without waiting, then every acknowledgement is awaited; one that does not
  come in time is published again under the same id, so a retry never stores it twice.
  Within `log.nats_duplicate_window_seconds`, the same id sent by any intake process is
  stored once and its first number returned.
- Named readers: each is a durable pull consumer `<name>` on the stream (what `nats
  consumer report` shows), and its acknowledged position is kept in the key-value bucket
  `<stream>_READERS` (replicated like the stream): the readers' own checkpoints (the store's
  `last_seq`, the rules' checkpoint row) may lie ahead of what this stream holds, which a
  consumer's ack floor cannot express.
- Retention drops runs of `log.nats_segment_records` records (the local log's segments) by
  purging the stream below a run's end; the run holding the newest record is never dropped.

nats-py is asyncio: the log runs its own event loop on a daemon thread and every call,
from any thread or any other event loop, is handed to it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Final, TypeVar

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from nats.js.kv import KeyValue

from zhian.log.base import EventLogError, LogClosedError, LogCorruptError, SegmentInfo
from zhian.log.damage import LogLoss
from zhian.log.readers import ReaderPosition, check_reader_name
from zhian.log.settings import LogSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")

READERS_BUCKET_SUFFIX: Final = "_READERS"
# Records fetched concurrently by one read (each is one request to the stream's leader).
READ_CONCURRENCY: Final = 256
ITER_CHUNK_RECORDS: Final = 1024
# An append gives up after this many times log.nats_timeout_seconds.
PUBLISH_ROUNDS: Final = 3
RETRY_PAUSE_SECONDS: Final = 0.25
# Room left in a message for its headers (the message id) and the subject.
HEADER_ROOM_BYTES: Final = 512


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: dict[str, Any] | None = None
    unavailable: bool = False  # "no responders": the stream has no leader at the moment


class _StoredPosition(msgspec.Struct, frozen=True):
    seq: int
    updated_at: datetime


_ACK_DECODER = msgspec.json.Decoder(_PubAck)
_POSITION_ENCODER = msgspec.json.Encoder()
_POSITION_DECODER = msgspec.json.Decoder(_StoredPosition)


@dataclass(frozen=True)
class NatsLogConfig:
    """What the NATS log is opened with (from `LogSettings`, or a test's own)."""

    servers: tuple[str, ...]
    stream: str
    subject: str
    replicas: int = 1
    duplicate_window_seconds: float = 120.0
    max_message_bytes: int = 1024 * 1024
    segment_records: int = 10_000
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: LogSettings) -> NatsLogConfig:
        return cls(
            servers=tuple(url.strip() for url in settings.nats_url.split(",") if url.strip()),
            stream=settings.nats_stream,
            subject=settings.nats_subject,
            replicas=settings.nats_replicas,
            duplicate_window_seconds=settings.nats_duplicate_window_seconds,
            max_message_bytes=settings.nats_max_message_bytes,
            segment_records=settings.nats_segment_records,
            timeout_seconds=settings.nats_timeout_seconds,
        )

    @property
    def readers_bucket(self) -> str:
        return self.stream + READERS_BUCKET_SUFFIX


@dataclass(frozen=True)
class _StreamState:
    first_seq: int  # durable_seq + 1 when the stream holds no record
    durable_seq: int
    size_bytes: int
    records: int


class _Runner:
    """An event loop on a daemon thread; `call` runs a coroutine there and waits."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


class NatsEventLog:
    """The durable event log on a JetStream stream (see the module's docstring).

    Any number of processes may open the same stream: intake processes append, the store
    writer and the rules read, retention prunes. Records are opaque bytes, as for the local
    log; the node seals them before they reach this class.
    """

    def __init__(self, config: NatsLogConfig) -> None:
        if not config.servers:
            raise ValueError("log.nats_url names no server")
        self._config = config
        self._closed = False
        self._submit_lock = threading.Lock()
        self._inflight: set[concurrent.futures.Future[Any]] = set()
        self._runner = _Runner(f"zhian-nats-log:{config.stream}")
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._acks: dict[str, asyncio.Future[_PubAck]] = {}
        self._inbox = ""
        try:
            self._runner.submit(self._open()).result()
        except BaseException as exc:
            self._runner.submit(self._close_connection()).result()
            self._runner.stop()
            if isinstance(exc, EventLogError):
                raise
            raise EventLogError(
                f"could not open the NATS log (stream {config.stream} at "
                f"{', '.join(config.servers)}): {_describe(exc)}"
            ) from exc
        self._readers = NatsLogReaders(self)

    # -- the public contract ------------------------------------------------------------

    @property
    def config(self) -> NatsLogConfig:
        return self._config

    @property
    def max_record_bytes(self) -> int:
        """The largest record an append takes: the message limit less room for headers."""
        return self._config.max_message_bytes - HEADER_ROOM_BYTES

    @property
    def durable_seq(self) -> int:
        return self._call(self._state()).durable_seq

    @property
    def first_seq(self) -> int:
        return self._call(self._state()).first_seq

    @property
    def readers(self) -> NatsLogReaders:
        return self._readers

    def append(self, records: Sequence[bytes], ids: Sequence[str] | None = None) -> int:
        return self._call(self._append(self._checked(records, ids), ids))

    def append_async(
        self, records: Sequence[bytes], ids: Sequence[str] | None = None
    ) -> Awaitable[int]:
        return asyncio.wrap_future(self._submit(self._append(self._checked(records, ids), ids)))

    def read(self, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        if after_seq < 0 or limit < 0:
            raise ValueError("after_seq and limit must not be negative")
        return self._call(self._read(after_seq, limit, end_seq=None))

    def iter_records(self, after_seq: int = 0) -> Iterator[tuple[int, bytes]]:
        end_seq = self.durable_seq
        while after_seq < end_seq:
            chunk = self._call(self._read(after_seq, ITER_CHUNK_RECORDS, end_seq=end_seq))
            if not chunk:
                return
            yield from chunk
            after_seq = chunk[-1][0]

    def segments(self) -> list[SegmentInfo]:
        return _segments(self._call(self._state()), self._config.segment_records)

    def losses(self) -> list[LogLoss]:
        """None: the stream's replicas, not a local disk, keep the records (see docs)."""
        return []

    def prune_through(self, seq: int) -> list[SegmentInfo]:
        return self._call(self._prune_through(seq))

    def close(self) -> None:
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
            pending = list(self._inflight)
        # Appends already handed over finish (or fail) before the connection goes.
        concurrent.futures.wait(pending, timeout=self._config.timeout_seconds * PUBLISH_ROUNDS)
        try:
            self._runner.submit(self._close_connection()).result(timeout=30)
        finally:
            self._runner.stop()

    def __enter__(self) -> NatsEventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- handing calls to the loop --------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        with self._submit_lock:
            if self._closed:
                coro.close()
                raise LogClosedError("the event log is closed")
            future = self._runner.submit(self._translated(coro))
            self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        return future

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._submit(coro).result()

    async def _translated(self, coro: Coroutine[Any, Any, T]) -> T:
        """NATS errors become the log's own: the intake answers 503 and retries later."""
        try:
            return await coro
        except (EventLogError, ValueError):
            raise
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise EventLogError(f"the NATS log is unavailable: {_describe(exc)}") from exc

    def _checked(self, records: Sequence[bytes], ids: Sequence[str] | None) -> Sequence[bytes]:
        if not records:
            raise ValueError("an append needs at least one record")
        if ids is not None and len(ids) != len(records):
            raise ValueError(f"{len(ids)} message ids for {len(records)} records")
        limit = self.max_record_bytes
        for record in records:
            if not 0 < len(record) <= limit:
                raise ValueError(
                    f"a log record must hold 1 to {limit} bytes (log.nats_max_message_bytes "
                    f"less headers); this one holds {len(record)}"
                )
        return records

    # -- on the loop ------------------------------------------------------------------------

    async def _open(self) -> None:
        config = self._config
        # Reconnects go on for as long as the log is open (a node restarting, a leader
        # moving); the first connection is bounded, so a node without NATS says so.
        self._nc = Client()
        connecting = self._nc.connect(
            servers=list(config.servers),
            name=f"zhian-log:{config.stream}",
            connect_timeout=max(1, int(config.timeout_seconds)),
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            error_cb=_log_error,
        )
        try:
            await asyncio.wait_for(connecting, timeout=config.timeout_seconds)
        except TimeoutError:
            raise EventLogError(
                f"no NATS server answered at {', '.join(config.servers)} within "
                f"{config.timeout_seconds:g}s (log.nats_url)"
            ) from None
        if self._nc.max_payload < config.max_message_bytes:
            raise EventLogError(
                f"log.nats_max_message_bytes is {config.max_message_bytes} but the NATS "
                f"server takes at most {self._nc.max_payload} bytes a message (max_payload)"
            )
        self._js = self._nc.jetstream(timeout=config.timeout_seconds)
        await self._ensure_stream()
        # Every acknowledgement comes to one subscription; the last token says whose it is.
        self._inbox = self._nc.new_inbox()
        await self._nc.subscribe(self._inbox + ".*", cb=self._on_ack)
        self._kv = await self._ensure_bucket()

    async def _ensure_stream(self) -> None:
        js, config = self._jetstream(), self._config
        wanted = StreamConfig(
            name=config.stream,
            subjects=[config.subject],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            num_replicas=config.replicas,
            duplicate_window=config.duplicate_window_seconds,
            max_msg_size=config.max_message_bytes,
        )
        try:
            info = await js.stream_info(config.stream)
        except nats.js.errors.NotFoundError:
            await js.add_stream(wanted)
            return
        existing = info.config
        if list(existing.subjects or []) != [config.subject]:
            raise EventLogError(
                f"stream {config.stream} takes subjects {existing.subjects}, not "
                f"[{config.subject!r}]: check log.nats_subject or log.nats_stream"
            )
        if existing.num_replicas != config.replicas:
            # The replication factor of a stream can be changed in place since NATS 2.9,
            # but silently re-replicating the log is the operator's decision.
            raise EventLogError(
                f"stream {config.stream} has {existing.num_replicas} replicas but "
                f"log.nats_replicas is {config.replicas}: change one of them (`nats stream "
                "edit --replicas`)"
            )
        if (
            existing.duplicate_window != config.duplicate_window_seconds
            or existing.max_msg_size != config.max_message_bytes
        ):
            existing.duplicate_window = config.duplicate_window_seconds
            existing.max_msg_size = config.max_message_bytes
            await js.update_stream(existing)

    async def _ensure_bucket(self) -> KeyValue:
        js, config = self._jetstream(), self._config
        try:
            return await js.key_value(config.readers_bucket)
        except nats.js.errors.BucketNotFoundError:
            return await js.create_key_value(
                KeyValueConfig(
                    bucket=config.readers_bucket,
                    history=1,
                    replicas=config.replicas,
                    storage=StorageType.FILE,
                    description=f"named readers' positions in the event log {config.stream}",
                )
            )

    async def _close_connection(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    def _jetstream(self) -> JetStreamContext:
        assert self._js is not None  # set by _open before any other call
        return self._js

    def _client(self) -> Client:
        assert self._nc is not None
        return self._nc

    def bucket(self) -> KeyValue:
        assert self._kv is not None
        return self._kv

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the log's loop (for the readers' registry)."""
        return self._call(coro)

    async def _on_ack(self, msg: Msg) -> None:
        token = msg.subject.rsplit(".", 1)[-1]
        waiting = self._acks.pop(token, None)
        if waiting is None or waiting.done():
            return  # an acknowledgement that came after its append gave up
        if msg.headers and msg.headers.get("Status") == "503":
            waiting.set_result(_PubAck(unavailable=True))
            return
        try:
            waiting.set_result(_ACK_DECODER.decode(msg.data))
        except msgspec.DecodeError as exc:
            waiting.set_result(_PubAck(error={"description": f"unreadable ack: {exc}"}))

    async def _append(self, records: Sequence[bytes], ids: Sequence[str] | None) -> int:
        nc, config = self._client(), self._config
        message_ids = list(ids) if ids is not None else [uuid.uuid4().hex for _ in records]
        seqs: list[int] = [0] * len(records)
        todo = list(range(len(records)))
        loop = asyncio.get_running_loop()
        # A stream electing a new leader (a node went) answers "no responders" for a few
        # seconds: such records, and those not acknowledged in time, are published again
        # under the same message id until the deadline, so none is stored twice.
        deadline = loop.time() + config.timeout_seconds * PUBLISH_ROUNDS
        while True:
            waiting: list[tuple[int, str, asyncio.Future[_PubAck]]] = []
            # In order, without waiting: the stream stores them in this order.
            for index in todo:
                token = uuid.uuid4().hex
                future: asyncio.Future[_PubAck] = loop.create_future()
                self._acks[token] = future
                waiting.append((index, token, future))
                await nc.publish(
                    config.subject,
                    records[index],
                    reply=f"{self._inbox}.{token}",
                    headers={"Nats-Msg-Id": message_ids[index]},
                )
            remaining = deadline - loop.time()
            done, _ = await asyncio.wait(
                [future for _, _, future in waiting],
                timeout=max(0.1, min(config.timeout_seconds, remaining)),
            )
            todo = []
            for index, token, future in waiting:
                if future not in done:
                    self._acks.pop(token, None)
                    future.cancel()
                    todo.append(index)
                    continue
                ack = future.result()
                if ack.unavailable or (ack.error is not None and ack.error.get("code") == 503):
                    todo.append(index)
                elif ack.error is not None:
                    raise EventLogError(
                        f"the stream {config.stream} refused a record: "
                        f"{ack.error.get('description', ack.error)}"
                    )
                else:
                    seqs[index] = ack.seq
            if not todo:
                return max(seqs)
            if loop.time() >= deadline:
                raise EventLogError(
                    f"the stream {config.stream} did not acknowledge {len(todo)} of "
                    f"{len(records)} records in {config.timeout_seconds * PUBLISH_ROUNDS:g}s: "
                    "they are not durable"
                )
            logger.warning(
                "NATS log: %d of %d records not acknowledged yet; publishing them again",
                len(todo),
                len(records),
            )
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _state(self) -> _StreamState:
        info = await self._jetstream().stream_info(self._config.stream)
        state = info.state
        last = state.last_seq or 0
        first = state.first_seq if state.messages else last + 1
        return _StreamState(max(first, 1), last, state.bytes or 0, state.messages or 0)

    async def _read(
        self, after_seq: int, limit: int, end_seq: int | None
    ) -> list[tuple[int, bytes]]:
        state = await self._state()
        start = max(after_seq + 1, state.first_seq)
        end = state.durable_seq if end_seq is None else min(end_seq, state.durable_seq)
        end = min(end, start + limit - 1)
        found: list[tuple[int, bytes]] = []
        for chunk_start in range(start, end + 1, READ_CONCURRENCY):
            seqs = range(chunk_start, min(end, chunk_start + READ_CONCURRENCY - 1) + 1)
            got = await asyncio.gather(*(self._get(seq) for seq in seqs))
            for seq, payload in zip(seqs, got, strict=True):
                if payload is None:
                    if found:  # pruned under a read that had begun: stop at the hole
                        return found
                    continue  # pruned before it: the answer starts at the first kept
                found.append((seq, payload))
        return found

    async def _get(self, seq: int) -> bytes | None:
        try:
            message = await self._jetstream().get_msg(self._config.stream, seq)
        except nats.js.errors.NotFoundError:
            if seq >= (await self._state()).first_seq:
                raise LogCorruptError(
                    f"event log record {seq} is missing from stream {self._config.stream} "
                    "although later records are kept"
                ) from None
            return None
        return message.data or b""

    async def _prune_through(self, seq: int) -> list[SegmentInfo]:
        state = await self._state()
        removed = [
            segment
            for segment in _segments(state, self._config.segment_records)
            if not segment.is_active and segment.records > 0 and segment.last_seq <= seq
        ]
        if removed:
            # JetStream purges every message below the given sequence number.
            await self._jetstream().purge_stream(self._config.stream, seq=removed[-1].last_seq + 1)
        return removed


def _segments(state: _StreamState, per_segment: int) -> list[SegmentInfo]:
    """The kept records cut into runs of `per_segment` (by number: run k holds records
    k*per_segment + 1 to (k+1)*per_segment); the run holding the newest record is active.
    Sizes are the stream's bytes shared out by record count (JetStream keeps no per-run
    figure)."""
    if state.records == 0:
        return [SegmentInfo(state.first_seq, state.first_seq - 1, 0, True)]
    per_record = state.size_bytes / state.records
    active_index = (state.durable_seq - 1) // per_segment
    found: list[SegmentInfo] = []
    index = (state.first_seq - 1) // per_segment
    while index <= active_index:
        first = max(state.first_seq, index * per_segment + 1)
        last = min(state.durable_seq, (index + 1) * per_segment)
        found.append(
            SegmentInfo(first, last, round(per_record * (last - first + 1)), index == active_index)
        )
        index += 1
    return found


class NatsLogReaders:
    """Named readers of the NATS log: a durable pull consumer each, positions in a bucket.

    The consumer `<name>` starts at the position a reader registers with, so `nats consumer
    report` lists the log's readers; the position a reader acknowledges is kept in the
    `<stream>_READERS` key-value bucket, written on every acknowledgement, which is what
    retention and `zhian log readers` go by.
    """

    def __init__(self, log: NatsEventLog) -> None:
        self._log = log

    def register(self, name: str, seq: int) -> None:
        check_reader_name(name)
        self._check_seq(seq)
        self._log.run(self._register(name, seq))

    def ack(self, name: str, seq: int) -> None:
        check_reader_name(name)
        self._check_seq(seq)
        self._log.run(self._put(name, seq))

    def positions(self) -> list[ReaderPosition]:
        return self._log.run(self._positions())

    def drop(self, name: str) -> bool:
        check_reader_name(name)
        return self._log.run(self._drop(name))

    @staticmethod
    def _check_seq(seq: int) -> None:
        if seq < 0:
            raise ValueError("a reader's position must not be negative")

    async def _register(self, name: str, seq: int) -> None:
        js, stream = self._log._jetstream(), self._log.config.stream
        state = await self._log._state()
        if seq > state.durable_seq:
            # The reader's own checkpoint (the store's last_seq, the rules' checkpoint row)
            # is past the stream's end: the workspace's log was switched (local → nats) or
            # the stream was made again. Records numbered up to `seq` would never reach
            # this reader. An empty stream numbers on after it (a purge below `seq + 1`
            # moves an empty stream's next number there, as the local log's jump does);
            # records already in it would be skipped, so nothing starts.
            if state.records > 0:
                raise LogSwitchedError(
                    f"log reader {name!r} has read through record {seq}, but stream {stream} "
                    f"ends at record {state.durable_seq}: the event log was switched "
                    f"(log.type) or the stream was made again, and its records numbered up "
                    f"to {seq} would never reach {name!r}. Stop every process writing to "
                    f"it; once its records are dealt with (another reader's, or replayed), "
                    f"number it on after {seq}: `nats stream purge {stream} --seq {seq + 1}` "
                    '(docs/deploy-scaled.md, "Switching a workspace to NATS")'
                )
            logger.warning(
                "NATS log: reader %r stands at record %d, past the end of the empty stream "
                "%s (%d): the stream numbers on after it",
                name,
                seq,
                stream,
                state.durable_seq,
            )
            await js.purge_stream(stream, seq=seq + 1)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(stream, name)
        await js.add_consumer(
            stream,
            ConsumerConfig(
                durable_name=name,
                description="a named reader of the Zhian event log",
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=seq + 1,
                ack_policy=AckPolicy.ALL,
                headers_only=True,
            ),
        )
        await self._put(name, seq)

    async def _put(self, name: str, seq: int) -> None:
        payload = _POSITION_ENCODER.encode(_StoredPosition(seq, datetime.now(UTC)))
        await self._log.bucket().put(name, payload)

    async def _names(self) -> list[str]:
        """The readers' names: the subjects of the bucket's stream, asked of the server.
        (`KeyValue.keys()` watches the bucket and may answer before the watcher has seen
        a key that is already stored: an empty answer there once let pruning find no
        reader.) A dropped reader's purge marker is skipped by the caller."""
        bucket = self._log.config.readers_bucket
        prefix = f"$KV.{bucket}."
        info = await self._log._jetstream().stream_info(
            f"KV_{bucket}", subjects_filter=f"{prefix}>"
        )
        subjects = info.state.subjects or {}
        return [subject.removeprefix(prefix) for subject in subjects]

    async def _positions(self) -> list[ReaderPosition]:
        kv = self._log.bucket()
        names = await self._names()
        found: list[ReaderPosition] = []
        for name in names:
            try:
                entry = await kv.get(name)
            except nats.js.errors.KeyNotFoundError:  # dropped meanwhile
                continue
            if not entry.value:
                continue
            try:
                stored = _POSITION_DECODER.decode(entry.value)
            except msgspec.DecodeError as exc:
                raise EventLogError(f"log reader {name}'s position is unreadable: {exc}") from exc
            found.append(ReaderPosition(name, stored.seq, stored.updated_at))
        return sorted(found, key=lambda position: (position.seq, position.name))

    async def _drop(self, name: str) -> bool:
        kv = self._log.bucket()
        try:
            await kv.get(name)
        except nats.js.errors.KeyNotFoundError:
            return False
        await kv.purge(name)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self._log._jetstream().delete_consumer(self._log.config.stream, name)
        return True


class LogSwitchedError(EventLogError):
    """A named reader stands past the stream's newest record: the log was switched or the
    stream made again, so its numbers no longer match the readers' checkpoints."""

    status_code = 500
    code = "event_log_switched"


def delete_nats_log(config: NatsLogConfig) -> bool:
    """Delete the log's stream and its readers' bucket (tests; a log retired for good).

    False when there was no stream."""

    async def delete() -> bool:
        nc = await nats.connect(servers=list(config.servers), connect_timeout=5)
        try:
            js = nc.jetstream(timeout=config.timeout_seconds)
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_key_value(config.readers_bucket)
            try:
                return bool(await js.delete_stream(config.stream))
            except nats.js.errors.NotFoundError:
                return False
        finally:
            await nc.close()

    return asyncio.run(delete())


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _log_error(exc: Exception) -> None:
    logger.warning("NATS log connection: %s", _describe(exc))
