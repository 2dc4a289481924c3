"""mask watchlist labels: identifiers typed into labels and notes are masked in place (#13)

Revision ID: 0012wllabels
Revises: 0001
Create Date: 2026-12-06 06:00:00

Older versions accepted any label and withdrawal reason, so an entry labelled
"被盗车辆 浙A08472" printed the plate in the clear beside its masked form on the workbench,
the wall and the candidates list, and the label was copied into the titles and evidence
of its hits. Entry now refuses such text (`zhian.watchlists.schemas.refuse_identifiers`);
this data migration masks the plates, ID-card numbers and mobile numbers already stored in
watchlist labels and withdrawal reasons, and in the titles, sentences and candidate labels
of watchlist alerts. The downgrade does nothing: the clear values are gone, as intended.
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012wllabels"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# Its own branch, but the tables it rewrites are made by the alerts migration.
depends_on: str | Sequence[str] | None = "0002alerts"

_CHUNK = 500
_KINDS = ("watchlist_plate", "watchlist_person")

# As zhian.governance.masking.identifiers_in (copied: a migration stays fixed).
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PATTERNS = (
    (
        "id_number",
        re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?!\d)"),
    ),
    ("phone", re.compile(r"(?<![0-9])1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?![0-9])")),
    (
        "plate",
        re.compile(rf"[{_PROVINCES}][A-HJ-NP-Z][·\s-]?[A-HJ-NP-Z0-9]{{5,6}}(?![A-Za-z0-9])"),
    ),
)
# (characters kept at the start, at the end) of each masked form.
_KEEP = {"id_number": (4, 4), "phone": (3, 4), "plate": (2, 2)}

_entries = sa.table(
    "watchlist_entries",
    sa.column("id", sa.Integer()),
    sa.column("label", sa.String()),
    sa.column("withdraw_reason", sa.String()),
)
_alerts = sa.table(
    "alerts",
    sa.column("id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("title_zh", sa.String()),
    sa.column("title_en", sa.String()),
    sa.column("evidence", sa.JSON()),
)


def _mask_one(kind: str, value: str) -> str:
    compact = re.sub(r"[·\s-]", "", value).upper()
    head, tail = _KEEP[kind]
    if len(compact) <= head + tail:
        return "*" * len(compact)
    return compact[:head] + "*" * (len(compact) - head - tail) + compact[-tail:]


def masked(text: Any) -> Any:
    """`text` with its identifiers masked; anything not a string as it is."""
    if not isinstance(text, str):
        return text
    taken: list[tuple[int, int, str]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if not any(start <= match.start() < end for start, end, _ in taken):
                taken.append((match.start(), match.end(), kind))
    for start, end, kind in sorted(taken, reverse=True):
        text = text[:start] + _mask_one(kind, text[start:end]) + text[end:]
    return text


def _masked_evidence(evidence: Any) -> Any:
    if not isinstance(evidence, dict):
        return evidence
    out = dict(evidence)
    for key in ("explanation_zh", "explanation_en"):
        out[key] = masked(out.get(key)) if key in out else None
        if out[key] is None:
            del out[key]
    candidates = out.get("candidates")
    if isinstance(candidates, list):
        out["candidates"] = [
            {**c, "label": masked(c.get("label"))} if isinstance(c, dict) else c for c in candidates
        ]
    return out


def _rewrite_entries(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(_entries.c.id, _entries.c.label, _entries.c.withdraw_reason)
    ).all()
    for entry_id, label, reason in rows:
        new_label, new_reason = masked(label), masked(reason)
        if (new_label, new_reason) != (label, reason):
            connection.execute(
                sa.update(_entries)
                .where(_entries.c.id == entry_id)
                .values(label=new_label, withdraw_reason=new_reason)
            )


def _rewrite_alerts(connection: sa.Connection) -> None:
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(_alerts.c.id, _alerts.c.title_zh, _alerts.c.title_en, _alerts.c.evidence)
            .where(_alerts.c.kind.in_(_KINDS), _alerts.c.id > last_id)
            .order_by(_alerts.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        for alert_id, title_zh, title_en, evidence in rows:
            values = {
                "title_zh": masked(title_zh),
                "title_en": masked(title_en),
                "evidence": _masked_evidence(evidence),
            }
            if values != {"title_zh": title_zh, "title_en": title_en, "evidence": evidence}:
                connection.execute(
                    sa.update(_alerts).where(_alerts.c.id == alert_id).values(**values)
                )
        last_id = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    _rewrite_entries(connection)
    _rewrite_alerts(connection)


def downgrade() -> None:
    pass
