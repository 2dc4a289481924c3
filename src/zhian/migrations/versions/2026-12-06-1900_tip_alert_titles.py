"""alerts raised from tips name the category and place, not the resident's words (#19)

Until now an alert raised from a resident's tip kept the first 80 characters of the tip's
description in its title (`title_zh`, `title_en`), in clear, while the description itself
is sealed. A tip is personal data: the title of such an alert (rule `tip`) is rewritten
here as new ones are made ("群众随手拍：<category>（<community> <building>）"), with the
explanation its evidence repeats, and its `place_name` filled in. The words stay in the
tip, sealed, read through the audited tip page. Nothing else of the alert changes.

Revision ID: 0050tiptitles
Revises: 0001
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from zhian.tips.categories import tip_alert_titles, tip_place_name

revision: str = "0050tiptitles"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("0002alerts", "0016tips")


def _place(bind: sa.Connection, place_id: str, community_id: str | None) -> str | None:
    community = bind.execute(
        sa.text("SELECT name FROM communities WHERE id = :id"), {"id": community_id}
    ).scalar()
    building = bind.execute(
        sa.text("SELECT name FROM buildings WHERE id = :id"), {"id": place_id}
    ).scalar()
    return tip_place_name(community, building)


_ALERTS = sa.table(
    "alerts",
    sa.column("id", sa.Integer()),
    sa.column("rule", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("place_id", sa.String()),
    sa.column("community_id", sa.String()),
    sa.column("place_name", sa.String()),
    sa.column("title_zh", sa.String()),
    sa.column("title_en", sa.String()),
    sa.column("evidence", sa.JSON()),
)


def upgrade() -> None:
    bind = op.get_bind()
    a = _ALERTS.c
    rows = bind.execute(
        sa.select(a.id, a.subject, a.place_id, a.community_id, a.evidence).where(a.rule == "tip")
    ).all()
    for alert_id, category, place_id, community_id, evidence in rows:
        place = _place(bind, str(place_id), community_id)
        zh, en = tip_alert_titles(str(category), place)
        # The evidence repeats the title as its explanation (the alert page's "why").
        evidence = {**(evidence or {}), "explanation_zh": zh, "explanation_en": en}
        bind.execute(
            _ALERTS.update()
            .where(a.id == alert_id)
            .values(title_zh=zh, title_en=en, place_name=place, evidence=evidence)
        )


def downgrade() -> None:
    # The resident's words are not written back into the title in clear.
    pass
