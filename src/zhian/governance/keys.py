"""The key ring: field-encryption keys (by id), the token key and the audit seal key.

Keys live in a file readable by the node's user only (mode 0600) or in an environment
variable, never in the database and never in code. The file is JSON:

    {"version": 1, "active": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"},
     "token_key": "<base64>", "seal_key": "<base64>"}

`active` encrypts new values; the other keys only decrypt until `zhian keys rotate` has
re-encrypted everything. The token and seal keys are never rotated by `rotate`: tokens
must stay stable for joins, and the seal covers the audit chain's head.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from zhian.errors import ConfigurationError
from zhian.governance.settings import GovernanceSettings

KEY_BYTES = 32  # AES-256-GCM and HMAC-SHA256
KEY_FILE_MODE = 0o600
DEFAULT_KEY_FILE = Path("keys") / "zhian-keys.json"


class KeyRingError(ConfigurationError):
    """The key ring is missing, unreadable, malformed or too widely readable."""

    code = "key_ring_error"


class _KeyFile(msgspec.Struct, forbid_unknown_fields=True):
    version: int
    active: str
    keys: dict[str, str]
    token_key: str
    seal_key: str


@dataclass(frozen=True)
class KeyRing:
    """Every key a node holds. `keys` maps key id → 32-byte AES key; `active` encrypts."""

    active: str
    keys: dict[str, bytes] = field(repr=False)
    token_key: bytes = field(repr=False)
    seal_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyRingError(f"the active key '{self.active}' is not in the key ring")
        for key_id, key in self.keys.items():
            _check_key_id(key_id)
            _check_length(f"key '{key_id}'", key)
        _check_length("token_key", self.token_key)
        _check_length("seal_key", self.seal_key)
        if self.token_key == self.seal_key or self.token_key in self.keys.values():
            raise KeyRingError("token_key must differ from every other key")

    def with_new_active(self) -> KeyRing:
        """A ring with a fresh key, made active; the old keys stay to decrypt."""
        number = 1 + max(
            (int(key_id[1:]) for key_id in self.keys if key_id[1:].isdigit()), default=0
        )
        new_id = f"k{number}"
        return KeyRing(
            active=new_id,
            keys={**self.keys, new_id: secrets.token_bytes(KEY_BYTES)},
            token_key=self.token_key,
            seal_key=self.seal_key,
        )

    def without(self, key_ids: set[str]) -> KeyRing:
        """A ring without retired keys (never the active one)."""
        if self.active in key_ids:
            raise KeyRingError(f"the active key '{self.active}' cannot be retired")
        kept = {key_id: key for key_id, key in self.keys.items() if key_id not in key_ids}
        return KeyRing(self.active, kept, self.token_key, self.seal_key)

    def to_json(self) -> bytes:
        document = _KeyFile(
            version=1,
            active=self.active,
            keys={key_id: _b64(key) for key_id, key in sorted(self.keys.items())},
            token_key=_b64(self.token_key),
            seal_key=_b64(self.seal_key),
        )
        return msgspec.json.format(msgspec.json.encode(document), indent=2) + b"\n"

    @classmethod
    def from_json(cls, text: bytes | str, *, origin: str) -> KeyRing:
        try:
            document = msgspec.json.decode(text, type=_KeyFile)
        except msgspec.DecodeError as exc:
            raise KeyRingError(f"{origin}: not a valid key ring ({exc})") from None
        if document.version != 1:
            raise KeyRingError(f"{origin}: unsupported key ring version {document.version}")
        try:
            return cls(
                active=document.active,
                keys={key_id: _unb64(key) for key_id, key in document.keys.items()},
                token_key=_unb64(document.token_key),
                seal_key=_unb64(document.seal_key),
            )
        except ValueError as exc:
            raise KeyRingError(f"{origin}: {exc}") from None


def generate_keyring() -> KeyRing:
    """A new ring: one encryption key `k1`, a token key and a seal key, all random."""
    return KeyRing(
        active="k1",
        keys={"k1": secrets.token_bytes(KEY_BYTES)},
        token_key=secrets.token_bytes(KEY_BYTES),
        seal_key=secrets.token_bytes(KEY_BYTES),
    )


def key_file_path(settings: GovernanceSettings, workspace: Path) -> Path:
    """Where the key file lives: `governance.key_file`, relative to the workspace if not
    absolute; keys/zhian-keys.json in the workspace by default."""
    chosen = Path(settings.key_file) if settings.key_file else DEFAULT_KEY_FILE
    return chosen if chosen.is_absolute() else workspace / chosen


def write_keyring(path: Path, ring: KeyRing, *, replace: bool = False) -> None:
    """Write the ring with mode 0600, atomically; refuses to overwrite unless `replace`."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists() and not replace:
        raise KeyRingError(f"{path} already exists; a second key ring would orphan the first")
    temporary = path.with_name(path.name + ".part")
    with suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def load_keyring(
    settings: GovernanceSettings,
    workspace: Path,
    environ: dict[str, str] | None = None,
) -> KeyRing:
    """The ring from the environment variable `governance.key_env` if it is set, else from
    the key file (which must not be readable by group or others)."""
    env = os.environ if environ is None else environ
    if settings.key_env and env.get(settings.key_env):
        return KeyRing.from_json(env[settings.key_env], origin=f"${settings.key_env}")
    path = key_file_path(settings, workspace)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyRingError(
            f"no key ring at {path}; create one with `zhian keys init` or set {settings.key_env}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyRingError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); chmod 600 it"
        )
    return KeyRing.from_json(path.read_bytes(), origin=str(path))


def try_load_keyring(settings: GovernanceSettings, workspace: Path) -> KeyRing | None:
    """The ring, or None when none is configured yet (a fresh workspace)."""
    if settings.key_env and os.environ.get(settings.key_env):
        return load_keyring(settings, workspace)
    if not key_file_path(settings, workspace).exists():
        return None
    return load_keyring(settings, workspace)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("a key is not valid base64") from None


def _check_length(name: str, key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"{name} must be {KEY_BYTES} bytes, got {len(key)}")


def _check_key_id(key_id: str) -> None:
    if not (1 <= len(key_id) <= 32 and key_id.isascii() and key_id.isalnum()):
        raise KeyRingError(f"key id '{key_id}' must be 1-32 ASCII letters or digits")
