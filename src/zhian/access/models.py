"""Users, API tokens for integrations and the failed sign-in counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class User(Base):
    """A person who signs in to the pages: a role, the jurisdiction they serve, a password.

    `jurisdiction_id` is empty only for roles that administer the node (see
    `zhian.access.roles.UNSCOPED_ROLES`). Only the argon2 hash of the password is kept.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored in lower case: usernames compare case-insensitively.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    jurisdiction_id: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token for an integration, acting for its owner within narrower bounds.

    It carries the owner's role at issue time, optionally fewer permissions
    (`permissions`, empty = all of the role's but never `personal_data.reveal`), and a
    jurisdiction inside the owner's. It always expires; only its sha256 is kept (the token,
    prefixed `zat_`, is shown once). Device tokens live on the device table and only feed
    the intake; the two are never interchangeable.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    permissions: Mapped[list[str]] = mapped_column(JSON)
    jurisdiction_id: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoginFailure(Base):
    """Recent failed sign-ins of one username or one client address, and its lock.

    `key` is `user:<username>` or `ip:<address>`; a username that does not exist is
    counted like one that does, so locks do not tell which accounts exist. `locks` counts
    the locks in a row: each doubles the next one's length.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    failures: Mapped[int] = mapped_column(Integer)
    locks: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class UserSession(Base):
    """One signed-in browser: what the session cookie stands for, ended server-side.

    The cookie carries a random session id; only its sha256 is kept, so a copy of the
    database opens no session. Logout revokes the one session; a password change or
    disabling the user revokes all of theirs. A session past `expires_at` is refused even
    while its cookie's signature is still valid.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
