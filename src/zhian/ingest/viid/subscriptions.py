"""Subscriptions (订阅) peers place with this node: create, modify, cancel, delete."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from zhian.ingest.viid.models import ViidSubscription
from zhian.ingest.viid.objects import KINDS_BY_DETAIL
from zhian.ingest.viid.repository import ViidRepository
from zhian.ingest.viid.service import ViidReply, ViidService
from zhian.ingest.viid.wire import (
    StatusCode,
    ViidRequestError,
    list_items,
    list_reply,
    parse_body,
    parse_time,
    response_status,
    single_reply,
    status_code_of,
)

ACTIVE, CANCELLED, EXPIRED = 0, 1, 2
DEFAULT_REPORT_INTERVAL_SECONDS = 5


class SubscriptionService:
    """Keeps subscriptions; `push.SubscriptionPusher` delivers them.

    A new subscription delivers objects received from its creation on; a cancelled or
    expired one stops. Who may subscribe: a peer with a live session, or the configured
    upper platform (whose deliveries go through the upward client).
    """

    def __init__(self, viid: ViidService) -> None:
        self._viid = viid
        self._networks = [
            ipaddress.ip_network(n.strip(), strict=False)
            for n in viid.settings.receive_networks.split(",")
            if n.strip()
        ]

    def may_subscribe(self, user_identify: str | None) -> bool:
        upper = self._viid.settings.upper_platform_id
        if upper and user_identify == upper:
            return True
        return self._viid.sessions.touch(user_identify) is not None

    def post(
        self, *, subscriber: str, body: bytes, content_type: str | None, path: str
    ) -> ViidReply:
        """POST and PUT /VIID/Subscribes: each SubscribeObject created, changed or cancelled."""
        try:
            items = list_items(
                parse_body(body, content_type), "SubscribeListObject", ("SubscribeObject",)
            )
        except ViidRequestError as exc:
            return self._whole(exc, path)
        return ViidReply(200, list_reply(self._apply(item, subscriber, path) for item in items))

    def put_one(
        self,
        subscription_id: str,
        *,
        subscriber: str,
        body: bytes,
        content_type: str | None,
        path: str,
    ) -> ViidReply:
        """PUT /VIID/Subscribes/{ID}: usually a cancel (OperateType=1)."""
        try:
            parsed = parse_body(body, content_type)
        except ViidRequestError as exc:
            return self._whole(exc, path)
        item = parsed.get("SubscribeObject", parsed) if isinstance(parsed, dict) else parsed
        if isinstance(item, dict):
            item = {**item, "SubscribeID": item.get("SubscribeID") or subscription_id}
            if item["SubscribeID"] != subscription_id:
                return self._whole(
                    ViidRequestError(
                        StatusCode.INVALID_JSON_CONTENT, "SubscribeID", "differs from the URL"
                    ),
                    path,
                )
        return ViidReply(200, single_reply(self._apply(item, subscriber, path)))

    def delete(self, id_list: str, path: str) -> ViidReply:
        """DELETE /VIID/Subscribes?IDList=a,b."""
        now = self._viid.clock.now()
        tz = self._viid.timezone
        statuses = []
        with self._viid.db.session() as session:
            repository = ViidRepository(session)
            for subscription_id in [i.strip() for i in id_list.split(",") if i.strip()]:
                if repository.delete_subscription(subscription_id):
                    statuses.append(
                        response_status(subscription_id, path, StatusCode.OK, "OK", now, tz)
                    )
                else:
                    text = "SubscribeID: unknown subscription"
                    statuses.append(
                        response_status(
                            subscription_id, path, StatusCode.INVALID_OPERATION, text, now, tz
                        )
                    )
        return ViidReply(200, list_reply(statuses))

    def list_subscriptions(self) -> list[ViidSubscription]:
        with self._viid.db.session() as session:
            return ViidRepository(session).list_subscriptions()

    def _whole(self, exc: ViidRequestError, path: str) -> ViidReply:
        text = f"{exc.field}: {exc.reason}" if exc.field else exc.reason
        status = response_status(
            "", path, exc.code, text, self._viid.clock.now(), self._viid.timezone
        )
        return ViidReply(200, single_reply(status))

    def _apply(self, item: object, subscriber: str, path: str) -> dict[str, Any]:
        now = self._viid.clock.now()
        tz = self._viid.timezone
        subscription_id = item.get("SubscribeID") if isinstance(item, dict) else None
        sid = subscription_id if isinstance(subscription_id, str) else ""
        try:
            if not isinstance(item, dict):
                raise ViidRequestError(
                    StatusCode.INVALID_JSON_CONTENT, "SubscribeObject", "must be an object"
                )
            if not sid or len(sid) > 48:
                raise ViidRequestError(
                    StatusCode.INVALID_JSON_CONTENT, "SubscribeID", "must be 1 to 48 characters"
                )
            with self._viid.db.session() as session:
                repository = ViidRepository(session)
                if status_code_of(item.get("OperateType", 0)) == 1:
                    self._cancel(repository, sid, item, now)
                else:
                    self._upsert(repository, sid, item, subscriber, now)
        except ViidRequestError as exc:
            text = f"{exc.field}: {exc.reason}"
            return response_status(sid, path, exc.code, text, now, tz)
        return response_status(sid, path, StatusCode.OK, "OK", now, tz)

    def _cancel(
        self, repository: ViidRepository, sid: str, item: dict[str, Any], now: datetime
    ) -> None:
        row = repository.subscription(sid)
        if row is None:
            raise ViidRequestError(
                StatusCode.INVALID_OPERATION, "SubscribeID", "unknown subscription"
            )
        row.status = CANCELLED
        row.body_enc = self._viid.seal_subscription(
            sid,
            {
                **self._viid.open_subscription(row),
                **{k: v for k, v in item.items() if k.startswith(("Subscribe", "Cancel"))},
            },
        )
        row.updated_at = now

    def _upsert(
        self,
        repository: ViidRepository,
        sid: str,
        item: dict[str, Any],
        subscriber: str,
        now: datetime,
    ) -> None:
        details = self._details(item.get("SubscribeDetail"))
        receive_addr = self._receive_addr(item.get("ReceiveAddr"))
        interval = status_code_of(item.get("ReportInterval", DEFAULT_REPORT_INTERVAL_SECONDS))
        if interval is None or interval < 0:
            raise ViidRequestError(
                StatusCode.INVALID_JSON_CONTENT, "ReportInterval", "must be seconds (≥ 0)"
            )
        begin_at = self._time(item, "BeginTime")
        end_at = self._time(item, "EndTime")
        server_id = self._viid.settings.server_id
        resources = [r.strip() for r in str(item.get("ResourceURI") or "").split(",") if r.strip()]
        device_ids = "" if not resources or server_id in resources else ",".join(resources)
        if subscriber != self._viid.settings.upper_platform_id:
            # A device or lower platform is pushed only what it may query (the upper
            # platform, which this node reports to, may subscribe to everything).
            device_ids = self._readable(subscriber, device_ids)
        row = repository.subscription(sid)
        is_new = row is None
        if row is None:
            row = ViidSubscription(
                id=sid,
                subscriber_id=subscriber,
                cursor_seq=repository.last_object_seq(),
                created_at=now,
                pushed_objects=0,
                next_push_at=None,
                last_error=None,
            )
        row.details = ",".join(str(d) for d in details)
        row.device_ids = device_ids
        row.receive_addr = receive_addr
        row.report_interval_seconds = max(1, interval)  # 0 ("no limit") still paces pushes
        row.image_declare = str(
            item.get("ResultImageDeclare") if item.get("ResultImageDeclare") is not None else ""
        )
        row.begin_at, row.end_at = begin_at, end_at
        row.status = ACTIVE
        row.body_enc = self._viid.seal_subscription(sid, dict(item))
        row.updated_at = now
        if is_new:
            repository.add_subscription(row)

    def _readable(self, subscriber: str, device_ids: str) -> str:
        readable = self._viid.readable_device_ids(subscriber)
        if not device_ids:
            return ",".join(sorted(readable))
        for device_id in device_ids.split(","):
            if device_id not in readable:
                raise ViidRequestError(
                    StatusCode.INVALID_JSON_CONTENT,
                    "ResourceURI",
                    f"'{device_id}' is not a device whose objects {subscriber} may read "
                    "(its own, or those behind it as a platform)",
                )
        return device_ids

    @staticmethod
    def _details(value: object) -> list[int]:
        codes = [c.strip() for c in str(value if value is not None else "").split(",") if c.strip()]
        if not codes:
            raise ViidRequestError(
                StatusCode.INVALID_JSON_CONTENT, "SubscribeDetail", "is required"
            )
        found: list[int] = []
        for code in codes:
            if not code.isdigit() or int(code) not in KINDS_BY_DETAIL:
                supported = ", ".join(str(c) for c in sorted(KINDS_BY_DETAIL))
                raise ViidRequestError(
                    StatusCode.INVALID_JSON_CONTENT,
                    "SubscribeDetail",
                    f"'{code}' is not offered; Zhian delivers {supported}",
                )
            found.append(int(code))
        return found

    def _receive_addr(self, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, "ReceiveAddr", "is required")
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host:
            raise ViidRequestError(
                StatusCode.INVALID_JSON_CONTENT, "ReceiveAddr", "must be an http(s) URL"
            )
        try:
            address = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
        except ValueError:
            raise ViidRequestError(
                StatusCode.INVALID_JSON_CONTENT, "ReceiveAddr", "must name its host by IP address"
            ) from None
        if not any(address in network for network in self._networks):
            raise ViidRequestError(
                StatusCode.INVALID_JSON_CONTENT,
                "ReceiveAddr",
                f"{address} is outside the allowed networks (viid.receive_networks)",
            )
        return value

    def _time(self, item: dict[str, Any], name: str) -> datetime | None:
        value = item.get(name)
        if value in (None, ""):
            return None
        try:
            return parse_time(value, self._viid.timezone)
        except ValueError as exc:
            raise ViidRequestError(StatusCode.INVALID_JSON_CONTENT, name, str(exc)) from None
