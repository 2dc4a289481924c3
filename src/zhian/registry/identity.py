"""Identity cells of an import (name, ID number, phone, face feature): sealed on write.

The registry knows nothing of keys: the caller hands it an `IdentityProtector` (governance
builds one from the key ring). Without one, rows carrying identity values are rejected
rather than stored in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from zhian.governance.masking import mask_plate, mask_ref
from zhian.governance.plates import plate_kind

# Sealed columns per identity field of a resident; the ID number also gets a join token.
SEALED_COLUMNS: Mapping[str, str] = {
    "name": "name_enc",
    "id_number": "id_number_enc",
    "phone": "phone_enc",
    # Issue #6: the enrolled face feature (base64 float32), no token: it is never joined on.
    "face_feature": "face_feature_enc",
}
# Issue #15: the name too, for the search box's exact-match look-up of a person.
TOKEN_COLUMNS: Mapping[str, str] = {"id_number": "id_number_token", "name": "name_token"}
NO_KEY_REASON = (
    "identity fields are stored encrypted and this node has no key ring yet; "
    "run `zhian keys init` first"
)


class IdentityProtector(Protocol):
    """Seals, opens and tokenises identity values (see zhian.governance.identity)."""

    def seal(self, table: str, column: str, row_id: str, value: str) -> bytes: ...

    def open(self, table: str, column: str, row_id: str, sealed: bytes) -> str: ...

    def token(self, kind: str, value: str) -> str: ...


@dataclass(frozen=True)
class ProtectedCode:
    """A code column of an import that identifies a person (an access card, a plate).

    It is stored as the keyed token (equality lookups, joins with the event store's tokens
    of the same kind), a sealed copy (an audited reveal) and its masked form (display);
    never in clear. `column` is the import column; the table holds the other three.
    """

    column: str
    token_kind: str  # the event store's kind: a card is a subject reference, a plate a plate
    mask: Callable[[str], str]
    many: bool = False  # a comma-separated list: tokens and masked forms listed the same way
    # What kind of code it is, kept beside it (a plate's kind: `other` is flagged in data
    # quality), in `kind_column`; None: no kind kept.
    classify: Callable[[str], str] | None = None

    @property
    def kind_column(self) -> str | None:
        return None if self.classify is None else f"{self.column}_kind"

    def token_of(self, value: str, token: Callable[[str, str], str]) -> str:
        """The value's token (`token(kind, value)`), or each listed value's, comma-separated."""
        if not self.many:
            return token(self.token_kind, value)
        return ",".join(token(self.token_kind, item) for item in value.split(",") if item)

    def masked(self, value: str) -> str:
        if not self.many:
            return self.mask(value)
        return ",".join(self.mask(item) for item in value.split(",") if item)

    @property
    def token_column(self) -> str:
        return f"{self.column}_token"

    @property
    def sealed_column(self) -> str:
        return f"{self.column}_enc"

    @property
    def masked_column(self) -> str:
        return f"{self.column}_masked"


CARD_REF = ProtectedCode("card_ref", "subject", mask_ref)
PLATE = ProtectedCode("plate", "plate", mask_plate, classify=lambda plate: plate_kind(plate).value)
# A restricted place's allowed plates (docs/models.md, restricted places).
ALLOWED_PLATES = ProtectedCode("allowed_plates", "plate", mask_plate, many=True)
# Per registry table: the import columns held only as token + sealed copy + masked form.
PROTECTED_CODES: Mapping[str, tuple[ProtectedCode, ...]] = {
    "residents": (CARD_REF,),
    "vehicles": (PLATE,),
    "place_restrictions": (ALLOWED_PLATES,),
}


def stored_columns() -> tuple[str, ...]:
    """The resident columns that hold identity, sealed or tokenised."""
    return (*SEALED_COLUMNS.values(), *TOKEN_COLUMNS.values())


def identity_changes(
    protector: IdentityProtector,
    row_id: str,
    identity: Mapping[str, str | None],
    old: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Column values to write for the identity cells of one row.

    On update a value equal to the stored one (compared after opening it) is left alone,
    so re-importing the same file reports the row unchanged.
    """
    changes: dict[str, Any] = {}
    for field, value in identity.items():
        column = SEALED_COLUMNS[field]
        token_column = TOKEN_COLUMNS.get(field)
        if old is not None:
            sealed = old.get(column)
            current = (
                None if sealed is None else protector.open("residents", column, row_id, sealed)
            )
            # A row stored before its field had a token gets the token on re-import.
            lacks_token = (
                token_column is not None and value is not None and not old.get(token_column)
            )
            if current == value and not lacks_token:
                continue
        changes[column] = (
            None if value is None else protector.seal("residents", column, row_id, value)
        )
        if token_column is not None:
            changes[token_column] = None if value is None else protector.token(field, value)
    return changes
