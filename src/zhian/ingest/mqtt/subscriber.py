"""The MQTT subscriber: broker messages in batches through the intake, acked once answered.

Delivery is QoS 1 with manual acknowledgement. A message is acknowledged to the broker only
after the intake answered for it: accepted (durable in the log), duplicate (already
durable), or refused and kept in the quarantine. Until then the broker keeps it in Zhian's
persistent session and sends it again after a reconnect, so a broker or Zhian restart
loses nothing; the intake's idempotency turns the resend into `duplicate`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from zhian.ingest.mqtt.settings import MqttSettings
from zhian.ingest.mqtt.topics import (
    PayloadIdentity,
    TopicAddress,
    parse_topic,
    read_identity,
    subscription_filter,
    topic_errors,
)
from zhian.ingest.service import (
    STORAGE_FAILURES,
    IntakeService,
    QuarantineEntry,
    QuarantineSink,
)
from zhian.ingest.settings import IntakeSettings
from zhian.ingest.validate import FieldError, ItemRejected, decode_event
from zhian.kit.clock import Clock

logger = logging.getLogger(__name__)

SOURCE = "mqtt"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class _Received:
    """One message as the network thread handed it over."""

    generation: int  # the connection it arrived on; acks never cross connections
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class MqttStats:
    """Running counters since start-up, for the status page and tests."""

    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    acked: int = 0
    # Answered, but the connection it came on was gone; the broker sends it again.
    left_for_redelivery: int = 0
    # Messages whose handling failed for a reason of their own: quarantined and acked.
    unprocessable: int = 0
    batches: int = 0
    connects: int = 0
    failed_batches: int = 0
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class MqttSubscriber:
    """Subscribes to `<prefix>/#` and feeds every message through the intake.

    A batch is one intake call (source `mqtt`, one fsync). A payload whose `device_id` or
    `type` contradicts its topic is refused here with the field and the reason. Every
    refused message is kept in the quarantine with source `mqtt:<topic>` and the topic's
    device as sender (the broker authenticated it for that topic), so that a replay from
    the quarantine is checked against that device.
    """

    def __init__(
        self,
        *,
        intake: IntakeService,
        quarantine: QuarantineSink,
        clock: Clock,
        settings: MqttSettings,
        max_payload_bytes: int = IntakeSettings().max_body_bytes,
    ) -> None:
        self._intake = intake
        # The HTTP body limit (`[intake] max_body_bytes`): a larger payload is refused.
        self._max_payload_bytes = max_payload_bytes
        self._quarantine = quarantine
        self._clock = clock
        self._settings = settings
        self._filter = subscription_filter(settings.topic_prefix)
        self._queue: queue.Queue[_Received] = queue.Queue()
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._client = self._make_client()
        self.stats = MqttStats()

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying with back-off) and start handling messages."""
        if self._worker is not None:
            raise RuntimeError("the MQTT subscriber is already running")
        self._stopping.clear()
        self._worker = threading.Thread(target=self._run, name="zhian-mqtt-intake", daemon=True)
        self._worker.start()
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._settings.session_expiry_seconds
        properties.ReceiveMaximum = self._settings.batch_max_messages
        self._client.connect_async(
            self._settings.host,
            self._settings.port,
            keepalive=self._settings.keepalive_seconds,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Finish the batch in hand, send its acks, then leave; the rest stays with the broker."""
        if self._worker is None:
            return
        self._stopping.set()
        self._worker.join(timeout_seconds)
        self._worker = None
        # DISCONNECT goes out after the acks already queued; the session stays at the broker.
        self._client.disconnect()
        self._client.loop_stop()

    def wait_subscribed(self, timeout_seconds: float) -> bool:
        """True once connected and subscribed (for start-up checks and tests)."""
        return self._subscribed.wait(timeout_seconds)

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    def backlog(self) -> int:
        """Messages received but not yet answered by the intake."""
        return self._queue.qsize()

    # --- network thread -------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if self._settings.username:
            password = self._settings.password.get_secret_value() or None
            client.username_pw_set(self._settings.username, password)
        client.reconnect_delay_set(
            self._settings.reconnect_min_seconds, self._settings.reconnect_max_seconds
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._note_error(f"the broker refused the connection: {reason_code}")
            return
        with self._ack_lock:
            self._generation += 1
        with self.stats._lock:
            self.stats.connects += 1
        self._connected.set()
        # Subscribing again on a resumed session is harmless and covers a lost session.
        client.subscribe(self._filter, options=SubscribeOptions(qos=1))

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        failed = [str(code) for code in reason_codes if code.is_failure]
        if failed:
            self._note_error(f"the broker refused the subscription {self._filter}: {failed}")
        else:
            self._subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        if not self._stopping.is_set():
            logger.warning("MQTT broker connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._queue.put(
            _Received(
                self._generation, message.mid, message.qos, message.topic, bytes(message.payload)
            )
        )

    def _note_error(self, text: str) -> None:
        logger.error("%s", text)
        with self.stats._lock:
            self.stats.last_error = text

    # --- intake thread --------------------------------------------------------------------

    def _run(self) -> None:
        wait_seconds = self._settings.batch_max_ms / 1000
        limit = self._settings.batch_max_messages
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            batch = [first]
            # A monotonic deadline only shapes batches; no event time depends on it.
            deadline = time.monotonic() + wait_seconds
            while len(batch) < limit:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            self._answer(batch)

    def _answer(self, batch: list[_Received]) -> None:
        """Hand a batch to the intake; if that fails, answer its messages one by one."""
        try:
            self._process(batch)
        except Exception:
            logger.exception("MQTT batch of %d messages failed; answering one by one", len(batch))
            with self.stats._lock:
                self.stats.failed_batches += 1
        else:
            self._acknowledge(batch)
            return
        # In arrival order, each acked once answered: a message that waits for the storage
        # holds back the ones after it, as MQTT's in-order acknowledgement requires.
        for message in batch:
            if not self._answer_alone(message):
                return  # stopping: the rest stays unacknowledged, the broker sends it again

    def _answer_alone(self, message: _Received) -> bool:
        """Answer one message, retrying while the storage fails; False when stopping first.

        A message that fails for a reason of its own (a poison message) is quarantined
        with the failure and acknowledged, so one message never stalls the stream.
        """
        delay = float(self._settings.reconnect_min_seconds)
        while True:
            try:
                try:
                    self._process([message])
                except STORAGE_FAILURES:
                    raise  # the message waits at the broker until the storage is back
                except Exception as exc:
                    logger.exception("MQTT message on %s cannot be processed", message.topic)
                    self._hold_unprocessable(message, exc)
            except Exception as exc:  # the log or the quarantine failed: retry, never ack
                logger.exception("MQTT message on %s failed; retrying", message.topic)
                with self.stats._lock:
                    self.stats.last_error = f"intake failed: {exc}"
                if self._stopping.wait(delay):
                    return False
                delay = min(delay * 2, float(self._settings.reconnect_max_seconds))
                continue
            self._acknowledge([message])
            return True

    def _hold_unprocessable(self, message: _Received, exc: Exception) -> None:
        address = parse_topic(self._settings.topic_prefix, message.topic)
        reason = FieldError("", f"could not be processed: {type(exc).__name__}: {exc}"[:500])
        entry = self._entry(
            message,
            address if isinstance(address, TopicAddress) else None,
            [reason],
            "unprocessable",
            self._clock.now(),
        )
        self._quarantine.hold([entry])
        with self.stats._lock:
            self.stats.received += 1
            self.stats.rejected += 1
            self.stats.unprocessable += 1

    def _process(self, batch: Sequence[_Received]) -> None:
        refused: list[QuarantineEntry] = []
        items: list[bytes] = []
        owners: list[tuple[_Received, TopicAddress]] = []
        now = self._clock.now()
        for message in batch:
            address = parse_topic(self._settings.topic_prefix, message.topic)
            if isinstance(address, FieldError):
                refused.append(self._entry(message, None, [address], "topic", now))
                continue
            if len(message.payload) > self._max_payload_bytes:
                too_large = FieldError(
                    "",
                    f"payload of {len(message.payload):,} bytes is larger than the "
                    f"{self._max_payload_bytes:,} bytes accepted",
                )
                refused.append(self._entry(message, address, [too_large], "too_large", now))
                continue
            errors = topic_errors(address, _identity_for_topic(message.payload))
            if errors:
                refused.append(self._entry(message, address, errors, "topic_mismatch", now))
            else:
                items.append(message.payload)
                owners.append((message, address))
        accepted = duplicate = 0
        if items:
            # Refusals are held here rather than by the intake, so that the quarantine keeps
            # each one's topic and sender.
            result = self._intake.submit_raw(
                items,
                source=SOURCE,
                sender_id=None,
                content_type=CONTENT_TYPE,
                hold_rejected=False,
            )
            accepted, duplicate = result.accepted, result.duplicate
            for outcome in result.items:
                if outcome.status == "rejected":
                    message, address = owners[outcome.index]
                    code = outcome.code or "invalid"
                    errors = outcome.errors or []
                    refused.append(self._entry(message, address, errors, code, now))
        if refused:
            self._quarantine.hold(refused)
        with self.stats._lock:
            stats = self.stats
            stats.batches += 1
            stats.received += len(batch)
            stats.accepted += accepted
            stats.duplicate += duplicate
            stats.rejected += len(refused)

    def _entry(
        self,
        message: _Received,
        address: TopicAddress | None,
        errors: list[FieldError],
        code: str,
        now: datetime,
    ) -> QuarantineEntry:
        identity = read_identity(message.payload)
        device = identity.device_id if identity and isinstance(identity.device_id, str) else None
        event = identity.id if identity and isinstance(identity.id, str) else None
        source = address.source if address else TopicAddress(message.topic, "", "", "").source
        return QuarantineEntry(
            received_at=now,
            source=source,
            sender_device_id=address.device_id if address else None,
            device_id=device[:64] if device else None,
            event_id=event[:64] if event else None,
            content_type=CONTENT_TYPE,
            raw=message.payload,
            reasons=errors,
            reason_code=code,
        )

    def _acknowledge(self, batch: Sequence[_Received]) -> None:
        acked = stale = 0
        # In arrival order, as MQTT expects; only on the connection each message came on.
        with self._ack_lock:
            generation = self._generation
            for message in batch:
                if message.generation != generation or not self._connected.is_set():
                    stale += 1
                elif message.qos > 0:
                    self._client.ack(message.mid, message.qos)
                    acked += 1
        with self.stats._lock:
            self.stats.acked += acked
            self.stats.left_for_redelivery += stale


def _identity_for_topic(payload: bytes) -> PayloadIdentity | None:
    """What the topic is checked against: the event the intake itself will read from the
    payload (the same decoder, so no payload can show the check one device and the intake
    another); for a payload the intake refuses anyway, its fields as far as they read."""
    event = decode_event(payload)
    if isinstance(event, ItemRejected):
        return read_identity(payload)
    return PayloadIdentity(
        type=type(event).__struct_config__.tag, device_id=event.device_id, id=event.id
    )
