"""What every batch model shares: the run context, the protocol, and small SQL pieces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.config import ModelSettings
from zhian.models.master import MasterData
from zhian.store.events import EventStore

# Local time of an event column, as naive local wall time.
LOCAL = "(timezone('UTC', {col}) + to_seconds($offset))"
# The key that maps a door's or a camera's subject onto the registry (m_keys.key).
SUBJECT_KEY = "({alias}.subject_kind || ':' || {alias}.subject_ref)"
# A short list of supporting events, newest first.
EVIDENCE = (
    "list(struct_pack(id := {a}.event_id, dev := {a}.device_id, t := timezone('UTC', {a}.time)) "
    "ORDER BY {a}.time DESC)[1:{n}]"
)


@dataclass(frozen=True)
class ModelRun:
    """One run of the models: the store, master data, parameters and the moment it runs."""

    store: EventStore
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

    def sql_parameters(self, **extra: object) -> dict[str, object]:
        offset = int(self.settings.utc_offset_hours * 3600)
        return {"now": self.now, "offset": offset, **extra}

    def query(self, sql: str, **extra: object) -> list[tuple[Any, ...]]:
        # DuckDB refuses named parameters a statement does not use.
        used = {k: v for k, v in self.sql_parameters(**extra).items() if f"${k}" in sql}
        return self.store.query(sql, used, tables=self.master.tables)

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


def event_refs(items: list[dict[str, Any]] | None, event_type: str) -> tuple[EventRef, ...]:
    return tuple(
        EventRef(id=i["id"], type=event_type, device_id=i["dev"], time=i["t"].replace(tzinfo=UTC))
        for i in items or ()
    )


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def parameter_figures(settings: ModelSettings, names: tuple[str, ...]) -> dict[str, float | int]:
    """The parameters that applied, as evidence figures (`param.<name>`)."""
    return {f"param.{n}": getattr(settings, n) for n in names}
