"""Migration 0012wllabels: identifiers typed into watchlist labels and reasons, and copied
into the titles and evidence of their hits, are masked in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select, text

from tests.alerts.test_mask_migration import _old_hit
from tests.registry.factories import SEALER
from zhian.alerts.models import Alert
from zhian.db.engine import make_engine
from zhian.db.migrate import upgrade
from zhian.governance.masking import identifiers_in, mask_identifiers
from zhian.watchlists.schemas import LegalBasisKind, WatchlistEntryCreate, WatchTarget

AT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
LABEL = "被盗车辆 浙A08472 车主13812345678"
MASKED = "被盗车辆 浙A***72 车主138****5678"


def test_identifiers_in_free_text_are_found_and_masked_but_case_numbers_are_not() -> None:
    assert identifiers_in(LABEL) == [("plate", "浙A08472"), ("phone", "13812345678")]
    assert mask_identifiers(LABEL) == MASKED
    assert identifiers_in("身份证330102199001011234") == [("id_number", "330102199001011234")]
    for clean in ("案件 A2026-0042", "DEMO-2026-0001", "BD-2026-001", "被盗车辆", "浙A***72"):
        assert identifiers_in(clean) == [], clean


def test_an_entry_label_with_an_identifier_is_refused_naming_the_label() -> None:
    with pytest.raises(ValidationError) as refused:
        WatchlistEntryCreate(
            target=WatchTarget.PLATE,
            label=LABEL,
            plate="浙A08472",
            legal_basis_kind=LegalBasisKind.STOLEN_VEHICLE,
            legal_basis_ref="BD-2026-001",
            jurisdiction_id="J1",
            expires_at=AT + timedelta(days=30),
        )
    [error] = refused.value.errors()
    assert error["loc"] == ("label",) and "浙A***72" in error["msg"]
    assert "浙A08472" not in error["msg"]


@pytest.mark.empty_database
def test_stored_labels_reasons_and_hits_are_masked(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002alerts")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO watchlist_entries (id, target, plate, label, legal_basis_kind, "
                    "legal_basis_ref, owner_user_id, jurisdiction_id, tier, created_at, "
                    "expires_at, withdraw_reason) VALUES (1, 'plate', '浙A08472', :label, "
                    "'stolen_vehicle', 'BD-2026-001', 1, 'J1', 'general', :at, :until, :reason)"
                ),
                {
                    "label": LABEL,
                    "at": AT,
                    "until": AT + timedelta(days=30),
                    "reason": "找回，联系 330102199001011234",
                },
            )
            evidence = {
                "events": [],
                "images": [],
                "figures": {"plate_masked": "浙A***72"},
                "explanation_zh": f"布控车辆浙A***72经过1号道闸：{LABEL}",
                "candidates": [{"entry_id": 1, "label": LABEL, "score": 0.9}],
            }
            connection.execute(
                insert(Alert),
                [
                    _old_hit(
                        1,
                        "watchlist_plate",
                        f"布控车辆浙A***72经过1号道闸：{LABEL}",
                        f"watchlisted plate 浙A***72 passed C1-VG1: {LABEL}",
                        evidence,
                    )
                ],
            )
        # Every later migration too: the plate itself is sealed with the workspace's key ring.
        upgrade(engine, identity=SEALER)
        with engine.connect() as connection:
            label, reason = connection.execute(
                text("SELECT label, withdraw_reason FROM watchlist_entries")
            ).one()
            title_zh, title_en, stored = connection.execute(
                select(Alert.title_zh, Alert.title_en, Alert.evidence)
            ).one()
    finally:
        engine.dispose()
    assert label == MASKED and reason == "找回，联系 3301**********1234"
    assert title_zh == f"布控车辆浙A***72经过1号道闸：{MASKED}"
    assert title_en.endswith(MASKED)
    assert stored["explanation_zh"].endswith(MASKED)
    assert stored["candidates"][0]["label"] == MASKED
