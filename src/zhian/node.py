"""The composition root: one running Zhian node built from its settings, for one process role."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Mapping
from datetime import timedelta, timezone
from enum import StrEnum
from types import TracebackType
from typing import NoReturn

import msgspec

from zhian.access.scope import JurisdictionScope
from zhian.alerts.loop import AlertLoop
from zhian.cascade.component import ViidComponent
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.search_requests import SearchResponder
from zhian.cascade.service import ChildBatchService
from zhian.config import Settings
from zhian.db.engine import Database, make_engine
from zhian.db.migrate import upgrade_url
from zhian.devices.schemas import DeviceDirectory
from zhian.devices.service import DeviceService
from zhian.errors import ZhianError
from zhian.governance.context import Governance, migration_identity
from zhian.governance.retention import check_log_days
from zhian.governance.tasks import RetentionScheduler
from zhian.ingest.dedupe import ReaderLostRecords
from zhian.ingest.images import ImageStore
from zhian.ingest.mqtt import MqttSubscriber
from zhian.ingest.quarantine.service import QuarantineService, QuarantineStore, ReplayReport
from zhian.ingest.service import BatchResult, IntakeService
from zhian.ingest.validate import DeviceInfo, DirectoryKeeper, IntakeDirectory
from zhian.kit.clock import Clock, SystemClock
from zhian.kit.loopback import LoopbackClient, PeerUnreachableError
from zhian.kit.loopback_server import QueryServer
from zhian.kit.private_files import create_owner_only, tighten_workspace
from zhian.log.base import PrunableLog, SegmentInfo
from zhian.log.factory import follow_event_log, open_event_log
from zhian.log.readers import LogReader
from zhian.models.engines import batch_queries
from zhian.models.scheduler import ModelScheduler
from zhian.processes.heartbeat import Heartbeat, ProcessFigures, ProcessReport, live_processes
from zhian.registry.service import RegistryService
from zhian.retention_classes import node_retention_registry
from zhian.rules.crowd import CrowdConfig, CrowdMonitor, CrowdRule, CrowdSnapshot
from zhian.rules.directory import PlaceDirectory, load_directory
from zhian.rules.engine import READER_NAME as RULES_READER
from zhian.rules.engine import RuleEngine
from zhian.rules.settings import CrowdSettings
from zhian.store.engines import open_event_store
from zhian.store.events import EventStore
from zhian.store.feeder import READER_NAME as STORE_READER
from zhian.store.feeder import StoreFeeder
from zhian.store.identifiers import IdentifierProtector
from zhian.store.remote import EventReads, LocalEventReads, RemoteEventStore
from zhian.watchlists.matcher import WatchlistMatcher

logger = logging.getLogger(__name__)


class NodeRole(StrEnum):
    """Which parts of a node one process runs (docs/deploy-processes.md)."""

    ALL = "all"  # everything in one process: the embedded default, the demo, CLI commands
    WEB = "web"  # intake, pages and API; owns the durable log's writer
    WORKER = "worker"  # the background loops; owns the event store, follows the log


# The query the worker answers for the web's crowd page (beside the store's named queries).
CROWD_SNAPSHOT_QUERY = "crowd_snapshot"
# The query the web (the log's writer) answers for the worker's retention run.
PRUNE_LOG_QUERY = "prune_log"


class _PruneArgs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    through_seq: int


class NodeRoleError(ZhianError):
    """A part of the node was asked for in a process whose role does not run it."""

    status_code = 503
    code = "not_in_this_process"


def build_rule_engine(
    db: Database, log: PrunableLog, alert_loop: AlertLoop, protector: IdentifierProtector
) -> RuleEngine:
    """The streaming rules over the log, raising alerts through the alert loop; a named
    reader of the log (`rules`), so retention keeps what the rules have not read.

    `protector` seals the identifiers the rules name in alerts (a vault of the rule
    engine's own: one writer per vault, and alerts hold only tokens and masked forms).
    """
    settings = alert_loop.settings

    def places() -> PlaceDirectory:
        with db.session() as session:
            return load_directory(session)

    def matcher() -> WatchlistMatcher:
        with alert_loop.watchlists() as service:
            return service.matcher(
                plate_tolerance=settings.rules.plate_tolerance,
                face_threshold=settings.rules.face_threshold,
            )

    return RuleEngine(
        log,
        alert_loop.alerts,
        alert_loop.clock,
        settings.rules,
        load_directory=places,
        load_matcher=matcher,
        protector=protector,
        reader=LogReader(log.readers, RULES_READER),
    )


class Node:
    """Database, durable log, event store, intake and loops of one node, wired for a role.

    `Node.open` migrates the database, recovers the log and the duplicate index and, when
    asked to feed, starts the role's background loops; `close` stops it all in order.
    A part the role does not run (the event store in the web process, say) raises
    `NodeRoleError` when asked for; pages read events through `event_reads` in every role.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        role: NodeRole = NodeRole.ALL,
        *,
        wall_clock: Clock | None = None,
    ) -> None:
        # Before anything is opened: a log window too short for the duplicate index.
        check_log_days(settings.governance, settings.intake)
        self.settings = settings
        self.clock = clock
        # People's time: sign-in sessions and lockouts. The same as `clock`, except while
        # the demo replays history on `clock` (days in minutes) and people already use it.
        self.wall_clock = wall_clock or clock
        self.role = role
        # Files at rest hold personal data: all the node writes is for its user alone.
        create_owner_only()
        settings.workspace.mkdir(parents=True, exist_ok=True)
        tightened = tighten_workspace(settings.workspace)
        if tightened:
            logger.warning(
                "took group and other permissions off %d files and folders in %s (e.g. %s)",
                len(tightened),
                settings.workspace,
                tightened[0],
            )
        self.db = Database(make_engine(settings.database_url, echo=settings.database.echo))
        # The key ring first: the event store keeps identifiers only as keyed tokens, and
        # the intake log keeps each record sealed (it holds plates and face features).
        self.governance = Governance.for_node(
            settings.governance,
            settings.workspace,
            clock,
            sealed_data=(settings.log_dir, settings.active_event_store_path),
            wall_clock=self.wall_clock,  # people's audit entries keep wall time (demo)
        )
        # One process writes the log (a lock file enforces it); the worker only follows it,
        # and hands the segments its retention run would delete to the writer.
        self._web_channel: LoopbackClient | None = None
        self._log_server: QueryServer | None = None
        if role is NodeRole.WORKER:
            self._web_channel = LoopbackClient(
                settings.web_endpoint_file,
                missing_hint="the event log is written by the web process: start `zhian serve`",
            )
            self.log = follow_event_log(
                settings.log, settings.log_dir, self.governance.cipher(), self._prune_by_writer
            )
        else:
            self.log = open_event_log(settings.log, settings.log_dir, self.governance.cipher())
        self.vault = self.governance.vault(self.db)
        # DuckDB admits one writing process: the worker (or the one process) owns the store.
        self._store = (
            None
            if role is NodeRole.WEB
            else open_event_store(
                settings.store,
                settings.event_store_path,
                settings.parquet_store_path,
                self.vault,
            )
        )
        self._remote_store: RemoteEventStore | None = None
        self.event_reads: EventReads
        if self._store is None:
            self._remote_store = RemoteEventStore(settings.worker_endpoint_file)
            self.event_reads = self._remote_store
        else:
            self.event_reads = LocalEventReads(self._store)
        self.images = ImageStore(
            settings.blob_dir,
            max_bytes=settings.images.max_bytes,
            cipher=self.governance.cipher(),  # captures are sealed at rest (#12)
        )
        self.quarantine = QuarantineService(self.db, cipher=self.governance.cipher())
        self.intake = IntakeService(
            log=self.log,
            quarantine=QuarantineStore(
                self.db,
                cipher=self.governance.cipher(),
                max_raw_bytes=settings.intake.max_body_bytes,
            ),
            clock=clock,
            settings=settings.intake,
            image_exists=self.images.exists,
            # Only a process that appends keeps the duplicate index (the worker never does).
            duplicate_index_path=None if role is NodeRole.WORKER else settings.duplicate_index_path,
            lost_records=ReaderLostRecords(self.log.losses, self.log.readers, STORE_READER),
            shared_log=settings.log.type == "nats",
        )
        self._devices_snapshot = DeviceDirectory(by_token_sha256={}, devices={})
        # Devices imported while the node runs: looked up on a miss, reloaded now and then.
        self.directory = DirectoryKeeper(
            self._load_intake_directory, has_changed=self._devices_changed
        )
        self.directory.subscribe(self._use_directory)
        self.intake.directory_keeper = self.directory
        # Alert lifecycle, SLA, live feed, webhooks (docs/dev/alerts-api.md).
        self.alert_loop = AlertLoop(
            self.db,
            clock,
            settings,
            identity=self.governance.sealer,
            cipher=self.governance.cipher(),
        )
        self.live_feed, self.alerts = self.alert_loop.live_feed, self.alert_loop.alerts
        self.watchlists = self.alert_loop.watchlists
        self._feeder: StoreFeeder | None = None
        self._rule_engine: RuleEngine | None = None
        self._models: ModelScheduler | None = None
        self._retention: RetentionScheduler | None = None
        # Crowd safety (docs/crowd.md): the crowd rule's settings, zones and snapshot.
        if self._store is not None:
            self._build_loops(self._store)
            self.crowd = CrowdMonitor.attach(self.rule_engine.rules, self.db, settings.crowd)
        else:
            # The rule runs in the worker, where the events are: its snapshot is asked there.
            self.crowd = CrowdMonitor(
                CrowdRule(CrowdConfig.from_settings(CrowdSettings())),
                self.db,
                settings.crowd,
                snapshot_source=self._worker_crowd_snapshot,
            )
        # GA/T 1400 server state, subscription pusher, upward client (docs/interop-viid.md).
        self.viid = ViidComponent(
            db=self.db,
            intake=self.intake,
            images=self.images,
            clock=clock,
            settings=settings,
            cipher=self.governance.cipher(),
        )
        # The hierarchy (docs/cascade.md): children's batches are taken in here (through
        # the intake, so where the log is written), and this node's own data goes up to
        # its parent from the process that runs the loops, a named reader of the log.
        self.children = ChildBatchService(
            db=self.db,
            intake=self.intake,
            images=self.images,
            clock=clock,
            alert_settings=settings.alerts,
            identity=self.governance.sealer,
            cipher=self.governance.cipher(),
            refresh_directory=self.refresh_directory,
            publish=self.live_feed.publish,
        )
        self.parent_forwarder = (
            UpwardForwarder(
                db=self.db,
                log=self.log,
                images=self.images,
                clock=clock,
                settings=settings.parent,
                alert_settings=settings.alerts,
                workspace=settings.workspace,
                log_dir=settings.log_dir,
                identity=self.governance.sealer,
                on_orders_changed=self.refresh_directory,
                model_settings=settings.models,
                searches=SearchResponder(
                    db=self.db,
                    reads=self.event_reads,
                    clock=clock,
                    identity=self.governance.sealer,
                    audit=self.governance.audit,
                    node_id=settings.parent.node_id,
                    token=settings.parent.token.get_secret_value(),
                ),
                event_reads=self.event_reads,
            )
            if settings.parent.is_enabled and role is not NodeRole.WEB
            else None
        )
        # IoT sensors over MQTT (docs/deploy-mqtt.md): an intake path, so it runs where the
        # log is written (the web process when split); subscribes only in a feeding node.
        self.mqtt = (
            MqttSubscriber(
                intake=self.intake,
                quarantine=QuarantineStore(
                    self.db,
                    cipher=self.governance.cipher(),
                    max_raw_bytes=settings.intake.max_body_bytes,
                ),
                clock=clock,
                settings=settings.mqtt,
                max_payload_bytes=settings.intake.max_body_bytes,
            )
            if settings.mqtt.enabled and role is not NodeRole.WORKER
            else None
        )
        self._directory_stop = threading.Event()
        self._directory_thread: threading.Thread | None = None
        # Written while the loops run: every process of the node lists every other.
        self._heartbeat: Heartbeat | None = None

    def _build_loops(self, store: EventStore) -> None:
        settings = self.settings
        self._feeder = StoreFeeder(
            self.log,
            store,
            batch_events=settings.store.batch_events,
            poll_seconds=settings.store.poll_seconds,
            reader=LogReader(self.log.readers, STORE_READER),
        )
        # The rule thread seals watchlist plates through a vault of its own.
        self._rule_engine = build_rule_engine(
            self.db, self.log, self.alert_loop, self.governance.vault(self.db)
        )
        # Batch analytic models, run every `models.interval_minutes` (docs/models.md).
        self._models = ModelScheduler(
            self.db,
            store,
            self.alerts,
            self.clock,
            settings.models,
            self.governance,
            queries=batch_queries(settings.batch, store),
        )
        # Audit, key ring, and the daily retention run: the store's owner runs it, and
        # prunes the log too (in the worker, the follower asks the log's writer to).
        self._retention = RetentionScheduler(
            db=self.db,
            registry=node_retention_registry(store, settings.blob_dir),
            settings=settings.governance,
            governance=self.governance,
            clock=self.clock,
            zone=timezone(timedelta(minutes=settings.pages.utc_offset_minutes)),
            log=self.log,
            intake=settings.intake,
        )

    def _prune_by_writer(self, seq: int) -> list[SegmentInfo]:
        assert self._web_channel is not None  # the worker role's follower only
        removed: list[SegmentInfo] = self._web_channel.ask(
            PRUNE_LOG_QUERY, {"through_seq": seq}, list[SegmentInfo]
        )
        return removed

    def _answer_worker(self, name: str, body: bytes) -> bytes:
        """The web role's side of the channel: the worker's retention prunes the log here."""
        if name != PRUNE_LOG_QUERY:
            raise KeyError(name)
        through = msgspec.json.decode(body, type=_PruneArgs).through_seq
        return msgspec.json.encode(self.log.prune_through(through))

    def _worker_crowd_snapshot(self) -> CrowdSnapshot:
        assert self._remote_store is not None  # the web role's source only
        try:
            snapshot: CrowdSnapshot = self._remote_store.channel.ask(
                CROWD_SNAPSHOT_QUERY, {}, CrowdSnapshot
            )
        except PeerUnreachableError:
            # The page still shows the zones' settings; the figures come back with the worker.
            logger.warning("the worker did not answer for the crowd snapshot")
            return self.crowd.rule.snapshot
        return snapshot

    # -- the parts a role may lack ------------------------------------------------------

    def _absent(self, part: str) -> NoReturn:
        owner = "the web process" if self.role is NodeRole.WORKER else "the worker (zhian worker)"
        raise NodeRoleError(f"the {part} runs in {owner}, not in this {self.role} process")

    @property
    def store(self) -> EventStore:
        """The event store, in the process that owns it (pages use `event_reads`)."""
        return self._store if self._store is not None else self._absent("event store")

    @store.setter
    def store(self, store: EventStore) -> None:
        """Reopen the store in its owner (tests that close the file to look at its bytes)."""
        if self._store is None:
            self._absent("event store")
        self._store = store
        self.event_reads = LocalEventReads(store)

    @property
    def feeder(self) -> StoreFeeder:
        return self._feeder if self._feeder is not None else self._absent("store feeder")

    @property
    def rule_engine(self) -> RuleEngine:
        return self._rule_engine if self._rule_engine is not None else self._absent("rule engine")

    @property
    def models(self) -> ModelScheduler:
        return self._models if self._models is not None else self._absent("model scheduler")

    @property
    def retention(self) -> RetentionScheduler:
        return self._retention if self._retention is not None else self._absent("retention run")

    # -- life cycle ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        *,
        feed: bool = True,
        role: NodeRole = NodeRole.ALL,
        wall_clock: Clock | None = None,
    ) -> Node:
        """Open a node for `role`; with `feed`, start that role's background loops;
        `wall_clock` (default `clock`) times people's sessions (`Node.wall_clock`)."""
        upgrade_url(
            settings.database_url,
            identity=migration_identity(settings.governance, settings.workspace),
        )
        node = cls(settings, clock or SystemClock(), role, wall_clock=wall_clock)
        if role is not NodeRole.WORKER:  # only a process that appends needs the index
            node.intake.recover()
            node.intake.start_indexing()
        node.refresh_directory()
        if feed:
            try:
                node.start()
            except BaseException:
                node.close()  # a refused start (a switched log, say) leaves nothing running
                raise
        return node

    def start(self) -> None:
        """Start the background loops this process's role runs."""
        if self.role is not NodeRole.WEB:
            # Each reader registers its checkpoint now, before any loop runs: a log whose
            # numbering no longer matches it (a switched log) refuses the start here.
            self.feeder.start()
            _ = self.rule_engine.last_seq
            self.rule_engine.start()
            self.alert_loop.start()
            self.models.start()
            self.viid.start()
            if self.parent_forwarder is not None:
                self.parent_forwarder.start()
            self.retention.start()
        elif self.settings.log.type == "local":
            # The worker's retention prunes the local log through its one writer, here;
            # on NATS the worker purges the stream itself (log/factory.py).
            self._log_server = QueryServer(
                self._answer_worker, host=self.settings.worker.query_host, port=0
            )
            self._log_server.start()
            self._log_server.endpoint.publish(self.settings.web_endpoint_file)
        if self.mqtt is not None:
            self.mqtt.start()
        self._directory_thread = threading.Thread(
            target=self._watch_directory, name="directory-refresh", daemon=True
        )
        self._directory_thread.start()
        if self._heartbeat is not None:  # started before: one row per process
            return
        self._heartbeat = Heartbeat(self.db, self.role.value, self.process_figures)
        try:
            self._heartbeat.beat()  # listed at once, not after the first interval
        except Exception:  # the loop tries again; a node does not fail on its heartbeat
            logger.exception("heartbeat: the first row could not be written")
        self._heartbeat.start()

    def process_figures(self) -> tuple[int | None, ProcessFigures]:
        """What this process reports of itself: the lag of the log readers it runs (the
        largest, and each), the intake's accepted count, rule latency and model run times."""
        readers: dict[str, int] = {}
        if self.role is not NodeRole.WEB:
            durable = self.log.durable_seq
            for position in self.log.readers.positions():
                readers[position.name] = max(0, durable - position.seq)
        return (
            max(readers.values()) if readers else None,
            ProcessFigures(
                readers=readers,
                intake_accepted=(
                    None if self.role is NodeRole.WORKER else self.intake.stats.accepted
                ),
                rule_latency=(
                    self._rule_engine.latency.states() if self._rule_engine is not None else {}
                ),
                model_run_seconds=(self._models.times.states() if self._models is not None else {}),
            ),
        )

    def processes(self) -> list[ProcessReport]:
        """Every live process of the node (their heartbeats), on whichever machine."""
        return live_processes(self.db)

    @property
    def heartbeat_key(self) -> str | None:
        """This process's heartbeat row, while its loops run."""
        return self._heartbeat.key if self._heartbeat is not None else None

    def refresh_directory(self) -> None:
        """Reload devices, zones and watchlists into the intake and the rules after a change."""
        self.directory.refresh()
        if self._rule_engine is not None:
            # The rules place alerts by the same master data; they must not lag behind it.
            self._rule_engine.refresh()

    def _use_directory(self, directory: IntakeDirectory) -> None:
        self.intake.directory = directory

    def _load_intake_directory(self) -> IntakeDirectory:
        with self.db.session() as session:
            devices = DeviceService(session).directory()
            zone_ids = RegistryService(session).zone_ids()
        entries: Mapping[str, DeviceInfo] = devices.devices

        def authenticate(token: str) -> str | None:
            found = devices.authenticate(token)
            if found is None and self._token_issued_since(token):
                # Issued by another process since this snapshot: reload, then look again.
                self.directory.refresh()
                return self._devices_snapshot.authenticate(token)
            return found

        self._devices_snapshot = devices

        def token_holder(token: str) -> str | None:
            return self._devices_snapshot.token_holder(token)  # the newest, if reloaded

        return IntakeDirectory(
            devices=entries,
            zone_ids=frozenset(zone_ids),
            authenticate=authenticate,
            token_holder=token_holder,
        )

    def _token_issued_since(self, token: str) -> bool:
        with self.db.session() as session:
            return DeviceService(session).token_owner(token) is not None

    def _devices_changed(self, directory: IntakeDirectory, device_ids: Collection[str]) -> bool:
        """Whether the database disagrees with `directory` about any of `device_ids`."""
        with self.db.session() as session:
            service = DeviceService(session)
            for device_id in device_ids:
                stored = service.get_device(device_id, scope=JurisdictionScope.unscoped())
                known = directory.devices.get(device_id)
                if stored is None:
                    if known is not None:
                        return True
                    continue
                if known is None or (stored.is_enabled, stored.gateway_id) != (
                    known.is_enabled,
                    known.gateway_id,
                ):
                    return True
        return False

    def _watch_directory(self) -> None:
        # Another process (a CLI import, the other role) may change devices at any time; a
        # miss reloads at once, this catches changes that cause no miss (a device disabled).
        interval = self.settings.intake.directory_refresh_seconds
        while not self._directory_stop.wait(interval):
            try:
                self.directory.refresh()
            except Exception:  # the next round tries again; the old directory stays
                logger.exception("reloading the device directory failed")

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
        if self._heartbeat is not None:
            self._heartbeat.stop()
        self._directory_stop.set()
        if self._directory_thread is not None:
            self._directory_thread.join(timeout=10)
        if self.mqtt is not None:
            self.mqtt.stop()  # first: its last batch still needs the intake and the log
        if self._log_server is not None:
            self._log_server.endpoint.withdraw(self.settings.web_endpoint_file)
            self._log_server.stop()
        for loop in (self._retention, self._models, self._rule_engine):
            if loop is not None:
                loop.stop()
        self.viid.stop()
        if self.parent_forwarder is not None:
            self.parent_forwarder.stop()
        self.alert_loop.stop()
        if self._feeder is not None:
            self._feeder.stop()
        if self.role is not NodeRole.WORKER:
            self.intake.close()  # indexes the log's tail, so the next start reads none of it
        self.log.close()
        if self._store is not None:
            self._store.close()
        if self._remote_store is not None:
            self._remote_store.close()
        if self._web_channel is not None:
            self._web_channel.close()
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
