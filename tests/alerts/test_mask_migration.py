"""Migration 0008maskhits: watchlist-plate alerts stored by older versions lose the clear plate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, column, insert, select, table, text

from tests.alerts.test_masked_plates import plain
from tests.registry.factories import SEALER
from zhian.alerts.models import Alert, WebhookDelivery
from zhian.alerts.webhooks import delivery_context
from zhian.db.engine import make_engine
from zhian.db.migrate import upgrade

AT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
# The queue as older versions had it: the message in clear (sealed since #12).
OLD_DELIVERIES = table(
    "webhook_deliveries",
    *(
        column(name)
        for name in (
            "subscription_id",
            "message_type",
            "body",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
        )
    ),
)
# Subscriptions as older versions had them: the secret in clear (sealed since #12).
OLD_SUBSCRIPTIONS = table(
    "webhook_subscriptions",
    *(column(name) for name in ("id", "url", "secret", "is_active", "created_at")),
)
PLATE, MISREAD = "浙A12345", "浙A1Z345"


def _old_hit(alert_id: int, kind: str, title_zh: str, title_en: str, evidence: Any) -> dict:  # type: ignore[type-arg]
    """An alert row as older versions wrote it."""
    return {
        "id": alert_id,
        "rule": "watchlist" if kind.startswith("watchlist") else "alarm",
        "kind": kind,
        "tier": "general",
        "state": "new",
        "key": f"k{alert_id}",
        "active_key": f"k{alert_id}",
        "subject": f"entry:{alert_id}",
        "place_id": "C1",
        "owner_role": "community_officer",
        "title_zh": title_zh,
        "title_en": title_en,
        "evidence": evidence,
        "count": 2,
        "is_breached": False,
        "created_at": AT,
        "first_seen_at": AT,
        "last_seen_at": AT + timedelta(minutes=1),
        "attachments": [],
    }


def _seed_old_rows(engine: Engine) -> None:
    # A repeat with a misread plate updated the evidence; the title kept the first plate.
    evidence = {
        "events": [],
        "images": [],
        "figures": {"plate": MISREAD, "legal_basis_ref": "CASE-2026-0042"},
        "candidates": [{"entry_id": 1, "label": "被盗车辆", "score": 0.9}],
        "explanation_zh": f"布控车辆{MISREAD}经过1号道闸（一位字符可能误识）：被盗车辆",
        "explanation_en": f"watchlisted plate {MISREAD} passed C1-VG1 (one character may be "
        "misread): 被盗车辆",
    }
    alarm = {"events": [], "images": [], "figures": {"level": 2}, "candidates": []}
    body = {
        "type": "alert.created",
        "alert": {
            "id": 1,
            "kind": "watchlist_plate",
            "title_zh": f"布控车辆{PLATE}经过1号道闸：被盗车辆",
        },
        "data": {},
    }
    with engine.begin() as connection:
        connection.execute(
            insert(Alert),
            [
                _old_hit(
                    1,
                    "watchlist_plate",
                    f"布控车辆{PLATE}经过1号道闸：被盗车辆",
                    f"watchlisted plate {PLATE} passed C1-VG1: 被盗车辆",
                    evidence,
                ),
                _old_hit(2, "alarm_fire", "火警 浙A12345 楼下", "fire", alarm),
            ],
        )
        connection.execute(
            insert(OLD_SUBSCRIPTIONS),
            [
                {
                    "id": 1,
                    "url": "http://r.test/h",
                    "secret": "s" * 20,
                    "is_active": True,
                    "created_at": AT,
                }
            ],
        )
        connection.execute(
            insert(OLD_DELIVERIES),
            [
                {
                    "subscription_id": 1,
                    "message_type": "alert.created",
                    "body": json.dumps(body, ensure_ascii=False),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": AT,
                    "created_at": AT,
                }
            ],
        )


@pytest.mark.empty_database
def test_old_watchlist_hits_are_rewritten_to_the_masked_plate(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002alerts")  # the schema of a node from before the masking
        _seed_old_rows(engine)
        # The key ring: a later revision (#12) seals the queued webhook messages.
        upgrade(engine, identity=SEALER)
        with engine.connect() as connection:
            hit, alarm = connection.execute(
                select(Alert.title_zh, Alert.title_en, Alert.evidence).order_by(Alert.id)
            ).all()
            queued = connection.execute(
                select(WebhookDelivery.subscription_id, WebhookDelivery.body_enc)
            ).all()
            raw = "\n".join(
                [plain(v) for row in connection.execute(text("SELECT * FROM alerts")) for v in row]
                + [
                    plain(SEALER.cipher.open_bytes(sealed, delivery_context(subscription)).decode())
                    for subscription, sealed in queued
                ]
            )
    finally:
        engine.dispose()
    title_zh, title_en, evidence = hit
    assert title_zh == "布控车辆浙A***45经过1号道闸：被盗车辆"
    assert title_en == "watchlisted plate 浙A***45 passed C1-VG1: 被盗车辆"
    assert evidence["figures"] == {"plate_masked": "浙A***45", "legal_basis_ref": "CASE-2026-0042"}
    assert evidence["explanation_zh"] == "布控车辆浙A***45经过1号道闸（一位字符可能误识）：被盗车辆"
    assert evidence["candidates"][0]["label"] == "被盗车辆"
    # Only watchlist plate hits are touched: another alert's text is not guessed at.
    assert alarm[0] == "火警 浙A12345 楼下" and alarm[2]["figures"] == {"level": 2}
    hit_text = raw.replace("火警 浙A12345 楼下", "")
    assert PLATE not in hit_text and MISREAD not in hit_text
    assert raw.count("浙A***45") >= 5  # two titles, two sentences, the figure, the webhook body
