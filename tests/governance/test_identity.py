"""Identity fields on import: validated, sealed, tokenised; revealed only with a purpose."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead
from zhian.audit.service import AuditService
from zhian.config import GovernanceSettings
from zhian.db.engine import Database
from zhian.errors import BadRequestError, ConfigurationError, ForbiddenError, NotFoundError
from zhian.governance.context import Governance
from zhian.governance.crypto import DecryptionError, key_id_of
from zhian.governance.identity import key_census, reseal_all
from zhian.governance.reveal import Purpose, RefusedReveal, RevealService
from zhian.kit.clock import ManualClock
from zhian.registry.models import Resident
from zhian.registry.service import ImportReport, RegistryService

from .factories import LI_ID, ZHANG_ID, resident

EVERYWHERE = JurisdictionScope.unscoped()


def load(db: Database, governance: Governance, rows: list[dict[str, object]]) -> ImportReport:
    with db.session() as session:
        service = RegistryService(session, clock=governance.clock, identity=governance.sealer)
        return service.load_rows("residents", rows)


def user(role: Role, *, user_id: int = 7, active: bool = True) -> UserRead:
    return UserRead(
        id=user_id,
        username="li.wei",
        display_name="Li Wei",
        role=role,
        jurisdiction_id="J1",
        is_active=active,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def reveal_service(  # type: ignore[no-untyped-def]
    session, governance: Governance, refusals: list[RefusedReveal] | None = None
) -> RevealService:
    return RevealService(
        session,
        sealer=governance.require_sealer(),
        audit=governance.audit(session),
        refusals=(refusals if refusals is not None else []).append,
    )


def test_identity_cells_are_sealed_and_tokenised(db: Database, governance: Governance) -> None:
    report = load(
        db,
        governance,
        [resident("R1", name="张三", id_number=ZHANG_ID.lower(), phone="+86 138 1234 5678")],
    )
    assert (report.inserted, report.rejected) == (1, 0)

    with db.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM residents WHERE id = 'R1'")).mappings().one()
    stored = b"".join(bytes(row[c]) for c in ("name_enc", "id_number_enc", "phone_enc"))
    for clear in ("张三".encode(), ZHANG_ID.encode(), b"13812345678", b"5678"):
        assert clear not in stored
    assert row["id_number_token"] == governance.tokeniser().token("id_number", ZHANG_ID)
    with db.session() as session:
        masked = reveal_service(session, governance).masked("R1", scope=EVERYWHERE)
    assert (masked.name, masked.id_number, masked.phone) == (
        "张*",
        "1101**********" + ZHANG_ID[-4:],
        "138****5678",
    )


def test_reimport_is_unchanged_and_a_change_is_resealed(
    db: Database, governance: Governance
) -> None:
    row = resident("R1", name="张三", id_number=ZHANG_ID, phone="13812345678")
    load(db, governance, [row])
    again = load(db, governance, [row])
    assert (again.unchanged, again.updated) == (1, 0)

    moved = load(db, governance, [{**row, "phone": "13900001111", "id_number": LI_ID}])
    assert moved.updated == 1
    with db.session() as session:
        stored = session.get(Resident, "R1")
        assert stored is not None
        assert stored.id_number_token == governance.tokeniser().token("id_number", LI_ID)
        assert (
            reveal_service(session, governance).masked("R1", scope=EVERYWHERE).phone
            == "139****1111"
        )


def test_invalid_identity_cells_are_rejected_with_reasons(
    db: Database, governance: Governance
) -> None:
    bad_check = ZHANG_ID[:-1] + ("0" if ZHANG_ID[-1] != "0" else "1")
    report = load(
        db,
        governance,
        [
            resident("R1", id_number=bad_check, phone="12345"),
            resident("R2", name="张3", birth_year=1700),
        ],
    )
    assert report.rejected == 2
    reasons = [(e.row, e.column, e.reason) for e in report.errors]
    assert reasons == [
        (2, "id_number", f"check character is {bad_check[-1]}, expected {ZHANG_ID[-1]} (GB 11643)"),
        (2, "phone", "must have 11 digits, got 5"),
        (3, "birth_year", "must be at least 1900"),
        (3, "name", "must not contain digits"),
    ]


def test_identity_cells_without_a_key_ring_are_refused_not_stored_in_clear(
    db: Database, clock: ManualClock
) -> None:
    keyless = Governance(GovernanceSettings(), clock, None)
    report = load(db, keyless, [resident("R1", phone="13812345678"), resident("R2", phone="")])
    assert report.inserted == 1
    assert [(e.row, e.column) for e in report.errors] == [(2, "phone")]
    assert "zhian keys init" in report.errors[0].reason
    with pytest.raises(ConfigurationError, match="no key ring"):
        keyless.require_sealer()


def test_reveal_needs_a_permitted_role_and_a_purpose_and_is_audited(
    db: Database, governance: Governance
) -> None:
    load(db, governance, [resident("R1", name="张三", id_number=ZHANG_ID, phone="13812345678")])
    with db.session() as session:
        service = reveal_service(session, governance)
        with pytest.raises(ForbiddenError, match="grid_worker"):
            service.reveal(
                user(Role.GRID_WORKER),
                "R1",
                "phone",
                Purpose(reason="welfare visit"),
                scope=EVERYWHERE,
            )
        with pytest.raises(ForbiddenError):
            service.reveal(
                user(Role.AUDITOR), "R1", "phone", Purpose(case_number="A2026-01"), scope=EVERYWHERE
            )
        with pytest.raises(BadRequestError, match="state a purpose"):
            service.reveal(
                user(Role.STATION_OFFICER), "R1", "phone", Purpose(reason="  "), scope=EVERYWHERE
            )
        with pytest.raises(BadRequestError, match="at least 4 characters"):
            service.reveal(
                user(Role.STATION_OFFICER), "R1", "phone", Purpose(reason="why"), scope=EVERYWHERE
            )
        with pytest.raises(NotFoundError, match="unknown resident"):
            service.reveal(
                user(Role.STATION_OFFICER),
                "R9",
                "phone",
                Purpose(reason="case work"),
                scope=EVERYWHERE,
            )
        value = service.reveal(
            user(Role.STATION_OFFICER),
            "R1",
            "id_number",
            Purpose(case_number="A2026-0042", reason="burglary witness"),
            scope=EVERYWHERE,
            ip="127.0.0.1",
        )
        assert value == ZHANG_ID
    with db.session() as session:
        audit = governance.audit(session)
        (entry,) = audit.search(action="resident.reveal")
        assert audit.verify().ok
    assert (entry.actor_type, entry.actor_id, entry.record_ids) == ("user", "7", ["R1"])
    assert (entry.case_number, entry.purpose, entry.ip) == (
        "A2026-0042",
        "burglary witness",
        "127.0.0.1",
    )
    assert entry.details["field"] == "id_number"
    assert ZHANG_ID not in str(entry.model_dump())


def test_a_sealed_value_moved_to_another_resident_does_not_open(
    db: Database, governance: Governance
) -> None:
    load(db, governance, [resident("R1", phone="13812345678"), resident("R2", phone="13900001111")])
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE residents SET phone_enc = "
                "(SELECT phone_enc FROM residents WHERE id = 'R1') WHERE id = 'R2'"
            )
        )
    with db.session() as session, pytest.raises(DecryptionError, match=r"residents\.phone_enc:R2"):
        reveal_service(session, governance).masked("R2", scope=EVERYWHERE)


def test_rotation_reseals_every_value_under_the_new_key(
    db: Database, governance: Governance, clock: ManualClock
) -> None:
    load(
        db,
        governance,
        [
            resident("R1", name="张三", phone="13812345678", card_ref="CARD-0001"),
            resident("R2", name="李四"),
        ],
    )
    assert governance.ring is not None
    rotated = Governance(governance.settings, clock, governance.ring.with_new_active())
    with db.session() as session:
        assert key_census(session) == {"k1": 4}
        assert reseal_all(session, rotated.require_sealer().cipher) == {
            "residents.name_enc": 2,
            "residents.id_number_enc": 0,
            "residents.phone_enc": 1,
            "residents.face_feature_enc": 0,
            "identifier_vault.sealed": 0,
            "residents.card_ref_enc": 1,
            "vehicles.plate_enc": 0,
            "watchlist_entries.plate_enc": 0,
            "watchlist_entries.subject_enc": 0,
            "watchlist_entries.feature_enc": 0,
            "quarantine_items.raw_enc": 0,
            "viid_objects.body_enc": 0,
            "viid_subscriptions.body_enc": 0,
            "webhook_deliveries.body_enc": 0,
            "live_messages.body_enc": 0,
            "viid_upper_outbox.payload_enc": 0,
            "alerts.feedback_enc": 0,
            "alert_actions.note_enc": 0,
            "alert_procedure_steps.reason_enc": 0,
            "webhook_subscriptions.secret_enc": 0,
            "tips.contact_enc": 0,
            "tips.description_enc": 0,
            "case_links.note_enc": 0,
        }
        assert key_census(session) == {"k2": 4}
    with db.session() as session:
        phone = session.scalar(select(Resident.phone_enc).where(Resident.id == "R1"))
        assert phone is not None and key_id_of(phone) == "k2"
        masked = reveal_service(session, rotated).masked("R1", scope=EVERYWHERE)
        assert masked.name == "张*"
        assert isinstance(rotated.audit(session), AuditService)


def test_a_resident_outside_the_readers_scope_reads_as_unknown_and_nothing_is_audited(
    db: Database, governance: Governance
) -> None:
    load(db, governance, [resident("R1", name="张三", id_number=ZHANG_ID, phone="13812345678")])
    elsewhere = JurisdictionScope(
        root="J2", jurisdiction_ids=frozenset({"J2"}), community_ids=frozenset({"C2"})
    )
    home = JurisdictionScope(
        root="J1", jurisdiction_ids=frozenset({"J1"}), community_ids=frozenset({"C1"})
    )
    officer = user(Role.STATION_OFFICER)
    purpose = Purpose(case_number="A2026-0042")
    with db.session() as session:
        service = reveal_service(session, governance)
        with pytest.raises(NotFoundError, match="unknown resident 'R1'"):
            service.reveal(officer, "R1", "phone", purpose, scope=elsewhere)
        with pytest.raises(NotFoundError, match="unknown resident 'R1'"):
            service.masked("R1", scope=elsewhere)
        assert governance.audit(session).search(action="resident.reveal") == []
        # The same officer placed over the resident's community may reveal.
        assert service.reveal(officer, "R1", "phone", purpose, scope=home) == "13812345678"


def test_every_sealed_column_names_a_real_table_and_column() -> None:
    # Some sealed columns are named, not imported (a domain above governance owns them).
    from sqlalchemy import Table

    from zhian.db.base import Base
    from zhian.governance.identity import SEALED_COLUMNS

    tables: dict[str, Table] = {
        name: table for name, table in Base.metadata.tables.items() if isinstance(table, Table)
    }
    for sealed in SEALED_COLUMNS:
        model = tables[sealed.table]
        names = [sealed.key.name, sealed.column.name, *(c.name for c in sealed.context_columns)]
        assert all(name in model.c for name in names), sealed.label
