"""The composition root: one running Zhian node built from its settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta, timezone
from types import TracebackType

from zhian.alerts.loop import AlertLoop
from zhian.cascade.component import ViidComponent
from zhian.config import Settings
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade_url
from zhian.devices.service import DeviceService
from zhian.governance.context import Governance
from zhian.governance.retention import check_log_days
from zhian.governance.tasks import RetentionScheduler
from zhian.ingest.images import ImageStore
from zhian.ingest.mqtt import MqttSubscriber
from zhian.ingest.quarantine.service import QuarantineService, QuarantineStore, ReplayReport
from zhian.ingest.service import BatchResult, IntakeService
from zhian.ingest.validate import DeviceInfo, IntakeDirectory
from zhian.kit.clock import Clock, SystemClock
from zhian.log.factory import open_event_log
from zhian.log.readers import LogReader
from zhian.models.scheduler import ModelScheduler
from zhian.registry.service import RegistryService
from zhian.retention_classes import node_retention_registry
from zhian.rules.crowd import CrowdMonitor
from zhian.rules.engine import READER_NAME as RULES_READER
from zhian.store.events import EventStore
from zhian.store.feeder import READER_NAME as STORE_READER
from zhian.store.feeder import StoreFeeder


class Node:
    """Database, durable log, event store and intake of one node, wired together.

    `Node.open` migrates the database, recovers the log and the duplicate index and
    starts the thread that feeds the event store; `close` stops it all in order.
    """

    def __init__(self, settings: Settings, clock: Clock) -> None:
        # Before anything is opened: a log window too short for the duplicate index.
        check_log_days(settings.governance, settings.intake)
        self.settings = settings
        self.clock = clock
        settings.workspace.mkdir(parents=True, exist_ok=True)
        self.db = Database(make_engine(settings.database_url, echo=settings.database.echo))
        # The key ring first: the event store keeps identifiers only as keyed tokens, and
        # the intake log keeps each record sealed (it holds plates and face features).
        self.governance = Governance.for_node(settings.governance, settings.workspace, clock)
        self.log = open_event_log(settings.log, settings.log_dir, self.governance.cipher())
        self.vault = self.governance.vault(self.db)
        self.store = EventStore(settings.event_store_path, self.vault)
        self.images = ImageStore(settings.blob_dir, max_bytes=settings.images.max_bytes)
        self.quarantine = QuarantineService(self.db)
        self.intake = IntakeService(
            log=self.log,
            quarantine=QuarantineStore(self.db),
            clock=clock,
            settings=settings.intake,
            image_exists=self.images.exists,
            duplicate_index_path=settings.duplicate_index_path,
        )
        # The log's named readers: retention prunes only what both have acknowledged.
        self.feeder = StoreFeeder(
            self.log,
            self.store,
            batch_events=settings.store.batch_events,
            poll_seconds=settings.store.poll_seconds,
            reader=LogReader(self.log.readers, STORE_READER),
        )
        # Rules, alert lifecycle, SLA, live feed, webhooks (docs/dev/alerts-api.md). The
        # rule thread seals watchlist plates through a vault of its own (one writer each).
        self.alert_loop = AlertLoop(
            self.db,
            self.log,
            clock,
            settings,
            protector=self.governance.vault(self.db),
            rules_reader=LogReader(self.log.readers, RULES_READER),
        )
        self.live_feed, self.alerts = self.alert_loop.live_feed, self.alert_loop.alerts
        self.watchlists = self.alert_loop.watchlists
        # Batch analytic models, run every `models.interval_minutes` (docs/models.md).
        self.models = ModelScheduler(
            self.db, self.store, self.alerts, clock, settings.models, self.governance
        )
        # Crowd safety (docs/crowd.md): the crowd rule's settings, zones and snapshot.
        self.crowd = CrowdMonitor.attach(self.alert_loop.rule_engine.rules, self.db, settings.crowd)
        # GA/T 1400 server state, subscription pusher, upward client (docs/interop-viid.md).
        self.viid = ViidComponent(
            db=self.db, intake=self.intake, images=self.images, clock=clock, settings=settings
        )
        # Audit, key ring, and the daily retention run: this process owns the event store
        # and the log (whose old segments it prunes below the slowest of the log's readers).
        self.retention = RetentionScheduler(
            db=self.db,
            registry=node_retention_registry(self.store, settings.blob_dir),
            settings=settings.governance,
            governance=self.governance,
            clock=clock,
            zone=timezone(timedelta(minutes=settings.pages.utc_offset_minutes)),
            log=self.log,
            intake=settings.intake,
        )
        # IoT sensors over MQTT (docs/deploy-mqtt.md); subscribes only in a feeding node.
        self.mqtt = (
            MqttSubscriber(
                intake=self.intake,
                quarantine=QuarantineStore(self.db),
                clock=clock,
                settings=settings.mqtt,
                intake_settings=settings.intake,
                image_exists=self.images.exists,
            )
            if settings.mqtt.enabled
            else None
        )

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None, *, feed: bool = True) -> Node:
        upgrade_url(settings.database_url)
        node = cls(settings, clock or SystemClock())
        node.intake.recover()
        node.refresh_directory()
        if feed:
            node.feeder.start()
            node.alert_loop.start()
            node.models.start()
            node.viid.start()
            node.retention.start()
            if node.mqtt is not None:
                node.mqtt.start()
        return node

    def refresh_directory(self) -> None:
        """Reload devices, zones and watchlists into the intake and the rules after a change."""
        with self.db.session() as session:
            devices = DeviceService(session).directory()
            zone_ids = RegistryService(session).zone_ids()
        entries: Mapping[str, DeviceInfo] = devices.devices
        self.intake.directory = IntakeDirectory(
            devices=entries, zone_ids=frozenset(zone_ids), authenticate=devices.authenticate
        )
        # The rules place alerts by the same master data; they must not lag behind it.
        self.alert_loop.rule_engine.refresh()

    def replay_quarantine(
        self, *, ids: list[int] | None = None, reason_code: str | None = None
    ) -> ReplayReport:
        """Send held items through the intake again (after a master-data fix)."""
        self.refresh_directory()

        def resubmit(raw: bytes, sender: str | None, content_type: str) -> BatchResult:
            return self.intake.submit_raw(
                [raw],
                source="replay",
                sender_id=sender,
                content_type=content_type,
                hold_rejected=False,
            )

        return self.quarantine.replay(
            resubmit, now=self.clock.now(), ids=ids, reason_code=reason_code
        )

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.stop()  # first: its last batch still needs the intake and the log
        self.retention.stop()
        self.viid.stop()
        self.models.stop()
        self.alert_loop.stop()
        self.feeder.stop()
        self.intake.close()  # indexes the log's tail, so the next start reads none of it
        self.log.close()
        self.store.close()
        self.db.dispose()

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
