"""Case factories: a database with the two-station registry, and case inputs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.cases.schemas import CaseCreate
from zhian.cases.service import CaseService
from zhian.cases.settings import CaseSettings
from zhian.governance.tokens import Tokeniser
from zhian.kit.clock import ManualClock
from zhian.registry.identity import IdentityProtector

TOKEN_KEY = b"k" * 32


def case_input(case_id: str, when: datetime, **fields: Any) -> CaseCreate:
    values: dict[str, Any] = {
        "id": case_id,
        "category": "burglary",
        "time_from": when,
        "time_to": when + timedelta(hours=1),
        "latitude": 30.27,
        "longitude": 120.15,
        "jurisdiction_id": "J-A",
        "mo": {"entry_method": ["撬锁"], "target": ["住宅"]},
    }
    values.update(fields)
    return CaseCreate.model_validate(values)


def service(
    session: Session,
    clock: ManualClock,
    scope: JurisdictionScope | None = None,
    *,
    tokens: bool = True,
    settings: CaseSettings | None = None,
    sealer: IdentityProtector | None = None,
) -> CaseService:
    """A case service; `sealer` seals notes on links (tests/registry/factories.SEALER)."""
    return CaseService(
        session,
        clock=clock,
        settings=settings or CaseSettings(),
        scope=scope or JurisdictionScope.unscoped(),
        tokeniser=Tokeniser(TOKEN_KEY) if tokens else None,
        sealer=sealer,
    )


def simulated_cases(
    *, seed: int = 3, days: float = 150, series: int = 15, per_day: float = 1.5
) -> list[CaseCreate]:
    """The simulator's planted cases (series, near-repeats, background) as case inputs,
    all in J-A; solved ones name their offender."""
    from zhian.sim.scenarios_cases import simulate_cases
    from zhian.sim.timeline import TZ

    planted = simulate_cases(
        seed=seed, start=datetime(2026, 1, 1, tzinfo=TZ), days=days, series=series,
        background_per_day=per_day,
    )  # fmt: skip
    return [
        CaseCreate(
            id=case.case_id, category=case.category, time_from=case.time_from,
            time_to=case.time_to, latitude=case.place.latitude, longitude=case.place.longitude,
            jurisdiction_id="J-A", mo={k: [v] for k, v in case.mo.items()},
            is_solved=case.is_solved, offender_ref=case.offender if case.is_solved else None,
        )
        for case in planted.cases
    ]  # fmt: skip


def series_of(seed: int = 3, days: float = 150, series: int = 15) -> dict[str, str]:
    """case id -> the offender whose series it belongs to (ground truth, solved or not)."""
    from zhian.sim.scenarios_cases import simulate_cases
    from zhian.sim.timeline import TZ

    planted = simulate_cases(
        seed=seed, start=datetime(2026, 1, 1, tzinfo=TZ), days=days, series=series,
        background_per_day=1.5,
    )  # fmt: skip
    return {c.case_id: c.series for c in planted.cases if c.series is not None}
