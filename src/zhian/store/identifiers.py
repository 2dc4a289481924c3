"""What the event store keeps of identifiers: keyed tokens and masked forms, never the values.

Plates and subject references (resident, card, face cluster, visitor, QR) are personal
data. The store holds the HMAC token of each (models join and count on it) and its masked
form (lists and sentences show it); the value itself is sealed once, by the protector, in
the governance vault, where only an audited reveal opens it.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol

IdentifierKind = Literal["subject", "plate"]


class ProtectedIdentifier(NamedTuple):
    token: str
    masked: str


class IdentifierProtector(Protocol):
    """Turns identifiers into tokens for the store and keeps their sealed values."""

    def protect(self, kind: IdentifierKind, value: str) -> ProtectedIdentifier:
        """The token and masked form of `value`; its sealed value is kept before `flush`
        returns."""
        ...

    def token(self, kind: IdentifierKind, value: str) -> str:
        """The token alone, for lookups (master data, legal holds); nothing is kept."""
        ...

    def flush(self) -> None:
        """Make the sealed values of every identifier protected so far durable."""
        ...

    def forget(self, tokens: set[str]) -> None:
        """Their vault entries were purged: seal the values anew when they come back."""
        ...
