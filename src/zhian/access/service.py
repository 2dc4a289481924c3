"""Users, passwords, sign-in lockout, browser sessions, API tokens, jurisdiction scopes and
demo accounts."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zhian.access.lockout import Lock, LockoutPolicy, LoginThrottle
from zhian.access.models import ApiToken, User, UserSession
from zhian.access.permissions import TOKEN_EXCLUDED_PERMISSIONS, check_names, permissions_of
from zhian.access.repository import UserRepository
from zhian.access.roles import ROLE_NAMES_ZH, UNSCOPED_ROLES, Role
from zhian.access.scope import JurisdictionScope
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
    ("integrator", Role.INTEGRATOR),
)
DEMO_PASSWORD_BYTES = 9  # 12 URL-safe characters

# API tokens: the prefix tells them from device tokens at a glance (and in leak scanners).
API_TOKEN_PREFIX = "zat_"  # noqa: S105 - a public prefix, not a secret
API_TOKEN_BYTES = 32
API_TOKEN_DEFAULT_DAYS = 90
# last_used_at is written at most this often per token: an integration may poll every second.
_LAST_USED_RESOLUTION = timedelta(minutes=1)

# Browser sessions: the cookie carries a random id of this many bytes, the database its sha256.
SESSION_ID_BYTES = 32
# last_seen_at is written at most this often per session, not on every page and poll.
_LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Longer than any user agent a browser sends; only kept to tell a user's sessions apart.
_USER_AGENT_CHARS = 200

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
    # Set when the request authenticated with an API token: its id and the permissions it
    # narrows the role to (None: a signed-in person, who holds the role's permissions).
    token_id: int | None = None
    token_permissions: frozenset[str] | None = None

    @property
    def permissions(self) -> frozenset[str]:
        """What this user (or token) may do; see `zhian.access.permissions`."""
        held = permissions_of(self.role)
        return held if self.token_permissions is None else held & self.token_permissions

    def can(self, permission: str) -> bool:
        return permission in self.permissions


class ApiTokenRead(BaseModel):
    """An API token as listed; the token itself is shown only once, when issued."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    name: str
    owner_id: int
    role: Role
    permissions: list[str]
    jurisdiction_id: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class SignInResult:
    """The outcome of one sign-in attempt: the user, or the lock that refused it (or neither)."""

    user: UserRead | None
    lock: Lock | None = None


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


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

    def list_users(self) -> list[UserRead]:
        return [UserRead.model_validate(user) for user in self.repository.list_users()]

    def set_active(self, username: str, is_active: bool, *, now: datetime) -> UserRead:
        """Disable (or enable again) a user; a disabled user's sessions and tokens stop at once.

        Disabling revokes every session of the user, so enabling them again later does not
        bring back a cookie copied in the meantime.
        """
        user = self._user_named(username)
        user.is_active = is_active
        if not is_active:
            self.repository.revoke_sessions_of(user.id, now, keep_id=None)
        self.repository.flush()
        return UserRead.model_validate(user)

    def change_password(self, username: str, password: str, *, now: datetime) -> UserRead:
        """Set a new password and end every session of the user (a thief's copy included)."""
        user = self._user_named(username)
        self._check_password(password)
        user.password_hash = self.hasher.hash(password)
        self.repository.revoke_sessions_of(user.id, now, keep_id=None)
        self.repository.flush()
        return UserRead.model_validate(user)

    def start_session(
        self,
        user_id: int,
        *,
        now: datetime,
        lifetime: timedelta,
        client_address: str | None,
        user_agent: str | None,
    ) -> str:
        """A new session for a user who just signed in; returns its id (only the hash is kept).

        The user's sessions that ended before `now` are forgotten here, so the table holds
        about one row per open browser.
        """
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware")
        self.repository.purge_sessions_of(user_id, now)
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        self.repository.add_session(
            UserSession(
                session_sha256=hash_session_id(session_id),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime,
                client_address=client_address,
                user_agent=(user_agent or "")[:_USER_AGENT_CHARS] or None,
            )
        )
        return session_id

    def authenticate_session(
        self, session_id: str, user_id: int, *, now: datetime
    ) -> UserRead | None:
        """The active user of a live session, or None when unknown, revoked or expired.

        One indexed lookup per request; `last_seen_at` is written at most once a minute.
        """
        if len(session_id) > 200:
            return None
        found = self.repository.get_session_with_user(hash_session_id(session_id))
        if found is None:
            return None
        row, user = found
        if row.user_id != user_id or row.revoked_at is not None or row.expires_at <= now:
            return None
        if not user.is_active:
            return None
        if now - row.last_seen_at >= _LAST_SEEN_RESOLUTION:
            row.last_seen_at = now
            self.repository.flush()
        return UserRead.model_validate(user)

    def end_session(self, session_id: str, *, now: datetime) -> None:
        """Revoke one session (logout); an unknown or already ended one is left as it is."""
        row = self.repository.get_session(hash_session_id(session_id))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
            self.repository.flush()

    def sign_in(
        self,
        username: str,
        password: str,
        *,
        client_address: str | None,
        policy: LockoutPolicy,
        now: datetime,
    ) -> SignInResult:
        """Check a password unless the username or the address is locked; count failures.

        A locked attempt is refused without looking at the password, so guessing during a
        lock learns nothing. The caller commits (failures must be kept even on refusal).
        """
        throttle = LoginThrottle(self.repository, policy)
        name = normalise_username(username)
        lock = throttle.check(name, client_address, now)
        if lock is not None:
            return SignInResult(None, lock)
        user = self.authenticate(name, password)
        if user is None:
            return SignInResult(None, throttle.record_failure(name, client_address, now))
        throttle.record_success(name)
        return SignInResult(user)

    def scope_for(self, user: UserRead) -> JurisdictionScope:
        """The jurisdictions and communities `user` may see (docs/dev/scoping.md)."""
        if user.jurisdiction_id is None:
            return JurisdictionScope.unscoped()
        return JurisdictionScope.build(
            role=user.role,
            jurisdiction_id=user.jurisdiction_id,
            parents=self.repository.jurisdiction_parents(),
            community_jurisdiction=self.repository.community_jurisdictions(),
        )

    def issue_api_token(
        self,
        owner: str,
        name: str,
        *,
        now: datetime,
        days: int = API_TOKEN_DEFAULT_DAYS,
        max_days: int = 365,
        permissions: Collection[str] = (),
        jurisdiction_id: str | None = None,
    ) -> str:
        """A new API token acting for the user `owner`; returned once, only its hash is kept.

        It holds the owner's role, narrowed to `permissions` when given (never
        `personal_data.reveal`), in `jurisdiction_id` (default: the owner's; it must lie in
        the owner's scope), and expires after `days` (at most `max_days`).
        """
        if now.tzinfo is None:
            raise ValueError("`now` must be timezone-aware")
        user = self.repository.get_by_username(normalise_username(owner))
        if user is None or not user.is_active:
            raise NotFoundError(f"no active user '{normalise_username(owner)}'", field="owner")
        label = name.strip()
        if not label or len(label) > 100:
            raise BadRequestError("a token name is 1 to 100 characters", field="name")
        if not 1 <= days <= max_days:
            raise BadRequestError(f"a token lives 1 to {max_days} days", field="days")
        wanted = sorted(set(permissions))
        unknown = check_names(wanted)
        if unknown:
            raise BadRequestError(f"unknown permission '{unknown[0]}'", field="permissions")
        held = permissions_of(user.role) - TOKEN_EXCLUDED_PERMISSIONS
        beyond = [item for item in wanted if item not in held]
        if beyond:
            raise BadRequestError(
                f"a token of a '{user.role}' cannot hold '{beyond[0]}'", field="permissions"
            )
        owner_read = UserRead.model_validate(user)
        place = jurisdiction_id or user.jurisdiction_id
        if place is not None:
            self._check_jurisdiction(Role(user.role), place)
        if not self.scope_for(owner_read).contains(place) and user.jurisdiction_id is not None:
            raise BadRequestError(
                f"jurisdiction '{place}' is outside the owner's '{user.jurisdiction_id}'",
                field="jurisdiction_id",
            )
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(API_TOKEN_BYTES)
        self.repository.add_token(
            ApiToken(
                name=label,
                owner_id=user.id,
                role=user.role,
                permissions=wanted,
                jurisdiction_id=place,
                token_sha256=hash_api_token(token),
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
        return token

    def api_token_name(self, token_id: int) -> str | None:
        """The name a token was issued under (a child node's credential is named after the
        node); None for an unknown id."""
        token = self.repository.get_token(token_id)
        return None if token is None else token.name

    def revoke_api_token(self, token_id: int, *, now: datetime) -> ApiTokenRead:
        """Revoke a token at once; revoking twice keeps the first time."""
        token = self.repository.get_token(token_id)
        if token is None:
            raise NotFoundError(f"unknown API token {token_id}", field="token_id")
        if token.revoked_at is None:
            token.revoked_at = now
            self.repository.flush()
        return ApiTokenRead.model_validate(token)

    def list_api_tokens(self, *, owner: str | None = None) -> list[ApiTokenRead]:
        owner_id: int | None = None
        if owner is not None:
            user = self.repository.get_by_username(normalise_username(owner))
            if user is None:
                raise NotFoundError(f"unknown user '{normalise_username(owner)}'", field="owner")
            owner_id = user.id
        return [
            ApiTokenRead.model_validate(token)
            for token in self.repository.list_tokens(owner_id=owner_id)
        ]

    def authenticate_api_token(self, token: str, *, now: datetime) -> UserRead | None:
        """The principal an API token acts as, or None when unknown, expired or revoked.

        None too when its owner was disabled, changed role, or moved so that the token's
        jurisdiction left their scope: a token never outlives its owner's authority.
        """
        if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
            return None
        row = self.repository.get_token_by_hash(hash_api_token(token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        owner = self.repository.get(row.owner_id)
        if owner is None or not owner.is_active or owner.role != row.role:
            return None
        owner_read = UserRead.model_validate(owner)
        if owner.jurisdiction_id is not None and not self.scope_for(owner_read).contains(
            row.jurisdiction_id
        ):
            return None
        if row.last_used_at is None or now - row.last_used_at >= _LAST_USED_RESOLUTION:
            row.last_used_at = now
            self.repository.flush()
        narrowed = frozenset(row.permissions) or permissions_of(row.role)
        return owner_read.model_copy(
            update={
                "display_name": f"{owner.display_name} · {row.name}",
                "jurisdiction_id": row.jurisdiction_id,
                "token_id": row.id,
                "token_permissions": narrowed - TOKEN_EXCLUDED_PERMISSIONS,
            }
        )

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

    def _user_named(self, username: str) -> User:
        user = self.repository.get_by_username(normalise_username(username))
        if user is None:
            raise NotFoundError(f"unknown user '{normalise_username(username)}'", field="username")
        return user

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
