"""The alert loop of a node: live feed, SLA monitor and webhook worker, wired.

The rule engine that raises alerts is built by the composition root (`zhian.node`): the
alerts package handles alerts, it does not decide what raises them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from zhian.access.scope import JurisdictionScope
from zhian.alerts.live import LiveFeed, open_live_feed
from zhian.alerts.push import PushNotifier
from zhian.alerts.schemas import LiveMessage
from zhian.alerts.service import AlertService
from zhian.alerts.sla import SlaMonitor
from zhian.alerts.webhooks import BodyCipher, WebhookService, WebhookWorker
from zhian.config import Settings
from zhian.db.engine import Database
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.watchlists.service import WatchlistService


class AlertLoop:
    """Owns the background parts of the alert loop and hands out services in transactions."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        *,
        identity: IdentityProtector | None = None,
        cipher: BodyCipher | None = None,
    ) -> None:
        self.identity = identity  # opens watchlist plates for the matcher (#12)
        self.cipher = cipher  # seals the messages queued for webhooks (#12)
        self.db = db
        self.clock = clock
        self.settings = settings
        self.live_feed: LiveFeed = open_live_feed(settings.live, db, clock, cipher=cipher)
        # Web Push of new alerts: what is announced on the live feed is also pushed.
        self.push: PushNotifier | None = None
        if settings.push.enabled:
            self.push = PushNotifier(
                db.session, clock=clock, settings=settings.push, key_path=settings.vapid_key_path
            )
        self.sla_monitor = SlaMonitor(
            self._check_deadlines, clock.now, interval_seconds=settings.alerts.sla_tick_seconds
        )
        self.webhook_worker = WebhookWorker(self._webhooks, clock, settings.alerts)

    @contextmanager
    def alerts(self) -> Iterator[AlertService]:
        """An AlertService in one transaction; its live messages go out after the commit."""
        with self.db.session() as session:
            service = AlertService(
                session, clock=self.clock, settings=self.settings.alerts, cipher=self.cipher
            )
            yield service
        for message in service.messages:
            self.announce(message)

    def announce(self, message: LiveMessage) -> None:
        """Publish a committed change on the live feed and push it to the phones of the
        users it concerns (never raises to the caller)."""
        self.live_feed.publish(message)
        if self.push is not None:
            self.push.offer(message)

    @contextmanager
    def watchlists(self) -> Iterator[WatchlistService]:
        """The whole node's watchlist, unscoped on purpose: the rule engine matches every
        entry. Pages and commands acting for a user make their own, in the user's scope."""
        with self.db.session() as session:
            yield WatchlistService(
                session,
                clock=self.clock,
                scope=JurisdictionScope.unscoped(),
                identity=self.identity,
            )

    @contextmanager
    def _webhooks(self) -> Iterator[WebhookService]:
        with self.db.session() as session:
            yield WebhookService(
                session, clock=self.clock, settings=self.settings.alerts, cipher=self.cipher
            )

    def _check_deadlines(self, now: datetime) -> tuple[int, int]:
        with self.alerts() as service:
            return service.check_deadlines(now)

    def start(self) -> None:
        self.sla_monitor.start()
        self.webhook_worker.start()

    def stop(self) -> None:
        self.sla_monitor.stop()
        self.webhook_worker.stop()
        if self.push is not None:
            self.push.stop()
        self.live_feed.close()
