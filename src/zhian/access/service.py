"""Creating users, checking passwords and the demo accounts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhian.access.models import User
from zhian.access.repository import UserRepository
from zhian.access.roles import ROLE_NAMES_ZH, UNSCOPED_ROLES, Role
from zhian.errors import BadRequestError, ConflictError, NotFoundError

MIN_PASSWORD_CHARS = 8
# Beyond any passphrase; bounds the work one login request can ask for.
MAX_PASSWORD_CHARS = 1024
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.@-]{0,63}")

# One account per role a demo visitor wants to try: (username, role).
DEMO_ACCOUNTS: tuple[tuple[str, Role], ...] = (
    ("command", Role.COMMAND_CENTRE),
    ("station", Role.STATION_OFFICER),
    ("community", Role.COMMUNITY_OFFICER),
    ("grid", Role.GRID_WORKER),
    ("property", Role.PROPERTY_SECURITY),
    ("analyst", Role.ANALYST),
    ("auditor", Role.AUDITOR),
    ("admin", Role.ADMIN),
)
DEMO_PASSWORD_BYTES = 9  # 12 URL-safe characters

_DEFAULT_HASHER = PasswordHasher()
# Hash of a throwaway password per hasher parameters: an unknown username is verified
# against it, so it costs as much time as a known one.
_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


class UserRead(BaseModel):
    """A user as pages and services see them; the password hash never leaves the service."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    username: str
    display_name: str
    role: Role
    jurisdiction_id: str | None
    is_active: bool
    created_at: datetime


def normalise_username(username: str) -> str:
    """Usernames compare case-insensitively and ignore surrounding blanks."""
    return username.strip().lower()


class AccessService:
    """Creates users and checks their passwords (argon2id). The caller owns the transaction."""

    def __init__(self, session: Session, *, password_hasher: PasswordHasher | None = None) -> None:
        self.repository = UserRepository(session)
        self.hasher = password_hasher or _DEFAULT_HASHER

    def create_user(
        self,
        username: str,
        password: str,
        *,
        role: Role | str,
        jurisdiction_id: str | None,
        display_name: str | None = None,
        now: datetime,
    ) -> UserRead:
        """A new, active user. 409 when the username is taken, 400 on a weak password."""
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware")
        name = self._check_username(username)
        checked_role = _check_role(role)
        self._check_password(password)
        self._check_jurisdiction(checked_role, jurisdiction_id)
        if self.repository.get_by_username(name) is not None:
            raise ConflictError(f"username '{name}' is already taken", field="username")
        user = User(
            username=name,
            display_name=(display_name or "").strip() or name,
            role=checked_role.value,
            jurisdiction_id=jurisdiction_id,
            password_hash=self.hasher.hash(password),
            is_active=True,
            created_at=now,
        )
        try:
            self.repository.add(user)
        except IntegrityError as exc:  # another request took the name between check and insert
            raise ConflictError(f"username '{name}' is already taken", field="username") from exc
        return UserRead.model_validate(user)

    def authenticate(self, username: str, password: str) -> UserRead | None:
        """The active user with this username and password, or None.

        An unknown username costs the same hash verification as a known one, so response
        times do not tell which usernames exist.
        """
        if len(password) > MAX_PASSWORD_CHARS:
            return None
        user = self.repository.get_by_username(normalise_username(username))
        if user is None:
            self._verify(self._dummy_hash(), password)
            return None
        if not self._verify(user.password_hash, password) or not user.is_active:
            return None
        if self.hasher.check_needs_rehash(user.password_hash):
            # Stronger parameters since the hash was made: upgrade it while we know the password.
            user.password_hash = self.hasher.hash(password)
            self.repository.flush()
        return UserRead.model_validate(user)

    def get_user(self, user_id: int) -> UserRead | None:
        user = self.repository.get(user_id)
        return None if user is None else UserRead.model_validate(user)

    def ensure_demo_accounts(
        self, jurisdiction_ids: Mapping[str, str], now: datetime
    ) -> list[tuple[str, str, str]]:
        """Create, or reset, one account per main role with a fresh random password each.

        `jurisdiction_ids` maps a role to the jurisdiction its account serves; every role
        of `DEMO_ACCOUNTS` except the unscoped ones (admin) needs one. An existing demo
        account gets a new password and is placed and activated again, so each demo run
        prints working credentials. Returns (username, password, role) for printing.
        Meant for demo workspaces only.
        """
        created: list[tuple[str, str, str]] = []
        for username, role in DEMO_ACCOUNTS:
            jurisdiction_id = jurisdiction_ids.get(role.value)
            password = secrets.token_urlsafe(DEMO_PASSWORD_BYTES)
            display_name = f"演示·{ROLE_NAMES_ZH[role]}"
            user = self.repository.get_by_username(username)
            if user is None:
                self.create_user(
                    username,
                    password,
                    role=role,
                    jurisdiction_id=jurisdiction_id,
                    display_name=display_name,
                    now=now,
                )
            else:
                self._check_jurisdiction(role, jurisdiction_id)
                user.role = role.value
                user.jurisdiction_id = jurisdiction_id
                user.display_name = display_name
                user.password_hash = self.hasher.hash(password)
                user.is_active = True
                self.repository.flush()
            created.append((username, password, role.value))
        return created

    def _check_username(self, username: str) -> str:
        name = normalise_username(username)
        if not USERNAME_PATTERN.fullmatch(name):
            raise BadRequestError(
                "a username is 1 to 64 letters, digits or '_.@-', starting with a letter or digit",
                field="username",
            )
        return name

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise BadRequestError(
                f"the password must be at least {MIN_PASSWORD_CHARS} characters long",
                field="password",
            )
        if len(password) > MAX_PASSWORD_CHARS:
            raise BadRequestError(
                f"the password must be at most {MAX_PASSWORD_CHARS} characters long",
                field="password",
            )

    def _check_jurisdiction(self, role: Role, jurisdiction_id: str | None) -> None:
        if jurisdiction_id is None:
            if role not in UNSCOPED_ROLES:
                raise BadRequestError(
                    f"a user with role '{role.value}' needs a jurisdiction",
                    field="jurisdiction_id",
                )
            return
        if not self.repository.jurisdiction_exists(jurisdiction_id):
            raise NotFoundError(
                f"unknown jurisdiction '{jurisdiction_id}'", field="jurisdiction_id"
            )

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        key = (self.hasher.time_cost, self.hasher.memory_cost, self.hasher.parallelism)
        dummy = _DUMMY_HASHES.get(key)
        if dummy is None:
            dummy = _DUMMY_HASHES[key] = self.hasher.hash(secrets.token_urlsafe(16))
        return dummy


def _check_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(item.value for item in Role)
        raise BadRequestError(f"unknown role '{role}'; one of: {known}", field="role") from None
