"""Outbound webhooks: subscriptions, a delivery queue in the database, and the worker that
POSTs signed messages with exponential back-off."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from zhian.alerts.models import WebhookDelivery, WebhookSubscription
from zhian.alerts.repository import AlertRepository
from zhian.alerts.schemas import LiveMessage
from zhian.alerts.settings import AlertSettings
from zhian.errors import BadRequestError, ConfigurationError, NotFoundError
from zhian.kit.clock import Clock
from zhian.kit.loops import BackgroundLoop

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Zhian-Signature"
DELIVERY_HEADER = "X-Zhian-Delivery"
MAX_SECRET_CHARS = 200


class BodyCipher(Protocol):
    """Seals and opens bytes for a context (the node's `FieldCipher`)."""

    def seal_bytes(self, plaintext: bytes, context: str) -> bytes: ...

    def open_bytes(self, sealed: bytes, context: str) -> bytes: ...


def delivery_context(subscription_id: int) -> str:
    """What a queued message is sealed for: the subscription it goes to (the form of
    `zhian.governance.identity.field_context`, so key rotation re-seals it)."""
    return f"webhook_deliveries.body_enc:{subscription_id}"


def secret_context(subscription_id: int) -> str:
    """What a subscription's HMAC secret is sealed for: its id (rotation re-seals it)."""
    return f"webhook_subscriptions.secret_enc:{subscription_id}"


def sign_body(secret: str, body: bytes) -> str:
    """The value of `X-Zhian-Signature`: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    url: str
    kinds: list[str] | None
    is_active: bool
    created_at: datetime


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    subscription_id: int
    message_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


class WebhookService:
    """Subscriptions and the delivery queue. Nothing commits here."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        settings: AlertSettings,
        cipher: BodyCipher | None = None,
    ) -> None:
        self.repository = AlertRepository(session)
        self.clock = clock
        self.settings = settings
        # Queued messages are sealed at rest (#12); without a cipher nothing may be queued.
        self._cipher = cipher
        self._active: list[WebhookSubscription] | None = None

    def subscribe(
        self, url: str, secret: str, kinds: list[str] | None = None
    ) -> WebhookSubscriptionRead:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequestError(f"url '{url}' is not an http(s) address", field="url")
        if not 16 <= len(secret) <= MAX_SECRET_CHARS:
            raise BadRequestError(
                f"secret must hold 16 to {MAX_SECRET_CHARS} characters", field="secret"
            )
        cipher = self._require_cipher()
        # Sealed for the id, known once the row is flushed: a placeholder until then.
        row = WebhookSubscription(
            url=url, secret_enc=b"", kinds=kinds, is_active=True, created_at=self.clock.now()
        )
        self.repository.add_subscription(row)
        row.secret_enc = cipher.seal_bytes(secret.encode("utf-8"), secret_context(row.id))
        self.repository.session.flush()
        self._active = None
        return WebhookSubscriptionRead.model_validate(row)

    def list_subscriptions(self) -> list[WebhookSubscriptionRead]:
        return [
            WebhookSubscriptionRead.model_validate(row)
            for row in self.repository.subscriptions(active_only=False)
        ]

    def deactivate(self, subscription_id: int) -> None:
        if not self.repository.deactivate_subscription(subscription_id):
            raise NotFoundError(
                f"no webhook subscription {subscription_id}", field="subscription_id"
            )
        self._active = None

    def deliveries(self, subscription_id: int) -> list[WebhookDeliveryRead]:
        return [
            WebhookDeliveryRead.model_validate(r)
            for r in self.repository.deliveries(subscription_id)
        ]

    def enqueue(self, message: LiveMessage, *, named_only: bool = False) -> int:
        """Queue `message` for every active subscription whose kinds match; returns how many.
        `named_only`: only for subscriptions that name the message's type (a report file
        goes to those who asked for reports, not to every catch-all alert receiver)."""
        if self._active is None:
            self._active = self.repository.subscriptions(active_only=True)
        if not self._active:
            return 0
        kind = None if message.alert is None else message.alert.kind
        targets = [
            sub
            for sub in self._active
            if (sub.kinds and message.type in sub.kinds)
            or (not named_only and (not sub.kinds or kind in sub.kinds))
        ]
        if not targets:
            return 0
        cipher = self._require_cipher()
        body = message.model_dump_json().encode()
        now = self.clock.now()
        rows = [
            WebhookDelivery(
                subscription_id=sub.id,
                message_type=message.type,
                body_enc=cipher.seal_bytes(body, delivery_context(sub.id)),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for sub in targets
        ]
        self.repository.add_deliveries(rows)
        return len(rows)

    def due(self, now: datetime, limit: int) -> list[tuple[int, str, str, bytes]]:
        """(delivery id, url, secret, body opened) of deliveries due now."""
        out = []
        for row in self.repository.due_deliveries(now, limit):
            sub = self.repository.get_subscription(row.subscription_id)
            if sub is None or not sub.is_active:
                row.status, row.last_error = "failed", "subscription deactivated"
                continue
            cipher = self._require_cipher()
            body = cipher.open_bytes(row.body_enc, delivery_context(sub.id))
            secret = cipher.open_bytes(sub.secret_enc, secret_context(sub.id)).decode("utf-8")
            out.append((row.id, sub.url, secret, body))
        return out

    def _require_cipher(self) -> BodyCipher:
        if self._cipher is None:
            raise ConfigurationError(
                "webhook messages and secrets are sealed at rest and this service was given no "
                "key ring (open it through the node, or `zhian webhooks` in the node's workspace)",
                field="governance",
            )
        return self._cipher

    def record_attempt(self, delivery_id: int, error: str | None, now: datetime) -> None:
        row = self.repository.session.get(WebhookDelivery, delivery_id)
        if row is None:
            return
        row.attempts += 1
        if error is None:
            row.status, row.delivered_at, row.last_error = "delivered", now, None
            return
        row.last_error = error[:500]
        if row.attempts >= self.settings.webhook_max_attempts:
            row.status = "failed"
            return
        pause = min(
            self.settings.webhook_backoff_seconds * 2 ** (row.attempts - 1),
            self.settings.webhook_backoff_max_seconds,
        )
        row.next_attempt_at = now + timedelta(seconds=pause)


class WebhookWorker:
    """Delivers due webhook messages on a daemon thread; `deliver_due(now)` runs one round."""

    def __init__(
        self,
        open_service: Callable[[], AbstractContextManager[WebhookService]],
        clock: Clock,
        settings: AlertSettings,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._open = open_service
        self._clock = clock
        self._settings = settings
        self._client = httpx.Client(timeout=settings.webhook_timeout_seconds, transport=transport)
        self._loop = BackgroundLoop(
            "webhooks",
            self._deliver_in_loop,
            interval_seconds=settings.webhook_poll_seconds,
            wait_first=True,
            logger=logger,
        )

    def deliver_due(self, now: datetime | None = None, limit: int = 100) -> tuple[int, int]:
        """Attempt every due delivery once; returns (delivered, failed attempts)."""
        moment = now or self._clock.now()
        with self._open() as service:
            due = service.due(moment, limit)
        results: list[tuple[int, str | None]] = []
        for delivery_id, url, secret, raw in due:
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_body(secret, raw),
                DELIVERY_HEADER: str(delivery_id),
            }
            try:
                response = self._client.post(url, content=raw, headers=headers)
                error = None if response.is_success else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            results.append((delivery_id, error))
        if results:
            with self._open() as service:
                for delivery_id, error in results:
                    service.record_attempt(delivery_id, error, moment)
        delivered = sum(1 for _, error in results if error is None)
        return delivered, len(results) - delivered

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        self._client.close()

    def _deliver_in_loop(self) -> None:
        self.deliver_due()
