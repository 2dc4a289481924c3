"""The parent's side of the cascade: take a child's batch, store it under the child's
jurisdictions, and show children's alerts and link health to parent users by scope.

A batch is applied in steps, each durable before the next and each idempotent, so a child
that sends a batch again after a lost answer changes nothing: devices are registered only
when unknown, images are content-addressed, events go through the one intake path (which
keeps one copy per device and event id, and holds what it refuses in its quarantine), alert
changes and online summaries are unique per (child, id).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, subtree
from zhian.access.service import AccessService, UserRead
from zhian.alerts.drafts import AlertDraft
from zhian.alerts.drafts import Tier as DraftTier
from zhian.alerts.procedure_store import ProcedureService
from zhian.alerts.schemas import LiveMessage
from zhian.alerts.service import AlertService
from zhian.alerts.settings import AlertSettings
from zhian.alerts.webhooks import BodyCipher
from zhian.cascade.case_studies import check_case_studies, receive_case_studies
from zhian.cascade.models import (
    ChildAlertChange,
    ChildKpiSummary,
    ChildLink,
    ChildOnlineSummary,
    ChildOverride,
    ChildProcedureOverride,
)
from zhian.cascade.presets import presets_for
from zhian.cascade.repository import ChildDataRepository
from zhian.cascade.wire import (
    AlertChange,
    BatchAck,
    ChildBatch,
    DeviceSummary,
    KpiReport,
    LinkStatus,
    OnlineSummary,
    Order,
    Orders,
    Overrides,
    ProcedurePreset,
    ProcedureStep,
)
from zhian.db.engine import Database
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, ForbiddenError
from zhian.ingest.events import CASCADE_PREFIX
from zhian.ingest.images import ImageStore
from zhian.ingest.service import IntakeService
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.registry.service import RegistryService
from zhian.rules.directory import PlaceDirectory, load_directory
from zhian.watchlists.service import WatchlistService

# A child's events enter the parent's intake under this source (and keep it in the store).
SOURCE_PREFIX = CASCADE_PREFIX
_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class ChildAlertRead:
    """One state change of a child's alert, as a parent user sees it."""

    node_id: str
    alert_id: int
    action: str
    from_state: str | None
    to_state: str | None
    at: datetime
    kind: str
    tier: str
    title_zh: str
    title_en: str
    community_id: str | None
    jurisdiction_id: str | None


@dataclass(frozen=True)
class ChildOpenAlertRead:
    """A child's alert that is not closed, as its latest state change shows it."""

    node_id: str
    alert_id: int
    state: str
    since: datetime
    kind: str
    tier: str
    title_zh: str
    title_en: str
    community_id: str | None
    jurisdiction_id: str | None
    is_overdue: bool


@dataclass(frozen=True)
class ChildLinkRead:
    """A child node as the parent last heard from it."""

    node_id: str
    jurisdiction_id: str | None
    registered_at: datetime | None
    last_contact_at: datetime
    batches: int
    events_accepted: int
    events_duplicate: int
    events_held: int
    # The child's side of the link as it last reported (None: never reported).
    status_at: datetime | None = None
    cache_records: int | None = None
    cache_bytes: int | None = None
    is_cache_alarm: bool | None = None
    backfill_percent: float | None = None
    backfill_records_left: int | None = None
    events_forwarded: bool | None = None


@dataclass(frozen=True)
class ChildOverrideRead:
    """A parameter preset a child keeps its own value for."""

    node_id: str
    community_id: str
    name: str
    preset: float
    local: float
    reported_at: datetime


@dataclass(frozen=True)
class ChildProcedureOverrideRead:
    """A response procedure (kind, tier) a child keeps its own steps for."""

    node_id: str
    kind: str
    tier: str
    reported_at: datetime


@dataclass(frozen=True)
class AreaOfRollup:
    """One row of the parent pages' roll-up: a jurisdiction, its subtree and communities."""

    jurisdiction_id: str
    jurisdictions: frozenset[str]
    communities: frozenset[str]


