"""Field encryption at rest: AES-256-GCM, the key id carried inside each ciphertext.

A sealed value is `01 | len(key id) | key id | 12-byte nonce | ciphertext+tag`. The header
and a *context* (table, column and row, e.g. `residents.phone:R0001`) are authenticated as
associated data, so a ciphertext copied into another row or column fails to open instead
of revealing one person's phone as another's.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zhian.errors import ZhianError
from zhian.governance.keys import KeyRing

FORMAT_VERSION = 1
NONCE_BYTES = 12


class DecryptionError(ZhianError):
    """A sealed value that cannot be opened: unknown key, wrong context, or tampered."""

    status_code = 500
    code = "decryption_error"


class FieldCipher:
    """Seals and opens identity fields with the key ring's keys."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._aead = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    @property
    def active_key_id(self) -> str:
        return self._ring.active

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt `plaintext` under the active key, bound to `context`."""
        return self.seal_bytes(plaintext.encode("utf-8"), context)

    def open(self, sealed: bytes, context: str) -> str:
        """Decrypt a sealed value; DecryptionError when it was not sealed for `context`."""
        return self.open_bytes(sealed, context).decode("utf-8")

    def seal_bytes(self, plaintext: bytes, context: str) -> bytes:
        """`seal` for binary values (a whole durable-log record, say)."""
        key_id = self._ring.active.encode("ascii")
        header = bytes([FORMAT_VERSION, len(key_id)]) + key_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = self._aead[self._ring.active].encrypt(
            nonce, plaintext, header + context.encode("utf-8")
        )
        return header + nonce + body

    def open_bytes(self, sealed: bytes, context: str) -> bytes:
        """`open` for binary values; DecryptionError when not sealed for `context`."""
        key_id = key_id_of(sealed)
        aead = self._aead.get(key_id)
        if aead is None:
            raise DecryptionError(f"value was sealed with key '{key_id}', which the ring lacks")
        header_length = 2 + len(key_id)
        header = sealed[:header_length]
        nonce = sealed[header_length : header_length + NONCE_BYTES]
        try:
            return aead.decrypt(
                nonce, sealed[header_length + NONCE_BYTES :], header + context.encode("utf-8")
            )
        except InvalidTag:
            raise DecryptionError(
                f"value does not open for '{context}': altered, or sealed for another field"
            ) from None

    def reseal(self, sealed: bytes, context: str) -> bytes | None:
        """The value under the active key, or None when it already is."""
        if key_id_of(sealed) == self._ring.active:
            return None
        return self.seal(self.open(sealed, context), context)

    def reseal_bytes(self, sealed: bytes, context: str) -> bytes | None:
        """`reseal` for binary values (a capture image, say)."""
        if key_id_of(sealed) == self._ring.active:
            return None
        return self.seal_bytes(self.open_bytes(sealed, context), context)


def key_id_of(sealed: bytes) -> str:
    """The id of the key a value was sealed with (read from its header, nothing decrypted)."""
    if len(sealed) < 2 or sealed[0] != FORMAT_VERSION:
        raise DecryptionError("not a sealed value (unknown format)")
    length = sealed[1]
    if len(sealed) < 2 + length + NONCE_BYTES + 16:
        raise DecryptionError("sealed value is truncated")
    return sealed[2 : 2 + length].decode("ascii", errors="replace")
