"""mask watchlist hits: stored watchlist-plate alerts lose their clear plates

Revision ID: 0008maskhits
Revises: 0001
Create Date: 2026-11-22 04:00:00

Older versions wrote the plate of a watchlist hit in the clear into the alert's title,
its evidence sentences and its figures (`plate`), and into the bodies of the webhook
deliveries queued for it. This data migration rewrites those rows to the masked form
(浙A***45) and drops the clear plate.

The plate's token cannot be added here: it is a keyed HMAC, and the key ring lives
outside the database (a key file or the environment, read by the node, never by a
migration). So migrated alerts keep `plate_masked` without `plate_token`, and their
plate cannot be revealed from the alert; alerts raised since carry both. The downgrade
does nothing: the clear plates are gone for good, which is the point.
"""

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008maskhits"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# Its own branch, but the tables it rewrites are made by the alerts migration.
depends_on: str | Sequence[str] | None = "0002alerts"

_KIND = "watchlist_plate"
_CHUNK = 500
# The sentences older versions wrote: "布控车辆浙A12345经过…", "watchlisted plate 浙A12345 passed".
_SENTENCES = (re.compile(r"布控车辆(\S+?)经过"), re.compile(r"watchlisted plate (\S+) passed"))

_alerts = sa.table(
    "alerts",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("title_zh", sa.String()),
    sa.column("title_en", sa.String()),
    sa.column("evidence", sa.JSON()),
)
_deliveries = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.Integer()),
    sa.column("body", sa.Text()),
)


def _mask(plate: str) -> str:
    """京A***45, as zhian.governance.masking.mask_plate (copied: a migration stays fixed)."""
    if len(plate) <= 4:
        return "*" * len(plate)
    return plate[:2] + "*" * (len(plate) - 4) + plate[-2:]


def _plates_in(texts: Iterable[object]) -> set[str]:
    found = set()
    for text in texts:
        if isinstance(text, str):
            for sentence in _SENTENCES:
                found.update(sentence.findall(text))
    return {plate for plate in found if "*" not in plate}


def _masked(text: str, plates: set[str]) -> str:
    # Longest first, so a plate inside a longer one is not masked half-way.
    for plate in sorted(plates, key=len, reverse=True):
        text = text.replace(plate, _mask(plate))
    return text


def _masked_evidence(evidence: dict[str, Any], plates: set[str]) -> dict[str, Any]:
    out = dict(evidence)
    figures = dict(out.get("figures") or {})
    clear = figures.pop("plate", None)
    if isinstance(clear, str) and clear:
        figures["plate_masked"] = _mask(clear)
    elif plates and "plate_masked" not in figures:
        figures["plate_masked"] = _mask(sorted(plates)[0])
    out["figures"] = figures
    for key in ("explanation_zh", "explanation_en"):
        if isinstance(out.get(key), str):
            out[key] = _masked(out[key], plates)
    return out


def _rewrite_alerts(connection: sa.Connection) -> None:
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_alerts.c.id, _alerts.c.title_zh, _alerts.c.title_en, _alerts.c.evidence)
            .where(_alerts.c.kind == _KIND, _alerts.c.id > last_id)
            .order_by(_alerts.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        for alert_id, title_zh, title_en, evidence in rows:
            evidence = evidence if isinstance(evidence, dict) else {}
            figures = evidence.get("figures") or {}
            plates = _plates_in(
                (title_zh, title_en, evidence.get("explanation_zh"), evidence.get("explanation_en"))
            )
            if isinstance(figures.get("plate"), str) and figures["plate"]:
                plates.add(figures["plate"])
            if not plates:
                continue
            connection.execute(
                sa.update(_alerts)
                .where(_alerts.c.id == alert_id)
                .values(
                    title_zh=_masked(title_zh, plates),
                    title_en=_masked(title_en, plates),
                    evidence=_masked_evidence(evidence, plates),
                )
            )
        last_id = rows[-1][0]


def _rewrite_deliveries(connection: sa.Connection) -> None:
    """Queued or sent webhook bodies of watchlist-plate alerts: the alert's titles."""
    rows = connection.execute(
        sa.select(_deliveries.c.id, _deliveries.c.body).where(_deliveries.c.body.like(f"%{_KIND}%"))
    ).all()
    for delivery_id, body in rows:
        try:
            message = json.loads(body)
        except ValueError:
            continue
        alert = message.get("alert") if isinstance(message, dict) else None
        if not isinstance(alert, dict) or alert.get("kind") != _KIND:
            continue
        plates = _plates_in((alert.get("title_zh"), alert.get("title_en")))
        if not plates:
            continue
        for key in ("title_zh", "title_en"):
            if isinstance(alert.get(key), str):
                alert[key] = _masked(alert[key], plates)
        connection.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == delivery_id)
            .values(body=json.dumps(message, ensure_ascii=False, separators=(",", ":")))
        )


def upgrade() -> None:
    connection = op.get_bind()
    _rewrite_alerts(connection)
    _rewrite_deliveries(connection)


def downgrade() -> None:
    pass