@dataclass(frozen=True)
class ChildRollup:
    """The children's figures of one area as its parent holds them."""

    jurisdiction_id: str
    nodes: tuple[str, ...]
    devices: int
    online_rate_pct: float | None
    open_alerts: int
    overdue_alerts: int


class ChildBatchService:
    """Applies children's batches at the parent, within the node credential's scope.

    `scope` is the scope of the credential (an API token holding `cascade.forward` placed
    at the child's jurisdiction): a child may deliver only what lies in it.
    """

    def __init__(
        self,
        *,
        db: Database,
        intake: IntakeService,
        images: ImageStore,
        clock: Clock,
        alert_settings: AlertSettings,
        identity: IdentityProtector | None = None,
        cipher: BodyCipher | None = None,
        refresh_directory: Callable[[], None] | None = None,
        publish: Callable[[LiveMessage], None] | None = None,
    ) -> None:
        self._db = db
        self._intake = intake
        self._images = images
        self._clock = clock
        self._alert_settings = alert_settings
        self._identity = identity  # opens the watchlist identifiers sent down
        self._cipher = cipher  # seals the webhook messages of the alerts raised here
        self._refresh = refresh_directory
        self._publish = publish

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        with self._db.session() as session:
            yield session

    def credential_scope(self, credential: UserRead, node_id: str) -> JurisdictionScope:
        """The scope a child's node credential delivers in, once it is checked that the
        credential speaks for `node_id`: an API token named after the node, so one child
        cannot deliver, or take orders, as another (403 otherwise)."""
        if credential.token_id is None:
            raise ForbiddenError(
                "a child node delivers with its node credential (an API token), not a session",
                field="Authorization",
            )
        with self._session() as session:
            access = AccessService(session)
            name = access.api_token_name(credential.token_id)
            if name != node_id:
                raise ForbiddenError(
                    f"this node credential was issued for node '{name}', not '{node_id}'",
                    field="node_id",
                )
            return access.scope_for(credential)

    def hello(self, node_id: str, credential: UserRead) -> datetime:
        """A child registers (again): remembered with the time, answered with ours."""
        self.credential_scope(credential, node_id)
        now = self._clock.now()
        with self._session() as session:
            repository = ChildDataRepository(session)
            link = self._link(repository, node_id, credential.jurisdiction_id, now)
            link.registered_at = now
        return now

    def report_status(self, status: LinkStatus, credential: UserRead) -> datetime:
        """Keep a child's link status (cache depth, back-fill progress) with its link; it
        counts as contact. Returns the time it was taken."""
        self.credential_scope(credential, status.node_id)
        now = self._clock.now()
        with self._session() as session:
            repository = ChildDataRepository(session)
            link = self._link(repository, status.node_id, credential.jurisdiction_id, now)
            link.status_at = now
            link.cache_records = status.cache_records
            link.cache_bytes = status.cache_bytes
            link.is_cache_alarm = status.is_cache_alarm
            link.backfill_percent = status.backfill_percent
            link.backfill_records_left = status.backfill_records_left
        return now

    def report_kpis(self, report: KpiReport, credential: UserRead) -> int:
        """Keep a child's hourly KPI summaries (idempotent by node, community and hour: a
        summary sent again replaces the one before); each must be of a community in the
        credential's scope (403 naming the item otherwise, nothing stored)."""
        scope = self.credential_scope(credential, report.node_id)
        for i, item in enumerate(report.summaries):
            if not scope.contains_community(item.community_id):
                raise ForbiddenError(
                    f"community '{item.community_id}' is outside the node credential's "
                    "jurisdiction",
                    field=f"summaries[{i}].community_id",
                )
        now = self._clock.now()
        with self._session() as session:
            repository = ChildDataRepository(session)
            repository.put_kpis(
                [
                    ChildKpiSummary(
                        node_id=report.node_id,
                        hour=item.hour,
                        community_id=item.community_id,
                        devices=item.devices,
                        reporting_devices=item.reporting_devices,
                        events=item.events,
                        received_at=now,
                    )
                    for item in report.summaries
                ]
            )
            link = self._link(repository, report.node_id, credential.jurisdiction_id, now)
            link.events_forwarded = report.events_forwarded
        return len(report.summaries)

    def apply(self, batch: ChildBatch, credential: UserRead) -> BatchAck:
        """Store a child's batch; refuses it whole (nothing stored) when any part lies
        outside the credential's scope or is malformed, naming the part."""
        scope = self.credential_scope(credential, batch.node_id)
        jurisdiction_id = credential.jurisdiction_id
        self._check_scope(batch, scope)
        check_case_studies(batch.case_studies, scope)
        self._register_devices(batch.devices, scope)
        self._save_images(batch.images)
        accepted = duplicate = held = 0
        if batch.events:
            result = self._intake.submit_events(batch.events, source=SOURCE_PREFIX + batch.node_id)
            accepted, duplicate, held = result.accepted, result.duplicate, result.rejected
        now = self._clock.now()
        messages: list[LiveMessage] = []
        with self._session() as session:
            repository = ChildDataRepository(session)
            changes = self._new_alert_changes(repository, batch, now)
            online = self._new_online(repository, batch)
            repository.add_all([*changes, *online])
            messages = self._raise_order_hits(session, batch.node_id, changes)
            studies = receive_case_studies(session, self._clock, batch.node_id, batch.case_studies)
            link = self._link(repository, batch.node_id, jurisdiction_id, now)
            link.batches += 1
            link.events_accepted += accepted
            link.events_duplicate += duplicate
            link.events_held += held
        if self._publish is not None:
            for message in messages:  # after the commit: a rolled-back alert is never shown
                self._publish(message)
        return BatchAck(
            accepted=accepted,
            duplicate=duplicate,
            held=held,
            alert_changes=len(changes),
            online=len(online),
            case_studies=studies,
        )

    def orders_for(self, node_id: str, credential: UserRead) -> Orders:
        """The watchlist orders in force over a child at its credential's jurisdiction: the
        entries of that jurisdiction, of those above it (a city's entry covers every node
        below) and of those below it, withdrawn ones too so the child withdraws them."""
        self.credential_scope(credential, node_id)
        jurisdiction_id = credential.jurisdiction_id
        with self._session() as session:
            tree = RegistryService(session).jurisdiction_tree()
            parents = dict(tree.parents)
            if jurisdiction_id is None:  # an unscoped credential: the whole tree
                wanted: set[str] = set(parents)
            else:
                wanted = subtree(parents, jurisdiction_id)
                above = parents.get(jurisdiction_id)
                while above is not None and above not in wanted:
                    wanted.add(above)
                    above = parents.get(above)
            watchlists = WatchlistService(
                session,
                clock=self._clock,
                scope=JurisdictionScope.unscoped(),
                identity=self._identity,
            )
            orders = watchlists.orders_for(wanted)
            below = set(parents) if jurisdiction_id is None else subtree(parents, jurisdiction_id)
            communities = [c for c, j in tree.community_jurisdiction.items() if j in below]
            parameters = presets_for(session, communities)
            procedures = [
                ProcedurePreset(
                    kind=procedure.kind,
                    tier=procedure.tier,
                    steps=[
                        ProcedureStep(
                            key=step.key, text_zh=step.text_zh, text_en=step.text_en, role=step.role
                        )
                        for step in procedure.steps
                    ],
                )
                for procedure in ProcedureService(session).pushed_down()
            ]
        return Orders(
            node_id=node_id,
            orders=[Order(**order.model_dump(mode="python")) for order in orders],
            parameters=parameters,
            procedures=procedures,
        )

    def report_overrides(self, report: Overrides, credential: UserRead) -> int:
        """Keep the presets a child overrides, as it reports them now (replacing what it
        reported before); each must be of a community in its credential's scope (403
        naming the item otherwise, nothing stored). Returns how many it overrides."""
        scope = self.credential_scope(credential, report.node_id)
        for i, item in enumerate(report.overrides):
            if not scope.contains_community(item.community_id):
                raise ForbiddenError(
                    f"community '{item.community_id}' is outside the node credential's "
                    "jurisdiction",
                    field=f"overrides[{i}].community_id",
                )
        now = self._clock.now()
        with self._session() as session:
            ChildDataRepository(session).replace_procedure_overrides(
                report.node_id,
                [
                    ChildProcedureOverride(
                        node_id=report.node_id, kind=item.kind, tier=item.tier, reported_at=now
                    )
                    for item in report.procedures
                ],
            )
            ChildDataRepository(session).replace_overrides(
                report.node_id,
                [
                    ChildOverride(
                        node_id=report.node_id,
                        community_id=item.community_id,
                        name=item.name,
                        preset=item.preset,
                        local=item.local,
                        reported_at=now,
                    )
                    for item in report.overrides
                ],
            )
        return len(report.overrides) + len(report.procedures)

    def _raise_order_hits(
        self, session: Session, node_id: str, changes: list[ChildAlertChange]
    ) -> list[LiveMessage]:
        """A child's new watchlist hit on an order of this node raises the alert here too
        (the issuing level); on an order this node received from its own parent, the alert
        raised here carries the hit one level further up."""
        hits = [c for c in changes if c.order_id is not None and c.action == "created"]
        if not hits:
            return []
        watchlists = WatchlistService(
            session, clock=self._clock, scope=JurisdictionScope.unscoped()
        )
        alerts = AlertService(
            session,
            clock=self._clock,
            settings=self._alert_settings,
            cipher=self._cipher,
        )
        places = load_directory(session)
        drafts = [
            _hit_draft(node_id, change, places)
            for change in hits
            if change.order_id is not None and watchlists.get_entry(change.order_id) is not None
        ]
        alerts.raise_drafts(drafts)
        return list(alerts.messages)

    # --- the steps --------------------------------------------------------------------------

    def _check_scope(self, batch: ChildBatch, scope: JurisdictionScope) -> None:
        """Everything the batch places must lie in the credential's scope (403 otherwise)."""
        for index, device in enumerate(batch.devices):
            if not scope.contains_community(device.community_id):
                raise ForbiddenError(
                    f"community '{device.community_id}' of device '{device.id}' is outside "
                    "this node credential's jurisdiction",
                    field=f"devices[{index}].community_id",
                )
        for index, change in enumerate(batch.alert_changes):
            if not (
                scope.contains(change.jurisdiction_id)
                or scope.contains_community(change.community_id)
            ):
                raise ForbiddenError(
                    f"alert {change.alert_id} belongs to jurisdiction "
                    f"'{change.jurisdiction_id}', outside this node credential's",
                    field=f"alert_changes[{index}].jurisdiction_id",
                )
        for index, sample in enumerate(batch.online):
            if not scope.contains_community(sample.community_id):
                raise ForbiddenError(
                    f"community '{sample.community_id}' is outside this node credential's "
                    "jurisdiction",
                    field=f"online[{index}].community_id",
                )
        named = {device.id for device in batch.devices}
        others = {event.device_id for event in batch.events} - named
        if others:
            self._check_known_devices(batch, others, scope)

    def _check_known_devices(
        self, batch: ChildBatch, device_ids: set[str], scope: JurisdictionScope
    ) -> None:
        """Events of devices the batch does not summarise: a device the parent knows must
        lie in the scope (one it does not know is held by the intake as unknown)."""
        with self._session() as session:
            communities = DeviceService(session).communities_of(device_ids)
        outside = {d for d, c in communities.items() if not scope.contains_community(c)}
        for index, event in enumerate(batch.events):
            if event.device_id in outside:
                raise ForbiddenError(
                    f"device '{event.device_id}' is outside this node credential's jurisdiction",
                    field=f"events[{index}].device_id",
                )

    def _register_devices(self, summaries: list[DeviceSummary], scope: JurisdictionScope) -> int:
        """Register the child's devices the parent does not know yet (committed before the
        events, so the intake finds them); a known device outside the scope is refused."""
        if not summaries:
            return 0
        registered = 0
        with self._session() as session:
            devices = DeviceService(session)
            known = devices.communities_of([summary.id for summary in summaries])
            for index, summary in enumerate(summaries):
                if summary.id in known:
                    if not scope.contains_community(known[summary.id]):
                        raise ForbiddenError(
                            f"device '{summary.id}' is registered here in community "
                            f"'{known[summary.id]}', outside this node credential's "
                            "jurisdiction",
                            field=f"devices[{index}].id",
                        )
                    continue
                try:
                    devices.register(
                        {
                            "id": summary.id,
                            "kind": summary.kind,
                            "name": summary.name,
                            "community_id": summary.community_id,
                            "latitude": summary.latitude,
                            "longitude": summary.longitude,
                        },
                        scope=scope,
                    )
                except BadRequestError as exc:
                    raise BadRequestError(
                        f"device '{summary.id}': {exc}", field=f"devices[{index}].{exc.field}"
                    ) from exc
                registered += 1
        if registered and self._refresh is not None:
            self._refresh()  # the intake and the rules learn the new devices now
        return registered

    def _save_images(self, images: dict[str, bytes]) -> None:
        for ref, data in images.items():
            extension = ref.rsplit(".", 1)[-1]
            content_type = _MEDIA_TYPES.get(extension)
            if content_type is None:
                raise BadRequestError(f"'{ref}' is not an image reference", field="images")
            saved = self._images.save(data, content_type)
            if saved != ref:
                raise BadRequestError(
                    f"image '{ref}' does not match its content (it is '{saved}')",
                    field="images",
                )

    def _new_alert_changes(
        self, repository: ChildDataRepository, batch: ChildBatch, now: datetime
    ) -> list[ChildAlertChange]:
        """The changes not stored yet, each under the node it happened at (the sender, or
        the node further down a relayed change names)."""
        by_node: dict[str, list[AlertChange]] = {}
        for change in batch.alert_changes:
            by_node.setdefault(change.origin_node or batch.node_id, []).append(change)
        rows: list[ChildAlertChange] = []
        for node_id, changes in by_node.items():
            known = repository.known_action_ids(node_id, [c.action_id for c in changes])
            rows += [
                _stored(node_id, change, now) for change in changes if change.action_id not in known
            ]
        return rows

    def _new_online(
        self, repository: ChildDataRepository, batch: ChildBatch
    ) -> list[ChildOnlineSummary]:
        """The summaries not stored yet, each under the node it was sampled at (the sender,
        or the node further down a relayed summary names)."""
        by_node: dict[str, list[OnlineSummary]] = {}
        for sample in batch.online:
            by_node.setdefault(sample.origin_node or batch.node_id, []).append(sample)
        rows: list[ChildOnlineSummary] = []
        for node_id, samples in by_node.items():
            known = repository.known_sample_ids(node_id, [s.sample_id for s in samples])
            rows += [
                ChildOnlineSummary(
                    node_id=node_id,
                    sample_id=sample.sample_id,
                    sampled_at=sample.sampled_at,
                    community_id=sample.community_id,
                    device_kind=sample.device_kind,
                    total=sample.total,
                    online=sample.online,
                )
                for sample in samples
                if sample.sample_id not in known
            ]
        return rows

    @staticmethod
    def _link(
        repository: ChildDataRepository, node_id: str, jurisdiction_id: str | None, now: datetime
    ) -> ChildLink:
        link = repository.child(node_id)
        if link is None:
            link = ChildLink(
                node_id=node_id,
                jurisdiction_id=jurisdiction_id,
                registered_at=None,
                last_contact_at=now,
                batches=0,
                events_accepted=0,
                events_duplicate=0,
                events_held=0,
            )
            repository.add_child(link)
        link.jurisdiction_id = jurisdiction_id
        link.last_contact_at = now
        return link


