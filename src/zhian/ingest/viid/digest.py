"""HTTP Digest (RFC 2617, MD5, qop=auth) as GA/T 1400 Register uses it: both sides.

The server keeps no password, only HA1 = MD5(username:realm:password). Nonces are
stateless (expiry + HMAC), so any worker can check them; a (nonce, nc, cnonce) triple is
accepted once, which stops a captured Register from being replayed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from zhian.kit.clock import Clock

# key="value", key='value' (a Go server quotes with '), or key=token; spaces after commas.
_PARAM = re.compile(r"""\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("[^"]*"|'[^']*'|[^,\s]*)\s*,?""")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def ha1_of(username: str, realm: str, password: str) -> str:
    """HA1 = MD5(username:realm:password): all a server needs to store."""
    return md5_hex(f"{username}:{realm}:{password}")


def parse_digest(header: str | None) -> dict[str, str] | None:
    """The parameters of a `Digest ...` header (either quote style), or None if not Digest."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params: dict[str, str] = {}
    for name, value in _PARAM.findall(rest):
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        params[name.lower()] = value
    return params


def response_of(
    ha1: str, method: str, uri: str, nonce: str, *, qop: str, nc: str, cnonce: str
) -> str:
    """The Digest `response` for qop=auth, or RFC 2069 style when qop is empty."""
    ha2 = md5_hex(f"{method}:{uri}")
    if qop:
        return md5_hex(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return md5_hex(f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True)
class DigestCredential:
    """What the server holds for one account: never the password."""

    username: str
    realm: str
    ha1: str


@dataclass(frozen=True)
class DigestOutcome:
    """The result of checking an Authorization header; `reason` says why it failed."""

    is_valid: bool
    username: str | None = None
    reason: str = ""
    is_stale: bool = False


class DigestAuthority:
    """Issues challenges and checks answers for one realm."""

    def __init__(
        self, realm: str, *, nonce_ttl_seconds: float, clock: Clock, key: bytes | None = None
    ) -> None:
        self.realm = realm
        self._ttl = timedelta(seconds=nonce_ttl_seconds)
        self._clock = clock
        self._key = key or secrets.token_bytes(32)
        self._opaque = secrets.token_hex(16)
        self._seen: dict[tuple[str, str, str], datetime] = {}
        self._lock = threading.Lock()

    def challenge(self, *, stale: bool = False) -> str:
        """A `WWW-Authenticate` value with a fresh nonce."""
        expires = int((self._clock.now() + self._ttl).timestamp())
        signature = hmac.new(self._key, str(expires).encode(), "sha256").hexdigest()[:32]
        nonce = base64.b64encode(f"{expires}:{signature}".encode()).decode("ascii")
        value = (
            f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", '
            f'opaque="{self._opaque}", algorithm=MD5'
        )
        return value + (", stale=true" if stale else "")

    def verify(
        self,
        header: str | None,
        *,
        method: str,
        path: str,
        lookup: Callable[[str], DigestCredential | None],
    ) -> DigestOutcome:
        """Check an Authorization header against the stored HA1 of its username."""
        params = parse_digest(header)
        if params is None:
            return DigestOutcome(False, reason="no Digest credentials")
        username = params.get("username", "")
        missing = [
            k for k in ("username", "realm", "nonce", "uri", "response") if not params.get(k)
        ]
        if missing:
            return DigestOutcome(False, username or None, f"missing {', '.join(missing)}")
        if params["realm"] != self.realm:
            return DigestOutcome(False, username, f"realm must be '{self.realm}'")
        nonce_problem = self._nonce_problem(params["nonce"])
        if nonce_problem:
            stale = nonce_problem == "nonce expired"
            return DigestOutcome(False, username, nonce_problem, is_stale=stale)
        qop = params.get("qop", "")
        if qop not in ("", "auth"):
            return DigestOutcome(False, username, f"qop '{qop}' is not supported; use auth")
        nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
        if qop and (not nc or not cnonce):
            return DigestOutcome(False, username, "qop=auth needs nc and cnonce")
        credential = lookup(username)
        if credential is None or credential.realm != self.realm:
            return DigestOutcome(False, username, f"unknown user '{username}'")
        # HA2 from the header's uri (some clients send the full URL), else the bare path.
        given = params["response"].lower()
        candidates = {params["uri"], path}
        if not any(
            hmac.compare_digest(
                given,
                response_of(
                    credential.ha1, method, uri, params["nonce"], qop=qop, nc=nc, cnonce=cnonce
                ),
            )
            for uri in candidates
        ):
            return DigestOutcome(False, username, "wrong password (Digest response mismatch)")
        if not self._first_use(params["nonce"], nc, cnonce):
            return DigestOutcome(False, username, "replayed Digest response", is_stale=True)
        return DigestOutcome(True, username)

    def _nonce_problem(self, nonce: str) -> str:
        try:
            expires_text, _, signature = (
                base64.b64decode(nonce, validate=True).decode().partition(":")
            )
            expires = int(expires_text)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return "nonce was not issued by this server"
        expected = hmac.new(self._key, str(expires).encode(), "sha256").hexdigest()[:32]
        if not hmac.compare_digest(signature, expected):
            return "nonce was not issued by this server"
        if self._clock.now().timestamp() > expires:
            return "nonce expired"
        return ""

    def _first_use(self, nonce: str, nc: str, cnonce: str) -> bool:
        now = self._clock.now()
        with self._lock:
            for key in [k for k, at in self._seen.items() if now - at > self._ttl]:
                del self._seen[key]
            triple = (nonce, nc, cnonce)
            if triple in self._seen:
                return False
            self._seen[triple] = now
            return True


def authorization_for(
    challenge: str,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The client's `Authorization` header answering a `WWW-Authenticate` challenge."""
    params = parse_digest(challenge)
    if params is None or "nonce" not in params:
        raise ValueError("the peer's WWW-Authenticate is not a Digest challenge")
    realm, nonce = params.get("realm", ""), params["nonce"]
    qop = "auth" if "auth" in params.get("qop", "").split(",") else ""
    nc_text = f"{nc:08x}"
    cnonce = cnonce or secrets.token_hex(8)
    response = response_of(
        ha1_of(username, realm, password), method, uri, nonce, qop=qop, nc=nc_text, cnonce=cnonce
    )
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        "algorithm=MD5",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f'cnonce="{cnonce}"']
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(parts)
