"""Enrolled face features on import: checked, canonical, sealed, and resealed on rotation."""

from __future__ import annotations

import base64
import struct

import pytest
from sqlalchemy import select, text

from zhian.config import GovernanceSettings
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.governance.crypto import FieldCipher, key_id_of
from zhian.governance.identity import reseal_all
from zhian.kit.clock import ManualClock
from zhian.registry.models import Resident
from zhian.registry.service import ImportReport, RegistryService

from .factories import FIXED_RING

HOUSE = "H0101-101"  # a house of the fixture district


def feature(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode("ascii")


GOOD = [((i * 37) % 11 - 5) / 10 for i in range(128)]


@pytest.fixture
def governance(clock: ManualClock) -> Governance:
    # The ring the district's cards and plates were sealed with (tests/registry/conftest.py).
    return Governance(GovernanceSettings(), clock, FIXED_RING)


def load(db: Database, governance: Governance | None, *cells: str) -> ImportReport:
    rows = [
        {"id": f"RF{n}", "house_id": HOUSE, "birth_year": 1980, "face_feature": value}
        for n, value in enumerate(cells, start=1)
    ]
    with db.session() as session:
        sealer = governance.sealer if governance is not None else None
        return RegistryService(session, identity=sealer).load_rows("residents", rows)


def test_a_feature_is_stored_sealed_and_reads_back_canonical(
    district_db: Database, governance: Governance
) -> None:
    clean = feature(GOOD)
    # Spreadsheets wrap long cells: blanks inside the base64 are not part of it.
    report = load(district_db, governance, clean[:40] + "\n " + clean[40:])
    assert (report.inserted, report.rejected) == (1, 0)
    with district_db.engine.connect() as connection:
        sealed = connection.execute(
            text("SELECT face_feature_enc FROM residents WHERE id = 'RF1'")
        ).scalar_one()
    assert clean.encode() not in bytes(sealed)
    assert governance.sealer is not None
    opened = governance.sealer.open("residents", "face_feature_enc", "RF1", bytes(sealed))
    assert opened == clean
    again = load(district_db, governance, clean)
    assert (again.unchanged, again.updated) == (1, 0)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        (feature(GOOD[:100]), "has 100 values; expected 128 to 512"),
        (feature([float("nan"), *GOOD[1:]]), "not a finite number"),
        (feature([float("inf"), *GOOD[1:]]), "not a finite number"),
        (feature([0.0] * 128), "all zeros"),
        ("not*base64", "is not valid base64"),
        (base64.b64encode(b"\x00" * 513).decode(), "not a whole number of float32"),
    ],
)
def test_a_bad_feature_rejects_its_row_with_the_reason(
    district_db: Database, governance: Governance, cell: str, reason: str
) -> None:
    report = load(district_db, governance, cell, feature(GOOD))
    assert (report.inserted, report.rejected) == (1, 1)
    [error] = report.errors
    assert (error.row, error.column) == (2, "face_feature")
    assert reason in error.reason


def test_a_feature_without_a_key_ring_is_refused_not_stored_in_clear(
    district_db: Database,
) -> None:
    report = load(district_db, None, feature(GOOD))
    assert report.rejected == 1
    assert report.errors[0].column == "face_feature"
    assert "zhian keys init" in report.errors[0].reason
    with district_db.session() as session:
        assert session.get(Resident, "RF1") is None


def test_key_rotation_reseals_enrolled_features(
    district_db: Database, governance: Governance
) -> None:
    load(district_db, governance, feature(GOOD))
    assert governance.ring is not None
    rotated = governance.ring.with_new_active()
    with district_db.session() as session:
        counts = reseal_all(session, FieldCipher(rotated))
    assert counts["residents.face_feature_enc"] == 1
    with district_db.session() as session:
        resident = session.get(Resident, "RF1")
        assert resident is not None and resident.face_feature_enc is not None
        opened = FieldCipher(rotated).open(
            resident.face_feature_enc, "residents.face_feature_enc:RF1"
        )
        # The district's card references (issue #12) are resealed in the same pass.
        carded = [r for r in session.scalars(select(Resident)) if r.card_ref_enc is not None]
        assert carded and counts["residents.card_ref_enc"] == len(carded)
        assert all(key_id_of(r.card_ref_enc) == rotated.active for r in carded if r.card_ref_enc)
    assert opened == feature(GOOD)
