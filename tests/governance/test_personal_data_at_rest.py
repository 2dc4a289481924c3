"""Personal data at rest (#12): after a demo-like load, no card reference or plate lies in
clear anywhere in the operational database, and no capture image lies in clear in blobs/.

The scans test the class, not the instance: every text and binary value of every column
of every table, and the raw bytes of the database file and of every blob, are searched for
every card reference and plate the load wrote.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import struct
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from tests.conftest import CST, REAL_UPGRADE
from tests.ingest.ferry.conftest import image_bytes
from tests.registry.factories import SEALER
from zhian.access.scope import JurisdictionScope
from zhian.config import load_settings
from zhian.db.engine import make_engine
from zhian.db.migrate import alembic_config
from zhian.governance.masking import mask_plate
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.schemas import ENTITY_ORDER
from zhian.registry.service import RegistryService
from zhian.sim import build_district
from zhian.watchlists.demo import seed_demo_watchlist, watched_cars
from zhian.watchlists.schemas import LegalBasisKind, WatchlistEntryCreate, WatchTarget

START = datetime(2026, 11, 20, 9, 0, tzinfo=CST)
# The revisions of #12 that seal what was held in clear; the old database stops before.
PII_REVISIONS = frozenset(
    {
        "0012piiatrest",
        "0013quarantinesealed",
        "0014viidsealed",
        "0015watchlistpersons",
        "0016viidsubsealed",
        "0017webhooksealed",
        "0018livesealed",
        "0019notessealed",
        "0019hooksecretsealed",
    }
)


def clear_values_in_database(path: Path, secrets: set[str]) -> list[str]:
    """Where any of `secrets` appears in clear: `table.column` of a cell, or the file."""
    found: list[str] = []
    with sqlite3.connect(path) as connection:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info('{table}')")]
            for column in columns:
                for (value,) in connection.execute(f'SELECT "{column}" FROM "{table}"'):
                    text = _as_text(value)
                    if text is not None and any(secret in text for secret in secrets):
                        found.append(f"{table}.{column}")
                        break
    raw = b"".join(
        part.read_bytes() for part in path.parent.glob(path.name + "*") if part.is_file()
    )
    found.extend(f"file:{s}" for s in secrets if s.encode("utf-8") in raw)
    return found


def _as_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return None


def test_no_card_or_plate_in_clear_in_the_database_and_no_clear_capture_in_blobs(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "node"
    clock = ManualClock(START)
    district = build_district(seed=7, scale=0.2)
    cards = {str(r["card_ref"]) for r in district.tables["residents"] if r["card_ref"]}
    plates = {str(r["plate"]) for r in district.tables["vehicles"]}
    assert cards and plates
    images = [image_bytes((n, 2 * n, 3)) for n in range(1, 4)]
    community = next(
        str(row["id"]) for row in district.tables["jurisdictions"] if row["level"] == "community"
    )
    with Node.open(load_settings(workspace), clock, feed=False) as node:
        with node.db.session() as session:
            registry = RegistryService(session, clock=clock, identity=node.governance.sealer)
            for entity in ENTITY_ORDER:
                report = registry.load_rows(entity, district.tables.get(entity, []))
                assert report.rejected == 0, report.errors[:3]
            people = registry.residents(scope=JurisdictionScope.unscoped())
        seed_demo_watchlist(node, district, user_id=1, jurisdiction_id=community)
        # A watched person with a face feature too: reference and feature are sealed.
        watched_person = "FC-CLUSTER-0042"  # a face cluster (a resident's id is no secret)
        feature = base64.b64encode(struct.pack("<128f", *[i / 128 for i in range(128)]))
        with node.watchlists() as watchlists:
            watchlists.add(
                WatchlistEntryCreate(
                    target=WatchTarget.PERSON,
                    subject_ref=watched_person,
                    feature=feature.decode(),
                    label="missing person",
                    legal_basis_kind=LegalBasisKind.MISSING_PERSON,
                    legal_basis_ref="MP-2026-0001",
                    jurisdiction_id=community,
                    expires_at=START + timedelta(days=30),
                ),
                user_id=1,
            )
        # Refused input naming a card and a plate: the quarantine keeps it, sealed.
        card, plate = sorted(cards)[0], sorted(plates)[0]
        refused = [
            f'{{"type": "vehicle", "id": "q1", "device_id": "NO-SUCH-GATE", "time": '
            f'"2026-11-20T09:00:00+08:00", "plate": "{plate}", "plate_color": "blue", '
            f'"direction": "in"}}'.encode(),
            f'{{"type": "access", "id": "q2", "device_id": "NO-DOOR", "card": "{card}"}}'.encode(),
        ]
        result = node.intake.submit_raw(
            refused, source="native", sender_id=None, content_type="application/json"
        )
        assert result.rejected == 2
        held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
        # Opened for a reader (masked on pages, clear only through an audited reveal).
        assert sorted(item.raw for item in held) == sorted(refused)
        refs = [node.images.save(data, "image/png") for data in images]
        # Read back for an authorised use, the images are whole again.
        assert [node.images.read(ref) for ref in refs] == images
        with node.watchlists() as watchlists:
            listed = watchlists.list_entries()
            matcher = watchlists.matcher(plate_tolerance=0, face_threshold=0.9)
    # What readers see is masked; what the matcher matches is the plate itself.
    listed = [entry for entry in listed if entry.target == "plate"]
    assert listed and all(entry.plate and "*" in entry.plate for entry in listed)
    watched = [car.plate for car in watched_cars(district, community)]
    assert all(matcher.match_plate(plate, clock.now()) for plate in watched)
    assert {entry.plate for entry in listed} == {mask_plate(plate) for plate in watched}
    assert all(p.card_ref is None or "*" in p.card_ref for p in people)

    secrets = cards | plates | {watched_person, feature.decode()[:40]}
    assert clear_values_in_database(workspace / "zhian.db", secrets) == []
    assert matcher.match_subject(watched_person, clock.now())
    blobs = [path for path in (workspace / "blobs").rglob("*") if path.is_file()]
    assert len(blobs) == len(images)
    for path in blobs:
        stored = path.read_bytes()
        assert not stored.startswith((b"\x89PNG", b"\xff\xd8")), path
        assert all(image[16:48] not in stored for image in images), path


def _heads_before_pii() -> list[str]:
    return heads_before(PII_REVISIONS)


def heads_before(revisions: frozenset[str]) -> list[str]:
    """The heads of a schema just before `revisions` (heads of the current one)."""
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    heads = set(script.get_heads())
    # Below the revisions: their parents (and what they depend on) are the old heads.
    while found := heads & revisions:
        for revision in found:
            heads.discard(revision)
            below = script.get_revision(revision)
            assert below is not None and isinstance(below.down_revision, str)
            heads.add(below.down_revision)
            needed = below.dependencies or ()
            heads.update([needed] if isinstance(needed, str) else needed)
    return sorted(heads)


@pytest.fixture
def old_database(tmp_path: Path) -> sa.Engine:
    """A database at the schema before #12, holding a card and plates in clear."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config(engine)
    for head in _heads_before_pii():
        command.upgrade(config, head)
    statements = [
        "INSERT INTO jurisdictions (id, parent_id, level, name) VALUES ('J', NULL, 'station', 'J')",
        "INSERT INTO communities (id, jurisdiction_id, name, kind, latitude, longitude) "
        "VALUES ('C', 'J', 'C', 'gated', 30.0, 120.0)",
        "INSERT INTO buildings (id, community_id, name, floors, latitude, longitude) "
        "VALUES ('B', 'C', 'B', 6, 30.0, 120.0)",
        "INSERT INTO units (id, building_id, name) VALUES ('U', 'B', 'U')",
        "INSERT INTO houses (id, unit_id, number, area_m2, registered_use) "
        "VALUES ('H', 'U', '101', 80.0, 'rented')",
        "INSERT INTO residents (id, house_id, birth_year, is_floating, card_ref) "
        "VALUES ('R1', 'H', 1980, 0, 'CARD-0001')",
        "INSERT INTO vehicles (id, plate, plate_color, vehicle_class, community_id, owner_id) "
        "VALUES ('V1', '浙A12345', 'blue', 'car', 'C', 'R1')",
        "INSERT INTO watchlist_entries (target, plate, label, legal_basis_kind, "
        "legal_basis_ref, owner_user_id, jurisdiction_id, tier, created_at, expires_at) "
        "VALUES ('plate', '浙B54321', 'x', 'stolen_vehicle', 'BD-1', 1, 'J', 'major', "
        "'2026-01-01 00:00:00', '2099-01-01 00:00:00')",
        "INSERT INTO watchlist_entries (target, subject_ref, feature, label, legal_basis_kind, "
        "legal_basis_ref, owner_user_id, jurisdiction_id, tier, created_at, expires_at) "
        "VALUES ('person', 'FC-OLD-0001', 'AAAAAA==', 'x', 'missing_person', 'MP-1', 1, 'J', "
        "'major', '2026-01-01 00:00:00', '2099-01-01 00:00:00')",
        "INSERT INTO quarantine_items (received_at, source, content_type, raw, reasons, "
        "reason_code, status) VALUES ('2026-01-01 00:00:00', 'native', 'application/json', "
        "X'7b22706c617465223a2022e6b599433131313131227d', '[]', 'invalid', 'held')",
        "INSERT INTO viid_subscriptions (id, subscriber_id, details, device_ids, receive_addr, "
        "report_interval_seconds, image_declare, status, body, cursor_seq, created_at, "
        "updated_at, pushed_objects) VALUES ('S1', 'P1', '12', '', 'http://127.0.0.1/x', 5, "
        '\'11\', 0, \'{"Title": "t", "ApplicantName": "赵申请"}\', 0, '
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 0)",
        "INSERT INTO webhook_subscriptions (id, url, secret, is_active, created_at) "
        "VALUES (7, 'http://127.0.0.1/hook', 'ssssssssssssssssssss', 1, '2026-01-01 00:00:00')",
        "INSERT INTO webhook_deliveries (subscription_id, message_type, body, status, attempts, "
        "next_attempt_at, created_at) VALUES (7, 'procedure.skipped', "
        '\'{"data": {"reason": "13912345678"}}\', \'pending\', 0, '
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        "INSERT INTO live_messages (id, published_at, body) VALUES (5, '2026-01-01 00:00:00', "
        '\'{"data": {"reason": "13800001111"}}\')',
        # What officers typed about an alert: a note, a skipped step's reason, feedback.
        "INSERT INTO alerts (id, rule, kind, tier, state, key, subject, place_id, owner_role, "
        "title_zh, title_en, evidence, count, is_breached, created_at, first_seen_at, "
        "last_seen_at, attachments, feedback) VALUES (3, 'r', 'alarm_fire', 'major', "
        "'handled', 'k', 's', 'C', 'community_officer', 't', 't', '{}', 1, 0, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00', '[]', "
        "'住户钱多多已安置')",
        "INSERT INTO alert_actions (alert_id, action, note, at, data) VALUES "
        "(3, 'sign', '电话13655556666', '2026-01-01 00:00:00', '{}'), "
        "(3, 'created', '', '2026-01-01 00:00:00', '{}')",
        "INSERT INTO alert_procedure_steps (alert_id, step, status, reason, at) VALUES "
        "(3, 'evacuate', 'skipped', '孙某不在', '2026-01-01 00:00:00')",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    return engine


