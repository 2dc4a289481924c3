"""Running every model once: master data and overrides from the database, drafts out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import msgspec
from sqlalchemy.orm import Session

from zhian.alerts.drafts import AlertDraft
from zhian.errors import BadRequestError
from zhian.models.base import BatchModel, ModelRun
from zhian.models.catalogue import MODEL_BY_NAME, MODELS
from zhian.models.faces import FACES_KEY, EnrolledFaces
from zhian.models.master import MasterData, load_master
from zhian.models.parameters import ParameterService
from zhian.models.settings import ModelSettings
from zhian.models.utilities import READINGS_KEY, UtilityService
from zhian.store.events import EventStore
from zhian.store.queries import EventQueries


def prepare_run(
    session: Session,
    store: EventStore,
    settings: ModelSettings,
    now: datetime,
    master: MasterData | None = None,
    faces: EnrolledFaces | None = None,
    queries: EventQueries | None = None,
) -> ModelRun:
    """Everything a run reads besides the events, taken in one session (`master` reuses
    a snapshot already loaded; `faces`, residents' enrolled face features opened by
    `load_enrolled_faces`, lets the unregistered-resident model name candidates;
    `queries`, the batch engine's (`zhian.models.engines`), else the store's own)."""
    master = master or load_master(session, store.protector.token)
    overrides = ParameterService(session).overrides()
    # The optional utility feed (vacant-house model), over the lookback.
    since = (now - timedelta(days=settings.lookback_days)).date()
    readings = UtilityService(session).readings_since(since)
    return ModelRun(
        queries=queries or store.queries,
        sealer=store.protector,
        master=master,
        settings=settings,
        now=now,
        overrides=overrides,
        shared={READINGS_KEY: readings, **({FACES_KEY: faces} if faces is not None else {})},
    )


# Told after each model has run: its name and how many drafts it made.
ModelProgress = Callable[[str, int], None]


class ModelOutcome(msgspec.Struct, frozen=True):
    """One model's part of a run."""

    model: str
    drafts: int


class ModelRunReport(msgspec.Struct, frozen=True):
    """What one run of the models did: as of when, per model, and the alerts it raised or
    updated (the alert service merges a draft into its open alert)."""

    as_of: datetime
    outcomes: list[ModelOutcome]
    alert_ids: list[int]


def select_models(name: str | None) -> tuple[BatchModel, ...]:
    """Every model, or the one named (`model.moved_out`, or `moved_out` for short)."""
    if name is None:
        return MODELS
    wanted = name if name.startswith("model.") else f"model.{name}"
    model = MODEL_BY_NAME.get(wanted)
    if model is None:
        known = ", ".join(m.name.removeprefix("model.") for m in MODELS)
        raise BadRequestError(f"unknown model {name!r} (known: {known})", field="model")
    return (model,)


def run_models(
    run: ModelRun,
    models: Sequence[BatchModel] = MODELS,
    progress: ModelProgress | None = None,
) -> list[AlertDraft]:
    """The drafts of every model for this run, model by model (`progress` told after each)."""
    drafts: list[AlertDraft] = []
    for model in models:
        made = model.run(run)
        for draft in made:
            # Every alert links to the page where its community's parameters are changed.
            link = f"/models/communities/{draft.community_id}" if draft.community_id else "/models"
            drafts.append(replace(draft, figures={**draft.figures, "parameters_url": link}))
        if progress is not None:
            progress(model.name, len(made))
    return drafts
