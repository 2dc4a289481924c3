"""The upward GA/T 1400 client: register with the upper platform, keep alive, forward.

Notifications for the upper platform wait in a durable outbox (`viid_upper_outbox`) and
leave it strictly in order, each deleted only after the upper platform acknowledged it
(StatusCode 0). While the upper platform is unreachable nothing is sent and nothing is
dropped; when it returns the client registers again and back-fills the outbox in order.
A refused registration or a notification still unacknowledged after its retries takes the
link down: the client then waits a pause that doubles with each failure in a row, capped
and jittered (`zhian.cascade.link`), before it registers again, rather than knocking on a
refusing platform every poll.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import msgspec
from sqlalchemy.orm import Session

from zhian.cascade.link import Backoff, LinkState
from zhian.cascade.models import payload_context
from zhian.cascade.repository import UpwardOutboxRepository
from zhian.db.engine import Database
from zhian.ingest.images import BlobCipher
from zhian.ingest.viid.digest import authorization_for
from zhian.ingest.viid.settings import ViidSettings
from zhian.ingest.viid.wire import ACCEPT, CONTENT_TYPE, is_acknowledged
from zhian.kit.clock import Clock
from zhian.kit.loops import BackgroundLoop

logger = logging.getLogger(__name__)
_DRAIN_CHUNK = 50


@dataclass(frozen=True)
class StepReport:
    """What one step of the client did."""

    is_registered: bool
    delivered: int
    backlog: int
    error: str = ""
    is_waiting: bool = False  # down, and the pause before registering again is not over


class ViidUpperClient:
    """Registers this node with its upper VIID platform and forwards notifications to it."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        settings: ViidSettings,
        cipher: BlobCipher,
        transport: httpx.BaseTransport | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if not settings.upper_url:
            raise ValueError("viid.upper_url is empty: there is no upper platform to talk to")
        self._db = db
        self._cipher = cipher  # the outbox keeps its notifications sealed (#12)
        self._clock = clock
        self._settings = settings
        self._base = settings.upper_url.rstrip("/")
        self._username = settings.upper_username or settings.server_id
        self._http = httpx.Client(timeout=settings.upper_timeout_seconds, transport=transport)
        self._registered = False
        self.link = LinkState(
            Backoff(settings.upper_backoff_initial_seconds, settings.upper_backoff_max_seconds),
            draw=draw,
        )
        self._last_ok: datetime | None = None
        self._nc = 0
        self._lock = threading.Lock()
        # The link must outlive a transient database fault: the loop tries again, slower.
        self._loop = BackgroundLoop(
            "viid-upper",
            self._step_in_loop,
            interval_seconds=settings.push_poll_seconds,
            wait_first=True,
            logger=logger,
        )
        self.registrations = 0

    @property
    def is_registered(self) -> bool:
        return self._registered

    # --- the outbox (called by the pusher inside its transaction) --------------------------

    def enqueue(
        self, session: Session, receive_addr: str, notification_id: str, payload: bytes
    ) -> None:
        sealed = self._cipher.seal_bytes(payload, payload_context(notification_id))
        UpwardOutboxRepository(session).enqueue_upward(
            receive_addr, notification_id, sealed, self._clock.now()
        )

    def backlog(self) -> int:
        with self._db.session() as session:
            return UpwardOutboxRepository(session).outbox_size()

    # --- the link ---------------------------------------------------------------------------

    def step(self) -> StepReport:
        """Register if needed, keep alive when due, then send the outbox in order."""
        with self._lock:
            if not self._registered and not self.link.may_try(self._clock.now()):
                return StepReport(False, 0, self.backlog(), is_waiting=True)
            error = self._ensure_link()
            delivered = 0
            if not error:
                delivered, error = self._drain()
            if error:
                self.link.failed(self._clock.now(), error)
            return StepReport(self._registered, delivered, self.backlog(), error)

    def _ensure_link(self) -> str:
        now = self._clock.now()
        if self._registered and self._last_ok is not None:
            due = self._last_ok + timedelta(seconds=self._settings.upper_keepalive_interval_seconds)
            if now >= due:
                error = self._keepalive()
                if error:
                    self._registered = False
        if not self._registered:
            return self._register()
        return ""

    def _register(self) -> str:
        path = "/VIID/System/Register"
        body = msgspec.json.encode({"RegisterObject": {"DeviceID": self._settings.server_id}})
        try:
            first = self._http.post(self._base + path, content=body, headers=self._headers())
            if first.status_code == 401 and "www-authenticate" in first.headers:
                self._nc += 1
                authorization = authorization_for(
                    first.headers["www-authenticate"],
                    method="POST",
                    uri=path,
                    username=self._username,
                    password=self._settings.upper_password.get_secret_value(),
                    nc=self._nc,
                )
                headers = {**self._headers(), "Authorization": authorization}
                second = self._http.post(self._base + path, content=body, headers=headers)
            else:
                second = first
        except (httpx.HTTPError, ValueError) as exc:
            return f"register: {type(exc).__name__}: {exc}"
        if second.status_code != 200 or not _acknowledged(second):
            return f"register refused: HTTP {second.status_code} {second.text[:200]}"
        self._registered = True
        self._last_ok = self._clock.now()
        self.link.registered(self._last_ok)
        self.registrations += 1
        return ""

    def _keepalive(self) -> str:
        body = msgspec.json.encode({"KeepaliveObject": {"DeviceID": self._settings.server_id}})
        try:
            response = self._http.post(
                self._base + "/VIID/System/Keepalive", content=body, headers=self._headers()
            )
        except httpx.HTTPError as exc:
            return f"keepalive: {type(exc).__name__}: {exc}"
        if response.status_code != 200 or not _acknowledged(response):
            return f"keepalive refused: HTTP {response.status_code}"
        self._last_ok = self._clock.now()
        return ""

    def _drain(self) -> tuple[int, str]:
        delivered = 0
        while True:
            with self._db.session() as session:
                head = [
                    (
                        r.seq,
                        r.receive_addr,
                        self._cipher.open_bytes(r.payload_enc, payload_context(r.notification_id)),
                    )
                    for r in UpwardOutboxRepository(session).outbox_head(_DRAIN_CHUNK)
                ]
            if not head:
                return delivered, ""
            for seq, receive_addr, payload in head:
                error = self._send(receive_addr, payload)
                with self._db.session() as session:
                    repository = UpwardOutboxRepository(session)
                    if error:
                        repository.outbox_failed(seq, error)
                    else:
                        repository.outbox_delivered(seq)
                if error:
                    # Keep the order: nothing later goes before this one. Register again
                    # (DESIGN: retried, then cached, link re-registered, back-filled).
                    self._registered = False
                    return delivered, error
                delivered += 1
                self._last_ok = self._clock.now()

    def _send(self, url: str, payload: bytes) -> str:
        error = ""
        for _attempt in range(1 + self._settings.upper_retries):
            try:
                response = self._http.post(url, content=payload, headers=self._headers())
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 401:
                return "HTTP 401: the upper platform lost our session"
            if response.status_code == 200 and _acknowledged(response):
                return ""
            error = f"HTTP {response.status_code}: {response.text[:200]}"
        return error

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": CONTENT_TYPE,
            "Accept": ACCEPT,
            "User-Identify": self._settings.server_id,
        }

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if not self._loop.is_running:
            self._loop.start()

    def _step_in_loop(self) -> None:
        report = self.step()
        if report.error:  # the peer is down or refused: cached, retried after the pause
            logger.warning(
                "upper VIID platform: %s (%d cached; registering again after %s)",
                report.error,
                report.backlog,
                self.link.next_attempt_at,
            )

    def stop(self) -> None:
        """Stop the thread and say UnRegister (best effort: peers may answer 403)."""
        self._loop.stop(timeout_seconds=10)
        if self._registered:
            body = msgspec.json.encode({"UnRegisterObject": {"DeviceID": self._settings.server_id}})
            with contextlib.suppress(httpx.HTTPError):
                self._http.post(
                    self._base + "/VIID/System/UnRegister", content=body, headers=self._headers()
                )
            self._registered = False
        self._http.close()


def _acknowledged(response: httpx.Response) -> bool:
    try:
        return is_acknowledged(msgspec.json.decode(response.content))
    except msgspec.DecodeError:
        return False