def test_the_upgrade_seals_cards_and_plates_of_an_older_database(
    old_database: sa.Engine, tmp_path: Path
) -> None:
    REAL_UPGRADE(old_database, identity=SEALER)
    with old_database.connect() as connection:
        card = connection.execute(
            sa.text("SELECT card_ref_token, card_ref_enc, card_ref_masked FROM residents")
        ).one()
        plate = connection.execute(
            sa.text("SELECT plate_token, plate_enc, plate_masked FROM vehicles")
        ).one()
        watched = connection.execute(
            sa.text(
                "SELECT plate_token, plate_enc, plate_masked FROM watchlist_entries "
                "WHERE target = 'plate'"
            )
        ).one()
        person = connection.execute(
            sa.text(
                "SELECT id, subject_token, subject_enc, subject_masked, feature_enc "
                "FROM watchlist_entries WHERE target = 'person'"
            )
        ).one()
    assert card[0] == SEALER.token("subject", "CARD-0001")
    assert SEALER.open("residents", "card_ref_enc", "R1", card[1]) == "CARD-0001"
    assert plate[0] == SEALER.token("plate", "浙A12345") and plate[2] == "浙A***45"
    assert SEALER.open("vehicles", "plate_enc", "V1", plate[1]) == "浙A12345"
    assert SEALER.open("watchlist_entries", "plate_enc", watched[0], watched[1]) == "浙B54321"
    assert person[1] == SEALER.token("subject", "FC-OLD-0001") and person[3] == "F********01"
    assert SEALER.open("watchlist_entries", "subject_enc", person[1], person[2]) == "FC-OLD-0001"
    assert SEALER.open("watchlist_entries", "feature_enc", str(person[0]), person[4]) == "AAAAAA=="
    with old_database.connect() as connection:
        item_id, raw = connection.execute(sa.text("SELECT id, raw_enc FROM quarantine_items")).one()
    opened = SEALER.cipher.open_bytes(raw, f"quarantine_items.raw_enc:{item_id}")
    assert opened == '{"plate": "浙C11111"}'.encode()
    with old_database.connect() as connection:
        subscription = connection.execute(
            sa.text("SELECT body_enc FROM viid_subscriptions WHERE id = 'S1'")
        ).scalar_one()
    body = SEALER.cipher.open_bytes(subscription, "viid_subscriptions.body_enc:S1")
    assert json.loads(body) == {"Title": "t", "ApplicantName": "赵申请"}
    with old_database.connect() as connection:
        queued = connection.execute(sa.text("SELECT body_enc FROM webhook_deliveries")).scalar_one()
    message = SEALER.cipher.open_bytes(queued, "webhook_deliveries.body_enc:7")
    assert json.loads(message) == {"data": {"reason": "13912345678"}}
    with old_database.connect() as connection:
        kept = connection.execute(sa.text("SELECT body_enc FROM live_messages")).scalar_one()
    live = SEALER.cipher.open_bytes(kept, "live_messages.body_enc:5")
    assert json.loads(live) == {"data": {"reason": "13800001111"}}
    with old_database.connect() as connection:
        secret = connection.execute(
            sa.text("SELECT secret_enc FROM webhook_subscriptions WHERE id = 7")
        ).scalar_one()
        feedback = connection.execute(sa.text("SELECT feedback_enc FROM alerts")).scalar_one()
        notes = connection.execute(
            sa.text("SELECT action, note_enc FROM alert_actions ORDER BY action")
        ).all()
        reason = connection.execute(
            sa.text("SELECT reason_enc FROM alert_procedure_steps")
        ).scalar_one()
    opened_secret = SEALER.cipher.open_bytes(secret, "webhook_subscriptions.secret_enc:7")
    assert opened_secret == b"ssssssssssssssssssss"
    assert (
        SEALER.cipher.open_bytes(feedback, "alerts.feedback_enc:3").decode() == "住户钱多多已安置"
    )
    assert notes[0] == ("created", None)  # nothing typed: nothing to seal
    opened_note = SEALER.cipher.open_bytes(notes[1][1], "alert_actions.note_enc:3")
    assert opened_note.decode() == "电话13655556666"
    opened_reason = SEALER.cipher.open_bytes(reason, "alert_procedure_steps.reason_enc:3")
    assert opened_reason.decode() == "孙某不在"
    old_database.dispose()
    found = clear_values_in_database(
        tmp_path / "old.db",
        {
            "CARD-0001",
            "浙A12345",
            "浙B54321",
            "浙C11111",
            "FC-OLD-0001",
            "赵申请",
            "13912345678",
            "13800001111",
            "ssssssssssssssssssss",
            "钱多多",
            "13655556666",
            "孙某",
        },
    )
    # The file may keep freed pages of the rebuilt tables; every live cell is clear-free.
    assert [place for place in found if not place.startswith("file:")] == []


def test_the_upgrade_refuses_clear_data_without_a_key_ring(old_database: sa.Engine) -> None:
    with pytest.raises(RuntimeError, match="no key ring was given"):
        REAL_UPGRADE(old_database)
    inspector = sa.inspect(old_database)
    # Nothing half-done: the clear columns are still there to convert with the ring.
    assert "card_ref" in {c["name"] for c in inspector.get_columns("residents")}
