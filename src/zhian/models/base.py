"""What every batch model shares: the run context and the protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.models.master import MasterData
from zhian.models.settings import ModelSettings
from zhian.store.features import FeatureSealer
from zhian.store.queries import EventQueries, EvidenceEvent, SealedCapture


@dataclass(frozen=True)
class ModelRun:
    """One run of the models: the store's named queries, master data, parameters and the
    moment it runs; `sealer` opens the face features a model links (audited per run)."""

    queries: EventQueries
    sealer: FeatureSealer
    master: MasterData
    settings: ModelSettings
    now: datetime
    overrides: dict[str, dict[str, float]]  # community -> parameter -> value
    # Results several models share within one run (last sightings), by name.
    shared: dict[str, Any] = field(default_factory=dict)

    def params(self, community_id: str | None) -> ModelSettings:
        """The parameters that apply in a community: the defaults and its overrides."""
        changed = self.overrides.get(community_id or "", {})
        if not changed:
            return self.settings
        return self.settings.model_copy(update=changed)

    @property
    def utc_offset_seconds(self) -> int:
        """Local time's offset from UTC, for queries that count local days and hours."""
        return int(self.settings.utc_offset_hours * 3600)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(tzinfo=None) + timedelta(
            hours=self.settings.utc_offset_hours
        )


class BatchModel(Protocol):
    """A model: a function of (event store, parameters, clock) to alert drafts."""

    name: str  # the rule name on alerts, e.g. "model.moved_out"
    scenario: str  # the simulator's truth name it answers to
    title_zh: str
    title_en: str

    def run(self, run: ModelRun) -> list[AlertDraft]: ...

    def min_delay(self, settings: ModelSettings) -> timedelta:
        """How long after a situation begins the model can first see it."""
        ...


def event_refs(
    items: Iterable[EvidenceEvent | SealedCapture], event_type: str
) -> tuple[EventRef, ...]:
    return tuple(
        EventRef(id=i.event_id, type=event_type, device_id=i.device_id, time=i.time) for i in items
    )


def parameter_figures(settings: ModelSettings, names: tuple[str, ...]) -> dict[str, float | int]:
    """The parameters that applied, as evidence figures (`param.<name>`)."""
    return {f"param.{n}": getattr(settings, n) for n in names}
