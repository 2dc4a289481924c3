"""Model parameter presets pushed down (docs/cascade.md "Presets that flow down").

Parent side: the parent's own per-community parameter values of the communities below a
child's jurisdiction are that child's presets. Child side: each preset is applied as the
community's value, unless `[parent] parameter_overrides` is on and this node set its own
value there; those overrides are reported back up, so the parent sees which nodes keep
their own.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Final

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.alerts.procedure_store import ProcedureService
from zhian.alerts.procedures import check_key, steps_from_json
from zhian.cascade.wire import (
    ParameterOverride,
    ParameterPreset,
    ProcedureOverride,
    ProcedurePreset,
)
from zhian.errors import BadRequestError
from zhian.models.orm import ModelParameter
from zhian.models.parameters import ParameterService
from zhian.models.settings import ModelSettings
from zhian.registry.service import RegistryService

logger = logging.getLogger(__name__)

# A value applied from the parent's preset: kept as the row's author, so a later preset
# replaces it while a value a user set here is this node's own.
FROM_PARENT: Final = 0


def presets_for(session: Session, communities: Collection[str]) -> list[ParameterPreset]:
    """The parent's own values of `communities`, as presets for the child that owns them."""
    overrides = ParameterService(session).overrides()
    return [
        ParameterPreset(community_id=community, name=name, value=value)
        for community in sorted(communities)
        for name, value in sorted(overrides.get(community, {}).items())
    ]


def apply_presets(
    session: Session,
    presets: list[ParameterPreset],
    *,
    defaults: ModelSettings,
    allow_override: bool,
    now: datetime,
) -> list[ParameterOverride]:
    """Bring this node's values in step with the parent's presets; returns the presets it
    keeps its own value for. A preset of a community unknown here is skipped; a value an
    earlier preset set and the parent no longer sends is removed (back to the default)."""
    service = ParameterService(session)
    known = set(RegistryService(session).jurisdiction_tree().community_jurisdiction)
    rows = {(r.community_id, r.name): r for r in session.scalars(select(ModelParameter))}
    wanted = {(p.community_id, p.name) for p in presets}
    for key, earlier in rows.items():
        if earlier.updated_by == FROM_PARENT and key not in wanted:
            session.delete(earlier)
    overrides: list[ParameterOverride] = []
    for preset in presets:
        if preset.community_id not in known:
            continue
        row = rows.get((preset.community_id, preset.name))
        if allow_override and row is not None and row.updated_by != FROM_PARENT:
            if row.value != preset.value:
                overrides.append(
                    ParameterOverride(
                        community_id=preset.community_id,
                        name=preset.name,
                        preset=preset.value,
                        local=row.value,
                    )
                )
            continue
        try:
            service.set_values(
                preset.community_id,
                {preset.name: preset.value},
                defaults=defaults,
                user_id=FROM_PARENT,
                now=now,
            )
        except BadRequestError as exc:  # a parameter this version does not know, say
            logger.error("the parent's preset %s is refused here: %s", preset.name, exc)
    session.flush()
    return overrides


def apply_procedures(
    session: Session,
    procedures: list[ProcedurePreset],
    *,
    allow_override: bool,
    now: datetime,
) -> list[ProcedureOverride]:
    """Bring this node's response procedures in step with the parent's; returns those it
    keeps its own steps for. A malformed procedure is logged and skipped (it stays as it
    was here); one the parent no longer sends returns to the built-in default."""
    presets = []
    for procedure in procedures:
        try:
            check_key(procedure.kind, procedure.tier)
            steps = steps_from_json(msgspec.structs.asdict(step) for step in procedure.steps)
        except BadRequestError as exc:
            logger.error(
                "the parent's procedure %s/%s is refused here: %s (%s)",
                procedure.kind,
                procedure.tier,
                exc,
                exc.field,
            )
            continue
        presets.append((procedure.kind, procedure.tier, steps))
    kept = ProcedureService(session).apply_from_parent(
        presets, allow_override=allow_override, now=now
    )
    return [ProcedureOverride(kind=kind, tier=tier) for kind, tier in kept]
