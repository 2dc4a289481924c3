"""Deliver subscriptions: matching objects, in batches, every ReportInterval, until acknowledged."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
import msgspec
from sqlalchemy.orm import Session

from zhian.ingest.json_depth import depth_error
from zhian.ingest.viid.models import ViidObject, ViidSubscription
from zhian.ingest.viid.objects import KINDS, KINDS_BY_DETAIL
from zhian.ingest.viid.repository import ViidRepository
from zhian.ingest.viid.service import ViidService, with_pictures
from zhian.ingest.viid.subscriptions import EXPIRED
from zhian.ingest.viid.wire import ACCEPT, CONTENT_TYPE, format_time, is_acknowledged
from zhian.kit.loops import BackgroundLoop

logger = logging.getLogger(__name__)

# An object is pushed only once it is this old: on PostgreSQL, sequence numbers can commit
# out of order, and a cursor that passed a still-uncommitted row would skip it forever.
SETTLE = timedelta(seconds=2)


class UpwardSink(Protocol):
    """Where notifications for the upper platform go: a durable, ordered outbox."""

    def enqueue(
        self, session: Session, receive_addr: str, notification_id: str, payload: bytes
    ) -> None:
        """Add a notification to the outbox inside the caller's transaction."""


class SubscriptionPusher:
    """Pushes each active subscription's new objects to its ReceiveAddr.

    The subscription's cursor (last delivered object) advances only after the subscriber
    answered StatusCode 0, so a failed push is retried at the next interval, in order.
    Subscriptions of the upper platform are handed to the upward client's outbox instead,
    in the same transaction that advances the cursor.
    """

    def __init__(
        self,
        viid: ViidService,
        *,
        upward: UpwardSink | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._viid = viid
        self._settings = viid.settings
        self._upward = upward
        self._http = httpx.Client(timeout=self._settings.push_timeout_seconds, transport=transport)
        # Keeps pushing after a transient database or network fault, with a growing pause.
        self._loop = BackgroundLoop(
            "viid-push",
            self._push_in_loop,
            interval_seconds=self._settings.push_poll_seconds,
            wait_first=True,
            logger=logger,
        )
        self._serial = 0

    def start(self) -> None:
        if not self._loop.is_running:
            self._loop.start()

    def stop(self) -> None:
        self._loop.stop(timeout_seconds=10)
        self._http.close()

    def _push_in_loop(self) -> None:
        self.run_once()  # each due subscription is pushed until it has nothing left

    def run_once(self) -> int:
        """Push every due subscription; returns how many objects were acknowledged."""
        self._viid.sessions.expire()
        now = self._viid.clock.now()
        with self._viid.db.session() as session:
            due = [s.id for s in ViidRepository(session).due_subscriptions(now)]
        return sum(self._push(subscription_id, now) for subscription_id in due)

    def _push(self, subscription_id: str, now: datetime) -> int:
        delivered = 0
        while True:
            with self._viid.db.session() as session:
                repository = ViidRepository(session)
                sub = repository.subscription(subscription_id)
                if sub is None or sub.status != 0:
                    return delivered
                if sub.end_at is not None and now > sub.end_at:
                    sub.status = EXPIRED
                    return delivered
                if sub.begin_at is not None and now < sub.begin_at:
                    sub.next_push_at = sub.begin_at
                    return delivered
                batch = self._batch(repository, sub, now)
                if not batch:
                    sub.next_push_at = now + timedelta(seconds=sub.report_interval_seconds)
                    return delivered
                notification_id, payload = self._notification(sub, batch, now)
                last_seq, receive_addr = batch[-1].seq, sub.receive_addr
                if self._is_upward(sub):
                    assert self._upward is not None
                    self._upward.enqueue(session, receive_addr, notification_id, payload)
                    sub.cursor_seq, sub.pushed_objects = last_seq, sub.pushed_objects + len(batch)
                    delivered += len(batch)
                    continue
            error = self._post(receive_addr, payload)
            with self._viid.db.session() as session:
                sub = ViidRepository(session).subscription(subscription_id)
                if sub is None:
                    return delivered
                if error:
                    sub.last_error = error[:500]
                    sub.next_push_at = now + timedelta(seconds=sub.report_interval_seconds)
                    return delivered
                sub.cursor_seq, sub.pushed_objects = last_seq, sub.pushed_objects + len(batch)
                sub.last_error = None
                delivered += len(batch)

    def _is_upward(self, sub: ViidSubscription) -> bool:
        upper = self._settings.upper_platform_id
        return self._upward is not None and bool(upper) and sub.subscriber_id == upper

    def _batch(
        self, repository: ViidRepository, sub: ViidSubscription, now: datetime
    ) -> list[ViidObject]:
        kinds = [KINDS_BY_DETAIL[int(d)].path for d in sub.details.split(",") if d]
        devices = [d for d in sub.device_ids.split(",") if d]
        return repository.objects_after(
            sub.cursor_seq,
            kinds=kinds,
            device_ids=devices,
            received_before=now - SETTLE,
            limit=self._settings.push_batch_size,
        )

    def _notification(
        self, sub: ViidSubscription, batch: list[ViidObject], now: datetime
    ) -> tuple[str, bytes]:
        """One SubscribeNotificationObject holding the batch, grouped by kind."""
        self._serial = (self._serial + 1) % 100_000
        tz = self._viid.timezone
        # 12-digit organisation code + 02 (notification) + time + serial (GA/T 1400 §4.4).
        notification_id = (
            f"{self._settings.server_id[:12]}02{format_time(now, tz)}{batch[-1].seq % 100_000:05d}"
        )
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in batch:
            grouped[row.kind].append(
                with_pictures(
                    self._viid.open_body(row), self._viid.images, declare=sub.image_declare
                )
            )
        notification: dict[str, Any] = {
            "NotificationID": notification_id,
            "SubscribeID": sub.id,
            "Title": str(self._viid.open_subscription(sub).get("Title") or ""),
            "TriggerTime": format_time(now, tz),
            "InfoIDs": ",".join(row.object_id for row in batch),
            "ExecuteOperation": 1,
        }
        for kind_path, objects in grouped.items():
            kind = KINDS[kind_path]
            notification[kind.notification_list] = {kind.item_keys[0]: objects}
        body = {"SubscribeNotificationListObject": {"SubscribeNotificationObject": [notification]}}
        return notification_id, msgspec.json.encode(body)

    def _post(self, url: str, payload: bytes) -> str:
        """POST a notification; '' when acknowledged (StatusCode 0), else why not."""
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Accept": ACCEPT,
            "User-Identify": self._settings.server_id,
        }
        try:
            response = self._http.post(url, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        too_deep = depth_error(response.content)  # a peer's reply is input too
        if too_deep is not None:
            return f"reply is not JSON: {too_deep}"
        try:
            answer = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            return "reply is not JSON"
        return "" if is_acknowledged(answer) else f"not acknowledged: {response.text[:200]}"
