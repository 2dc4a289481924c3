"""Per-community parameters: the `[models]` defaults, and a community's own values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.errors import BadRequestError
from zhian.models.orm import ModelParameter
from zhian.models.settings import ModelSettings

# The settings a community may change (the schedule and clock stay node-wide).
TUNABLE: tuple[str, ...] = tuple(
    name
    for name in ModelSettings.model_fields
    if name not in {"enabled", "interval_minutes", "utc_offset_hours", "lookback_days"}
)


class ParameterService:
    """Reads and changes communities' parameter overrides; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def overrides(self) -> dict[str, dict[str, float]]:
        """community -> parameter -> value, for every community that changed one."""
        found: dict[str, dict[str, float]] = {}
        for row in self.session.scalars(select(ModelParameter)):
            found.setdefault(row.community_id, {})[row.name] = row.value
        return found

    def effective(self, defaults: ModelSettings, community_id: str) -> ModelSettings:
        """The parameters that apply in one community."""
        return defaults.model_copy(update=self.overrides().get(community_id, {}))

    def set_values(
        self,
        community_id: str,
        values: dict[str, float],
        *,
        defaults: ModelSettings,
        user_id: int | None,
        now: datetime,
    ) -> None:
        """Store a community's values; a value equal to the default removes the override.
        Each value is checked against the setting's own bounds."""
        for name, value in values.items():
            if name not in TUNABLE:
                raise BadRequestError(f"'{name}' is not a model parameter", field=name)
            try:
                ModelSettings.model_validate({**defaults.model_dump(), name: value})
            except ValueError as exc:
                raise BadRequestError(f"{name}: {exc}", field=name) from None
        existing = {
            row.name: row
            for row in self.session.scalars(
                select(ModelParameter).where(ModelParameter.community_id == community_id)
            )
        }
        for name, value in values.items():
            row = existing.get(name)
            if value == getattr(defaults, name):
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
