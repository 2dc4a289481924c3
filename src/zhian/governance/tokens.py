"""Keyed tokens of identifiers (HMAC-SHA256), so stores can join and count without identities.

`tok_` + 32 base32 characters (160 bits). The same value gives the same token on every
node sharing the token key, and nothing can be learnt from a token without that key: a
plain hash of an 18-digit ID number could be reversed by trying every birth date.
The kind is part of the MAC, so a phone number and an ID number never collide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal

TOKEN_PREFIX = "tok_"  # noqa: S105 - a label, not a secret
_TOKEN_BYTES = 20

# "address": a network address, kept only as a token for rate limits (resident tips, #19).
TokenKind = Literal["id_number", "phone", "name", "plate", "card", "subject", "offender", "address"]


class Tokeniser:
    """Turns identifiers into stable keyed tokens; give it the key ring's `token_key`."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the token key must be at least 32 bytes")
        self._key = key

    def token(self, kind: TokenKind, value: str) -> str:
        """The token of `value` (pass it normalised: validation's `normalise_*`)."""
        message = kind.encode("ascii") + b"\x1f" + value.encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:_TOKEN_BYTES]
        return TOKEN_PREFIX + base64.b32encode(digest).decode("ascii").lower()


def is_token(text: str) -> bool:
    """True for a string shaped like a token (it proves nothing about the key)."""
    body = text[len(TOKEN_PREFIX) :]
    return (
        text.startswith(TOKEN_PREFIX)
        and len(body) == 32
        and all(char in "abcdefghijklmnopqrstuvwxyz234567" for char in body)
    )
