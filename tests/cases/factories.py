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
) -> CaseService:
    return CaseService(
        session,
        clock=clock,
        settings=settings or CaseSettings(),
        scope=scope or JurisdictionScope.unscoped(),
        tokeniser=Tokeniser(TOKEN_KEY) if tokens else None,
    )
