"""Sealed identity columns: the registry's protector, re-encryption to a new key, key census."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnClause, Table, TableClause, column, select, table, update
from sqlalchemy.orm import Session

from zhian.governance.crypto import FieldCipher, key_id_of
from zhian.governance.models import VaultEntry
from zhian.governance.tokens import Tokeniser, TokenKind
from zhian.ingest.quarantine.models import QuarantineItem
from zhian.ingest.viid.models import ViidObject, ViidSubscription
from zhian.registry.models import Resident, Vehicle
from zhian.tips.models import Tip
from zhian.watchlists.models import WatchlistEntry

# Rows re-encrypted per round trip during rotation.
RESEAL_BATCH_ROWS = 500


def field_context(table: str, column: str, row_id: str) -> str:
    """The associated data a value is sealed for: its table, column and row."""
    return f"{table}.{column}:{row_id}"


class IdentitySealer:
    """Seals, opens and tokenises identity values (the registry's `IdentityProtector`)."""

    def __init__(self, cipher: FieldCipher, tokeniser: Tokeniser) -> None:
        self.cipher = cipher
        self.tokeniser = tokeniser

    def seal(self, table: str, column: str, row_id: str, value: str) -> bytes:
        return self.cipher.seal(value, field_context(table, column, row_id))

    def open(self, table: str, column: str, row_id: str, sealed: bytes) -> str:
        return self.cipher.open(sealed, field_context(table, column, row_id))

    def token(self, kind: str, value: str) -> str:
        token_kind: TokenKind = kind  # type: ignore[assignment]
        return self.tokeniser.token(token_kind, value)


@dataclass(frozen=True)
class SealedColumn:
    """A column holding sealed values, and the primary key its context names."""

    table: str
    key: ColumnClause[Any]
    column: ColumnClause[Any]
    # Raw bytes (a quarantined input), not UTF-8 text; rows per round trip of rotation.
    binary: bool = False
    batch_rows: int = RESEAL_BATCH_ROWS
    # The columns whose values, joined by '/', name the row in the context (default: key).
    context_columns: tuple[ColumnClause[Any], ...] = ()

    def context(self, row_id: object, names: Sequence[object]) -> str:
        named = "/".join(str(name) for name in names) if self.context_columns else row_id
        return field_context(self.table, self.column.name, str(named))

    @property
    def label(self) -> str:
        return f"{self.table}.{self.column.name}"


# Every sealed column of the operational database; rotation and the census walk these.
_RESIDENTS = cast(Table, Resident.__table__)
_VAULT = cast(Table, VaultEntry.__table__)
_VEHICLES = cast(Table, Vehicle.__table__)
_WATCHLIST = cast(Table, WatchlistEntry.__table__)
_QUARANTINE = cast(Table, QuarantineItem.__table__)
_VIID_OBJECTS = cast(Table, ViidObject.__table__)
_TIPS = cast(Table, Tip.__table__)
_VIID_SUBSCRIPTIONS = cast(Table, ViidSubscription.__table__)
# The upward outbox belongs to `zhian.cascade`, above this layer: named, not imported
# (tests/governance/test_identity.py checks it matches the model).
_OUTBOX = table(
    "viid_upper_outbox", column("seq"), column("notification_id"), column("payload_enc")
)
# Messages queued for webhooks belong to `zhian.alerts`: named, not imported, like the outbox.
_WEBHOOK_DELIVERIES = table(
    "webhook_deliveries", column("id"), column("subscription_id"), column("body_enc")
)
_LIVE_MESSAGES = table("live_messages", column("id"), column("body_enc"))
# What officers type about an alert and webhook secrets, also of `zhian.alerts` (#12).
_ALERTS = table("alerts", column("id"), column("feedback_enc"))
_ALERT_ACTIONS = table("alert_actions", column("id"), column("alert_id"), column("note_enc"))
_ALERT_STEPS = table(
    "alert_procedure_steps", column("id"), column("alert_id"), column("reason_enc")
)
_WEBHOOK_SUBSCRIPTIONS = table("webhook_subscriptions", column("id"), column("secret_enc"))
# Analysts' notes on case links belong to `zhian.cases`: named, not imported, like the alerts.
_CASE_LINKS = table(
    "case_links", column("id"), column("case_a"), column("case_b"), column("note_enc")
)
QUARANTINE_RESEAL_BATCH_ROWS = 20
SEALED_COLUMNS: tuple[SealedColumn, ...] = (
    *(
        SealedColumn("residents", _RESIDENTS.c.id, _RESIDENTS.c[name])
        for name in ("name_enc", "id_number_enc", "phone_enc", "face_feature_enc")
    ),
    SealedColumn("identifier_vault", _VAULT.c.token, _VAULT.c.sealed),
    # Issue #12: cards and plates. A watchlist plate is sealed for its token (the entry's
    # id is not known before the insert); entries sharing a plate are re-sealed together.
    SealedColumn("residents", _RESIDENTS.c.id, _RESIDENTS.c.card_ref_enc),
    SealedColumn("vehicles", _VEHICLES.c.id, _VEHICLES.c.plate_enc),
    SealedColumn("watchlist_entries", _WATCHLIST.c.plate_token, _WATCHLIST.c.plate_enc),
    SealedColumn("watchlist_entries", _WATCHLIST.c.subject_token, _WATCHLIST.c.subject_enc),
    SealedColumn("watchlist_entries", _WATCHLIST.c.id, _WATCHLIST.c.feature_enc),
    # Raw quarantined input: up to the body limit each, so fewer per round trip.
    SealedColumn(
        "quarantine_items",
        _QUARANTINE.c.id,
        _QUARANTINE.c.raw_enc,
        binary=True,
        batch_rows=QUARANTINE_RESEAL_BATCH_ROWS,
    ),
    # GA/T 1400 objects kept by the node and notifications waiting for the upper platform,
    # sealed for their kind and object id, and their notification id.
    SealedColumn(
        "viid_objects",
        _VIID_OBJECTS.c.seq,
        _VIID_OBJECTS.c.body_enc,
        binary=True,
        context_columns=(_VIID_OBJECTS.c.kind, _VIID_OBJECTS.c.object_id),
    ),
    # Subscriptions peers placed with the node, sealed for their id (the applicant's name).
    SealedColumn(
        "viid_subscriptions",
        _VIID_SUBSCRIPTIONS.c.id,
        _VIID_SUBSCRIPTIONS.c.body_enc,
        binary=True,
    ),
    # Messages queued for webhooks, sealed for the subscription they go to.
    SealedColumn(
        "webhook_deliveries",
        _WEBHOOK_DELIVERIES.c.id,
        _WEBHOOK_DELIVERIES.c.body_enc,
        binary=True,
        context_columns=(_WEBHOOK_DELIVERIES.c.subscription_id,),
    ),
    # Live-feed messages kept for listeners of other processes (PostgreSQL), sealed for id.
    SealedColumn("live_messages", _LIVE_MESSAGES.c.id, _LIVE_MESSAGES.c.body_enc, binary=True),
    SealedColumn(
        "viid_upper_outbox",
        _OUTBOX.c.seq,
        _OUTBOX.c.payload_enc,
        binary=True,
        batch_rows=QUARANTINE_RESEAL_BATCH_ROWS,
        context_columns=(_OUTBOX.c.notification_id,),
    ),
    # Officers' free text, sealed for the alert it belongs to (`zhian.alerts.notes`).
    SealedColumn("alerts", _ALERTS.c.id, _ALERTS.c.feedback_enc, binary=True),
    *(
        SealedColumn(
            name, rows.c.id, rows.c[value], binary=True, context_columns=(rows.c.alert_id,)
        )
        for name, rows, value in (
            ("alert_actions", _ALERT_ACTIONS, "note_enc"),
            ("alert_procedure_steps", _ALERT_STEPS, "reason_enc"),
        )
    ),
    # The HMAC secrets webhook deliveries are signed with, sealed for the subscription.
    SealedColumn(
        "webhook_subscriptions",
        _WEBHOOK_SUBSCRIPTIONS.c.id,
        _WEBHOOK_SUBSCRIPTIONS.c.secret_enc,
        binary=True,
    ),
    # Issue #19: a resident tip's contact phone, sealed for the tip's follow-up code.
    SealedColumn("tips", _TIPS.c.code, _TIPS.c.contact_enc),
    # Hardening (#15–#19 follow-ups): what a resident wrote, and analysts' notes on links,
    # sealed for the tip's code and for the pair of cases.
    SealedColumn("tips", _TIPS.c.code, _TIPS.c.description_enc),
    SealedColumn(
        "case_links",
        _CASE_LINKS.c.id,
        _CASE_LINKS.c.note_enc,
        context_columns=(_CASE_LINKS.c.case_a, _CASE_LINKS.c.case_b),
    ),
)


def reseal_all(session: Session, cipher: FieldCipher) -> dict[str, int]:
    """Re-encrypt every sealed value not under the active key; returns counts per column.

    Runs in the caller's transaction: on failure nothing is half re-encrypted.
    """
    counts: dict[str, int] = {}
    for sealed in SEALED_COLUMNS:
        table = cast(TableClause, sealed.column.table)
        changed = 0
        after: str | None = None
        while True:
            query = (
                select(sealed.key, sealed.column, *sealed.context_columns)
                .where(sealed.column.is_not(None))
                .order_by(sealed.key)
                .limit(sealed.batch_rows)
            )
            if after is not None:
                query = query.where(sealed.key > after)
            rows = session.execute(query).all()
            if not rows:
                break
            updates = []
            for row_id, value, *names in rows:
                context = sealed.context(row_id, names)
                fresh = (
                    cipher.reseal_bytes(value, context)
                    if sealed.binary
                    else cipher.reseal(value, context)
                )
                if fresh is not None:
                    updates.append({"row_id": row_id, "value": fresh})
            for item in updates:
                session.execute(
                    update(table)
                    .where(sealed.key == item["row_id"])
                    .values({sealed.column.name: item["value"]})
                )
            changed += len(updates)
            after = rows[-1][0]
        counts[sealed.label] = changed
    return counts


def key_census(session: Session) -> Counter[str]:
    """How many sealed values each key id holds, over every sealed column."""
    census: Counter[str] = Counter()
    for sealed in SEALED_COLUMNS:
        for (value,) in session.execute(select(sealed.column).where(sealed.column.is_not(None))):
            census[key_id_of(value)] += 1
    return census
