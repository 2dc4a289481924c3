"""The one reveal service: permission, purpose, scope, an audit row in the caller's
transaction (nothing committed by the service), and refusals handed on to be audited."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead
from zhian.db.engine import Database
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError
from zhian.governance.context import Governance
from zhian.governance.reveal import (
    Purpose,
    RefusedReveal,
    RevealRead,
    RevealService,
    record_refusal,
)
from zhian.registry.service import RegistryService

from .factories import ZHANG_ID, resident

EVERYWHERE = JurisdictionScope.unscoped()
NOWHERE = JurisdictionScope(root="J9", jurisdiction_ids=frozenset(), community_ids=frozenset())


def officer(role: Role = Role.STATION_OFFICER, **changes: object) -> UserRead:
    fields: dict[str, object] = {
        "id": 7,
        "username": "li.wei",
        "display_name": "Li Wei",
        "role": role,
        "jurisdiction_id": "J1",
        "is_active": True,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fields.update(changes)
    return UserRead.model_validate(fields)


@pytest.fixture
def loaded(db: Database, governance: Governance) -> Database:
    with db.session() as session:
        service = RegistryService(session, clock=governance.clock, identity=governance.sealer)
        report = service.load_rows("residents", [resident("R1", id_number=ZHANG_ID)])
        assert report.rejected == 0
    return db


def service_for(session, governance: Governance, refusals: list[RefusedReveal]) -> RevealService:  # type: ignore[no-untyped-def]
    return RevealService(
        session,
        audit=governance.audit(session),
        refusals=refusals.append,
        sealer=governance.require_sealer(),
    )


def entries(db: Database, governance: Governance, action: str) -> list[str]:
    with db.session() as session:
        return [e.action for e in governance.audit(session).search(action=action)]


def test_a_reveal_is_audited_in_the_callers_transaction_and_never_committed_by_itself(
    loaded: Database, governance: Governance
) -> None:
    refusals: list[RefusedReveal] = []
    with loaded.session() as session:
        service = service_for(session, governance, refusals)
        value = service.reveal(
            officer(), "R1", "id_number", Purpose(case_number="A2026-0042"), scope=EVERYWHERE
        )
        assert value == ZHANG_ID
        # The audit row is in this transaction; rolling it back takes the row with it.
        assert [e.action for e in governance.audit(session).search()] == ["resident.reveal"]
        session.rollback()
    assert entries(loaded, governance, "resident.reveal") == []
    assert refusals == []


def test_refusals_name_permission_purpose_and_field_and_go_to_the_sink(
    loaded: Database, governance: Governance
) -> None:
    refusals: list[RefusedReveal] = []
    with loaded.session() as session:
        service = service_for(session, governance, refusals)
        with pytest.raises(ForbiddenError, match=r"personal_data\.reveal"):
            service.reveal(
                officer(Role.GRID_WORKER), "R1", "phone", Purpose(reason="visit"), scope=EVERYWHERE
            )
        with pytest.raises(ForbiddenError):  # an API token never carries the permission
            service.reveal(
                officer(token_id=3, token_permissions=frozenset({"alerts.view"})),
                "R1",
                "phone",
                Purpose(reason="case work"),
                scope=EVERYWHERE,
            )
        with pytest.raises(BadRequestError, match="state a purpose"):
            service.reveal(officer(), "R1", "phone", Purpose(), scope=EVERYWHERE)
        with pytest.raises(BadRequestError) as unknown:
            service.reveal(officer(), "R1", "shoe_size", Purpose(reason="case"), scope=EVERYWHERE)
        assert unknown.value.field == "field"
        # Outside the reader's scope the resident reads as absent; nothing is disclosed,
        # so nothing is refused either.
        with pytest.raises(NotFoundError):
            service.reveal(officer(), "R1", "phone", Purpose(reason="case work"), scope=NOWHERE)
        assert governance.audit(session).search() == []  # no reveal row for a refusal
    assert [r.error.field for r in refusals] == ["permission", "permission", "purpose", "field"]
    assert {r.read.action for r in refusals} == {"resident.reveal"}
    with loaded.session() as session:
        for refused in refusals:
            record_refusal(governance.audit(session), refused)
    assert entries(loaded, governance, "resident.reveal.refused") == 4 * ["resident.reveal.refused"]


def test_an_audited_read_records_who_what_and_why(loaded: Database, governance: Governance) -> None:
    with loaded.session() as session:
        service = service_for(session, governance, [])
        read = RevealRead("alert_image.read", "image", ("a.jpg",), "10.0.0.1", {"alert_id": 4})
        service.record_read(officer(), read, purpose=Purpose(case_number="A2026-0042"))
        (entry,) = governance.audit(session).search(action="alert_image.read")
    assert (entry.record_ids, entry.ip, entry.case_number) == (["a.jpg"], "10.0.0.1", "A2026-0042")
    assert entry.details == {"alert_id": 4}