class ChildReadService:
    """What parent users read of their children, always through their scope."""

    def __init__(self, session: Session) -> None:
        self.repository = ChildDataRepository(session)

    def alert_changes(
        self, *, scope: JurisdictionScope, node_id: str | None = None, limit: int = 500
    ) -> list[ChildAlertRead]:
        """Children's alert state changes the scope covers, per child in the child's order."""
        where = scope.clause(ChildAlertChange.jurisdiction_id) | scope.community_clause(
            ChildAlertChange.community_id
        )
        return [
            ChildAlertRead(
                node_id=row.node_id,
                alert_id=row.alert_id,
                action=row.action,
                from_state=row.from_state,
                to_state=row.to_state,
                at=row.at,
                kind=row.kind,
                tier=row.tier,
                title_zh=row.title_zh,
                title_en=row.title_en,
                community_id=row.community_id,
                jurisdiction_id=row.jurisdiction_id,
            )
            for row in self.repository.alert_changes(where, node_id=node_id, limit=limit)
        ]

    def open_alerts(self, *, scope: JurisdictionScope, limit: int = 50) -> list[ChildOpenAlertRead]:
        """The children's alerts in the scope not closed yet (relayed ones included), most
        recently changed first, each with whether it breached a deadline."""
        where = scope.clause(ChildAlertChange.jurisdiction_id) | scope.community_clause(
            ChildAlertChange.community_id
        )
        breached = self.repository.breached_alerts(where)
        return [
            ChildOpenAlertRead(
                node_id=row.node_id,
                alert_id=row.alert_id,
                state=row.to_state or "",
                since=row.at,
                kind=row.kind,
                tier=row.tier,
                title_zh=row.title_zh,
                title_en=row.title_en,
                community_id=row.community_id,
                jurisdiction_id=row.jurisdiction_id,
                is_overdue=(row.node_id, row.alert_id) in breached,
            )
            for row in self.repository.open_alerts(where, limit)
        ]

    def reporting_from_summaries(
        self, *, scope: JurisdictionScope
    ) -> dict[str, tuple[int, int, datetime]]:
        """Community -> (reporting devices, enabled devices, hour) by the newest KPI summary
        of each community of the scope whose child this node does not hold the events of
        in full: one that forwards no events, or one whose last link report shows a cache
        still waiting. The roll-up counts those communities by the child's own figures."""
        partial = {
            link.node_id
            for link in self.children(scope=scope)
            if link.events_forwarded is False or (link.cache_records or 0) > 0
        }
        if not partial:
            return {}
        return {
            row.community_id: (row.reporting_devices, row.devices, row.hour)
            for row in self.repository.latest_kpis(partial)
            if scope.contains_community(row.community_id)
        }

    def overrides(self, *, scope: JurisdictionScope) -> list[ChildOverrideRead]:
        """The presets the children of the scope keep their own value for, by node."""
        nodes = {child.node_id for child in self.children(scope=scope)}
        return [
            ChildOverrideRead(
                node_id=row.node_id,
                community_id=row.community_id,
                name=row.name,
                preset=row.preset,
                local=row.local,
                reported_at=row.reported_at,
            )
            for row in self.repository.overrides()
            if row.node_id in nodes and scope.contains_community(row.community_id)
        ]

    def procedure_overrides(self, *, scope: JurisdictionScope) -> list[ChildProcedureOverrideRead]:
        """The procedures the children of the scope keep their own steps for, by node."""
        nodes = {child.node_id for child in self.children(scope=scope)}
        return [
            ChildProcedureOverrideRead(
                node_id=row.node_id, kind=row.kind, tier=row.tier, reported_at=row.reported_at
            )
            for row in self.repository.procedure_overrides()
            if row.node_id in nodes
        ]

    def children(self, *, scope: JurisdictionScope) -> list[ChildLinkRead]:
        """The children whose jurisdiction the scope covers, with their last contact."""
        return [
            ChildLinkRead(
                node_id=row.node_id,
                jurisdiction_id=row.jurisdiction_id,
                registered_at=row.registered_at,
                last_contact_at=row.last_contact_at,
                batches=row.batches,
                events_accepted=row.events_accepted,
                events_duplicate=row.events_duplicate,
                events_held=row.events_held,
                status_at=row.status_at,
                cache_records=row.cache_records,
                cache_bytes=row.cache_bytes,
                is_cache_alarm=row.is_cache_alarm,
                backfill_percent=row.backfill_percent,
                backfill_records_left=row.backfill_records_left,
                events_forwarded=row.events_forwarded,
            )
            for row in self.repository.children()
            if scope.is_unscoped or scope.contains(row.jurisdiction_id)
        ]

    def rollups(self, *, scope: JurisdictionScope, areas: list[AreaOfRollup]) -> list[ChildRollup]:
        """Per area: the child nodes placed in it, the online rate of the devices below it
        by each child's newest summaries, the children's open alerts there and how many of
        them breached a deadline. Only what `scope` covers is counted."""
        alert_where = scope.clause(ChildAlertChange.jurisdiction_id) | scope.community_clause(
            ChildAlertChange.community_id
        )
        breached = self.repository.breached_alerts(alert_where)
        # (community, jurisdiction, breached) of each open alert
        open_alerts = [
            (community, jurisdiction, (node, alert) in breached)
            for node, alert, state, jurisdiction, community in self.repository.alert_states(
                alert_where
            )
            if state != "closed"
        ]
        online = self.repository.latest_online(
            scope.community_clause(ChildOnlineSummary.community_id)
        )
        children = self.children(scope=scope)
        rows = []
        for area in areas:
            total = sum(t for c, t, _ in online if c in area.communities)
            up = sum(n for c, _, n in online if c in area.communities)
            inside = [
                is_breached
                for community, jurisdiction, is_breached in open_alerts
                if community in area.communities or jurisdiction in area.jurisdictions
            ]
            rows.append(
                ChildRollup(
                    jurisdiction_id=area.jurisdiction_id,
                    nodes=tuple(
                        c.node_id for c in children if c.jurisdiction_id in area.jurisdictions
                    ),
                    devices=total,
                    online_rate_pct=round(100 * up / total, 1) if total else None,
                    open_alerts=len(inside),
                    overdue_alerts=sum(inside),
                )
            )
        return rows


