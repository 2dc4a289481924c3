"""Web Push (RFC 8030, encrypted per RFC 8291 `aes128gcm`, signed with VAPID per RFC 8292):
users' browser subscriptions, the node's VAPID key, and the notifier that pushes a new
alert, a dispatch and an escalation to the users who must act on it.

The notifier hears what the alert loop announces in this process (after its transaction
committed, beside the live feed: `AlertLoop.announce`) and hands it to a background
thread that encrypts it for each recipient's browser and posts it to that browser's push
service. A push not
delivered (no network, the process stopped) is not retried: the live feed of the
workbench and the wall, and the alert itself, are the record; a push is a nudge.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from py_vapid import Vapid02

from zhian.access.service import AccessService, UserRead
from zhian.alerts.models import PushSubscription
from zhian.alerts.schemas import AlertSummary, LiveMessage, owner_roles_of
from zhian.alerts.settings import PushSettings
from zhian.errors import BadRequestError
from zhian.kit.clock import Clock

logger = logging.getLogger(__name__)

# Messages waiting for the sender; beyond this the newest are dropped (and logged).
MAX_WAITING = 1000
# A P-256 public key (65 bytes, uncompressed) and a 16-byte auth secret, base64url.
_P256DH_BYTES = 65
_AUTH_BYTES = 16
_GONE = (404, 410)  # the push service forgot the subscription: the browser unsubscribed


class PushSubscriptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    endpoint: str
    created_at: datetime


def _b64url_bytes(value: str, field: str, size: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise BadRequestError(f"{field} is not base64url", field=field) from None
    if len(raw) != size:
        raise BadRequestError(f"{field} must be {size} bytes, not {len(raw)}", field=field)
    return raw


class PushService:
    """Subscriptions of users' browsers, in the caller's transaction."""

    def __init__(self, session: Session, *, clock: Clock, settings: PushSettings) -> None:
        self.session = session
        self.clock = clock
        self.settings = settings

    def subscribe(
        self, user_id: int, endpoint: str, p256dh: str, auth: str
    ) -> PushSubscriptionRead:
        """Keep (or move to this user) the browser's subscription; the endpoint must be a
        push service of `endpoint_hosts`, so the node posts nowhere else."""
        self._check_endpoint(endpoint)
        _b64url_bytes(p256dh, "p256dh", _P256DH_BYTES)
        _b64url_bytes(auth, "auth", _AUTH_BYTES)
        row = self.session.scalars(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        ).one_or_none()
        if row is None:
            row = PushSubscription(endpoint=endpoint, created_at=self.clock.now())
            self.session.add(row)
        row.user_id, row.p256dh, row.auth, row.last_error = user_id, p256dh, auth, None
        self.session.flush()
        return PushSubscriptionRead.model_validate(row)

    def unsubscribe(self, user_id: int, endpoint: str) -> int:
        result = self.session.execute(
            delete(PushSubscription).where(
                PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def of_user(self, user_id: int) -> list[PushSubscriptionRead]:
        rows = self.session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == user_id)
        ).all()
        return [PushSubscriptionRead.model_validate(row) for row in rows]

    def recipients(self, alert: AlertSummary) -> list[PushSubscription]:
        """Subscriptions of the active users of the alert's owner role (and of a role that
        shares its alerts: property staff a grid worker's) who see it."""
        return self._chosen(alert, lambda user: alert.owner_role in owner_roles_of(user.role))

    def recipients_of(self, message: LiveMessage) -> list[PushSubscription]:
        """Whose phones a pushed message goes to: a new alert to its owner role's users
        who see it; a dispatch to the user it was dispatched to; an escalation to the
        users placed at the jurisdiction it was escalated to who may dispatch (the
        supervisors there). Always only users who see the alert."""
        alert, kind = message.alert, push_kind(message)
        if alert is None or kind is None:
            return []
        if kind == "alert.dispatched":
            assignee = message.data.get("assignee_id")
            return self._chosen(alert, lambda user: user.id == assignee)
        if kind == "alert.escalated":
            target = message.data.get("escalated_to")
            return self._chosen(
                alert,
                lambda user: user.jurisdiction_id == target and user.can("alerts.dispatch"),
            )
        return self.recipients(alert)

    def _chosen(
        self, alert: AlertSummary, wanted: Callable[[UserRead], bool]
    ) -> list[PushSubscription]:
        rows = self.session.scalars(select(PushSubscription)).all()
        if not rows:
            return []
        access = AccessService(self.session)
        users = {user.id: user for user in access.list_users() if user.is_active}
        chosen = []
        for row in rows:
            user = users.get(row.user_id)
            if user is None or not wanted(user):
                continue
            scope = access.scope_for(user)
            if scope.contains_alert(alert.jurisdiction_id, alert.escalated_to_jurisdiction_id):
                chosen.append(row)
        return chosen

    def _check_endpoint(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        allowed_schemes = ("https", "http") if self.settings.allow_http_endpoints else ("https",)
        if parts.scheme not in allowed_schemes or not parts.hostname or len(endpoint) > 1000:
            raise BadRequestError(
                "endpoint must be an https:// address of a push service", field="endpoint"
            )
        host = parts.hostname.lower()
        if not any(host == h or host.endswith("." + h) for h in self.settings.endpoint_hosts):
            raise BadRequestError(
                f"endpoint host '{host}' is not a push service this node sends to "
                "(push.endpoint_hosts)",
                field="endpoint",
            )


def load_vapid(path: Path) -> Vapid02:
    """The node's VAPID key from `path`, made there (owner-only) on first use."""
    # py_vapid and pywebpush load on the first push, not when the web process starts.
    from py_vapid import Vapid02

    if path.exists():
        return Vapid02.from_file(private_key_file=str(path))
    vapid = Vapid02()
    vapid.generate_keys()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    vapid.save_key(str(temporary))
    temporary.chmod(0o600)
    temporary.replace(path)
    return vapid


def application_server_key(vapid: Vapid02) -> str:
    """The public key a browser subscribes with (`applicationServerKey`), base64url."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def push_kind(message: LiveMessage) -> str | None:
    """Which pushed notice a live message is, or None when it is not pushed: a new alert
    (`alert.created`), a dispatch to another user (`alert.dispatched`: the one dispatching
    to themselves needs no notice) or an escalation after a breached deadline
    (`alert.escalated`)."""
    data = message.data
    if message.type == "alert.created":
        return "alert.created"
    if message.type == "alert.transition" and data.get("action") == "dispatch":
        assignee = data.get("assignee_id")
        if assignee is not None and assignee != data.get("user_id"):
            return "alert.dispatched"
        return None
    if message.type == "alert.breached" and data.get("escalated_to"):
        return "alert.escalated"
    return None


def payload_of(message: LiveMessage) -> str | None:
    """What a phone shows for a live message, or None for messages not pushed."""
    alert, kind = message.alert, push_kind(message)
    if kind is None or alert is None:
        return None
    return json.dumps(
        {
            "type": kind,
            "alert_id": alert.id,
            "tier": alert.tier.value,
            "title_zh": alert.title_zh,
            "title_en": alert.title_en,
            "url": f"/alerts/{alert.id}",
        },
        ensure_ascii=False,
    )


class PushNotifier:
    """Pushes each new alert to its recipients' browsers, from a thread of its own."""

    def __init__(
        self,
        sessions: Callable[[], AbstractContextManager[Session]],
        *,
        clock: Clock,
        settings: PushSettings,
        key_path: Path,
    ) -> None:
        self._sessions = sessions
        self.clock = clock
        self.settings = settings
        self._key_path = key_path
        self._vapid: Vapid02 | None = None
        self._waiting: queue.Queue[LiveMessage | None] = queue.Queue(MAX_WAITING)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = 0  # pushes the push services accepted (tests and diagnostics)

    @property
    def vapid(self) -> Vapid02:
        with self._lock:
            if self._vapid is None:
                self._vapid = load_vapid(self._key_path)
            return self._vapid

    def offer(self, message: LiveMessage) -> None:
        """Queue a live message for pushing; never blocks or raises to the publisher."""
        if payload_of(message) is None:
            return
        self._start()
        try:
            self._waiting.put_nowait(message)
        except queue.Full:
            logger.warning(
                "push queue full: alert %s not pushed", message.alert and message.alert.id
            )

    def wait_idle(self, timeout_seconds: float = 10.0) -> None:
        """Block until every queued message has been handled (tests)."""
        done = threading.Event()

        def join() -> None:
            self._waiting.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        done.wait(timeout_seconds)

    def stop(self) -> None:
        thread = self._thread
        if thread is not None:
            self._waiting.put(None)
            thread.join(timeout=self.settings.timeout_seconds + 1)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zhian-push", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            message = self._waiting.get()
            try:
                if message is None:
                    return
                self.deliver(message)
            except Exception:  # one bad message must not end the sender
                logger.exception("pushing a live message failed")
            finally:
                self._waiting.task_done()

    def deliver(self, message: LiveMessage) -> int:
        """Push `message` to its recipients now; returns how many accepted it."""
        payload = payload_of(message)
        if payload is None or message.alert is None:
            return 0
        accepted = 0
        with self._sessions() as session:
            for row in PushService(session, clock=self.clock, settings=self.settings).recipients_of(
                message
            ):
                accepted += self._push(session, row, payload)
        return accepted

    def _push(self, session: Session, row: PushSubscription, payload: str) -> int:
        from pywebpush import WebPushException, webpush  # on first push, as in load_vapid

        try:
            webpush(
                {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}},
                data=payload,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.settings.subject},
                content_encoding="aes128gcm",
                ttl=self.settings.ttl_seconds,
                timeout=self.settings.timeout_seconds,
            )
        except WebPushException as error:
            status = getattr(error.response, "status_code", None)
            if status in _GONE:
                session.delete(row)
            else:
                row.last_error = str(error)[:500]
            return 0
        except OSError as error:  # no route, refused, timed out
            row.last_error = str(error)[:500]
            return 0
        row.last_error = None
        self.sent += 1
        return 1
