"""An identifier vault for store tests: real tokens and sealing, rows kept in a list."""

from __future__ import annotations

from datetime import UTC, datetime

from zhian.governance.crypto import FieldCipher
from zhian.governance.identity import IdentitySealer
from zhian.governance.keys import KeyRing, generate_keyring
from zhian.governance.tokens import Tokeniser
from zhian.governance.vault import IdentifierVault, VaultRow


class MemoryVault(IdentifierVault):
    """The vault with its rows in `rows` instead of the operational database; a fresh key
    ring unless `ring` is given (a rotated ring, say)."""

    def __init__(self, ring: KeyRing | None = None) -> None:
        ring = ring or generate_keyring()
        self.ring = ring
        self.rows: list[VaultRow] = []
        super().__init__(
            IdentitySealer(FieldCipher(ring), Tokeniser(ring.token_key)),
            self.rows.extend,
            lambda: datetime.now(UTC),
        )