def _hit_draft(node_id: str, change: ChildAlertChange, places: PlaceDirectory) -> AlertDraft:
    """The alert a child's hit on one of this node's orders raises here: keyed as this
    node's own watchlist rule keys a hit at that device, so that a hit this node also saw
    in the forwarded events updates that one alert instead of opening a second."""
    tier: DraftTier = "general"
    if change.tier in ("minor", "general", "major"):
        tier = cast(DraftTier, change.tier)
    return AlertDraft(
        rule="watchlist",
        kind=change.kind,
        tier=tier,
        subject=f"entry:{change.order_id}",
        place_id=_place_id(change, places, node_id),
        observed_at=change.at,
        explanation_zh=f"下级平台 {node_id} 报告布控命中：{change.title_zh}",
        explanation_en=f"child node {node_id} reports a watchlist hit: {change.title_en}",
        device_id=change.device_id,
        community_id=change.community_id,
        figures={"child_node": node_id, "child_alert_id": change.alert_id},
    )


def _stored(node_id: str, change: AlertChange, now: datetime) -> ChildAlertChange:
    return ChildAlertChange(
        node_id=node_id,
        action_id=change.action_id,
        alert_id=change.alert_id,
        action=change.action,
        from_state=change.from_state,
        to_state=change.to_state,
        at=change.at,
        rule=change.rule,
        kind=change.kind,
        tier=change.tier,
        title_zh=change.title_zh,
        title_en=change.title_en,
        community_id=change.community_id,
        jurisdiction_id=change.jurisdiction_id,
        device_id=change.device_id,
        # Only a direct child's hit names an order of this node; a relayed one named the
        # sender's copy, whose own alert carries the hit up instead.
        order_id=change.order_id if change.origin_node is None else None,
        received_at=now,
    )


def _place_id(change: ChildAlertChange, places: PlaceDirectory, node_id: str) -> str:
    place = None if change.device_id is None else places.get(change.device_id)
    if place is not None:
        return place.place_id
    return change.device_id or change.community_id or change.jurisdiction_id or node_id
