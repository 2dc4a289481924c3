"""Model parameters: the `[models]` defaults, a place type's own values (campsites, long-stay
car parks, holiday homes) and a community's own values, the latter winning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.errors import BadRequestError
from zhian.models.orm import ModelParameter, PlaceTypeParameter
from zhian.models.settings import ModelSettings
from zhian.registry.models import CommunityKind
from zhian.registry.service import RegistryService

# The settings a community may change (the schedule and clock stay node-wide).
TUNABLE: tuple[str, ...] = tuple(
    name
    for name in ModelSettings.model_fields
    if name not in {"enabled", "interval_minutes", "utc_offset_hours", "lookback_days"}
)


# The settings a place type may change: how long a vehicle may stay and a house stay empty
# depend on what the place is for (a camper stays for weeks, a holiday home is empty for
# months), not on where it lies.
PLACE_TYPE_TUNABLE: tuple[str, ...] = ("zombie_absent_days", "vacant_absent_days")
PLACE_TYPES: tuple[str, ...] = tuple(kind.value for kind in CommunityKind)


class ParameterService:
    """Reads and changes communities' parameter overrides; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def overrides(self) -> dict[str, dict[str, float]]:
        """community -> parameter -> value, for every community whose place type or own
        values change one; a community's own value wins over its place type's."""
        by_type = self.place_type_overrides()
        found: dict[str, dict[str, float]] = {}
        if by_type:
            for community in self._communities():
                values = by_type.get(community.kind)
                if values:
                    found[community.id] = dict(values)
        for row in self.session.scalars(select(ModelParameter)):
            found.setdefault(row.community_id, {})[row.name] = row.value
        return found

    def place_type_overrides(self) -> dict[str, dict[str, float]]:
        """place type -> parameter -> value, for every place type that changed one."""
        found: dict[str, dict[str, float]] = {}
        for row in self.session.scalars(select(PlaceTypeParameter)):
            found.setdefault(row.place_type, {})[row.name] = row.value
        return found

    def effective(self, defaults: ModelSettings, community_id: str) -> ModelSettings:
        """The parameters that apply in one community."""
        return defaults.model_copy(update=self.overrides().get(community_id, {}))

    def place_type_defaults(self, defaults: ModelSettings, community_id: str) -> ModelSettings:
        """What applies in a community that sets no value of its own: the `[models]`
        defaults and its place type's values."""
        kind = next((c.kind for c in self._communities() if c.id == community_id), None)
        changed = self.place_type_overrides().get(kind or "", {})
        return defaults.model_copy(update=changed)

    def effective_for_place_type(self, defaults: ModelSettings, place_type: str) -> ModelSettings:
        """The parameters of a place type: the defaults and the place type's own values."""
        return defaults.model_copy(update=self.place_type_overrides().get(place_type, {}))

    def set_place_type_values(
        self,
        place_type: str,
        values: Mapping[str, float],
        *,
        defaults: ModelSettings,
        user_id: int | None,
        now: datetime,
    ) -> None:
        """Store a place type's values; a value equal to the default removes it."""
        if place_type not in PLACE_TYPES:
            raise BadRequestError(
                f"'{place_type}' is not a place type (one of {', '.join(PLACE_TYPES)})",
                field="place_type",
            )
        _check(values, PLACE_TYPE_TUNABLE, defaults, what="parameter a place type sets")
        existing = {
            row.name: row
            for row in self.session.scalars(
                select(PlaceTypeParameter).where(PlaceTypeParameter.place_type == place_type)
            )
        }
        for name, value in values.items():
            row = existing.get(name)
            if value == getattr(defaults, name):
                if row is not None:
                    self.session.delete(row)
                continue
            if row is None:
                row = PlaceTypeParameter(place_type=place_type, name=name)
                self.session.add(row)
            row.value = float(value)
            row.updated_at = now
            row.updated_by = user_id
        self.session.flush()

    def _communities(self) -> list[_CommunityKind]:
        # Every community: place-type values apply node-wide, whoever reads them.
        communities = RegistryService(self.session).list_communities(
            scope=JurisdictionScope.unscoped()
        )
        return [_CommunityKind(c.id, c.kind) for c in communities]

    def set_values(
        self,
        community_id: str,
        values: dict[str, float],
        *,
        defaults: ModelSettings,
        user_id: int | None,
        now: datetime,
    ) -> None:
        """Store a community's values; a value equal to what applies without one (the
        default, or its place type's value) removes the override. Each value is checked
        against the setting's own bounds."""
        _check(values, TUNABLE, defaults, what="model parameter")
        base = self.place_type_defaults(defaults, community_id)
        existing = {
            row.name: row
            for row in self.session.scalars(
                select(ModelParameter).where(ModelParameter.community_id == community_id)
            )
        }
        for name, value in values.items():
            row = existing.get(name)
            if value == getattr(base, name):
                if row is not None:
                    self.session.delete(row)
                continue
            if row is None:
                row = ModelParameter(community_id=community_id, name=name)
                self.session.add(row)
            row.value = float(value)
            row.updated_at = now
            row.updated_by = user_id
        self.session.flush()


@dataclass(frozen=True)
class _CommunityKind:
    id: str
    kind: str


def _check(
    values: Mapping[str, float], tunable: tuple[str, ...], defaults: ModelSettings, *, what: str
) -> None:
    """Each value names a parameter that may be changed here, within the setting's bounds."""
    for name, value in values.items():
        if name not in tunable:
            raise BadRequestError(f"'{name}' is not a {what}", field=name)
        try:
            ModelSettings.model_validate({**defaults.model_dump(), name: value})
        except ValueError as exc:
            raise BadRequestError(f"{name}: {exc}", field=name) from None
