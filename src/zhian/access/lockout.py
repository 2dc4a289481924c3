"""Lockout and back-off after repeated failed sign-ins, per username and per client address."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError

from zhian.access.models import LoginFailure
from zhian.access.repository import UserRepository

# Longest key part kept: the form allows 64-character usernames, addresses are shorter.
_KEY_CHARS = 200


class LockKind(StrEnum):
    USERNAME = "user"
    ADDRESS = "ip"


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures lock, and for how long (settings `web.login_*`).

    The n-th lock in a row lasts `lock_seconds * 2**(n-1)`, at most `lock_max_seconds`.
    Counters are forgotten `window_seconds` after the last failure or the end of the lock.
    """

    max_failures: int = 5
    ip_max_failures: int = 20
    lock_seconds: int = 60
    lock_max_seconds: int = 3600
    window_seconds: int = 900

    def lock_length(self, locks_before: int) -> timedelta:
        # Bounded exponent: after ~40 locks the doubling would only overflow.
        seconds = self.lock_seconds * 2 ** min(locks_before, 40)
        return timedelta(seconds=min(seconds, self.lock_max_seconds))


@dataclass(frozen=True)
class Lock:
    """A username or an address that may not sign in before `until`."""

    kind: LockKind
    until: datetime

    def minutes_left(self, now: datetime) -> int:
        """Whole minutes to wait, rounded up (at least 1), for the message on the page."""
        return max(1, math.ceil((self.until - now).total_seconds() / 60))


class LoginThrottle:
    """Counts failed sign-ins and locks usernames and addresses; the caller commits."""

    def __init__(self, repository: UserRepository, policy: LockoutPolicy) -> None:
        self.repository = repository
        self.policy = policy

    def check(self, username: str, address: str | None, now: datetime) -> Lock | None:
        """The lock that refuses a sign-in now, if any (the username's first)."""
        for kind, key in self._keys(username, address):
            row = self.repository.get_failure(key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                return Lock(kind, row.locked_until)
        return None

    def record_failure(self, username: str, address: str | None, now: datetime) -> Lock | None:
        """Count one failure; the lock it starts, if it reached a limit."""
        started: Lock | None = None
        for kind, key in self._keys(username, address):
            limit = (
                self.policy.max_failures
                if kind is LockKind.USERNAME
                else self.policy.ip_max_failures
            )
            lock = self._count(key, kind, limit, now)
            started = started or lock
        return started

    def record_success(self, username: str) -> None:
        """A correct password clears the username's counter (the address's runs on)."""
        self.repository.clear_failure(_key(LockKind.USERNAME, username))

    def _keys(self, username: str, address: str | None) -> list[tuple[LockKind, str]]:
        keys = [(LockKind.USERNAME, _key(LockKind.USERNAME, username))]
        if address:
            keys.append((LockKind.ADDRESS, _key(LockKind.ADDRESS, address)))
        return keys

    def _count(self, key: str, kind: LockKind, limit: int, now: datetime) -> Lock | None:
        row = self.repository.get_failure(key)
        if row is None:
            row = LoginFailure(key=key, failures=0, locks=0, last_failed_at=now)
            try:
                with self.repository.session.begin_nested():
                    self.repository.add_failure(row)
            except IntegrityError:  # a concurrent failure created it first
                row = self.repository.get_failure(key)
                if row is None:
                    raise
        quiet_since = max(row.last_failed_at, row.locked_until or row.last_failed_at)
        if now - quiet_since > timedelta(seconds=self.policy.window_seconds):
            row.failures = 0
            row.locks = 0
        row.failures += 1
        row.last_failed_at = now
        lock: Lock | None = None
        if row.failures >= limit:
            row.locked_until = now + self.policy.lock_length(row.locks)
            row.locks += 1
            row.failures = 0
            lock = Lock(kind, row.locked_until)
        self.repository.flush()
        return lock


def _key(kind: LockKind, value: str) -> str:
    return f"{kind.value}:{value.strip().lower()[:_KEY_CHARS]}"
