"""Registered GA/T 1400 peers, keyed by the `User-Identify` header, with expiry."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from zhian.kit.clock import Clock


@dataclass
class ViidSession:
    """One registered peer: who, from where, since when, last seen when."""

    device_id: str
    remote: str
    registered_at: datetime
    last_seen_at: datetime


class SessionTable:
    """Sessions live `ttl` after the last successful call (3 missed keepalives by default).

    Kept in memory: after a restart every peer gets 401 and registers again, which is
    what GA/T 1400 peers do anyway when a session is lost.
    """

    def __init__(self, *, ttl_seconds: float, clock: Clock) -> None:
        self._ttl = timedelta(seconds=ttl_seconds)
        self._clock = clock
        self._sessions: dict[str, ViidSession] = {}
        self._lock = threading.Lock()

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def open(self, device_id: str, remote: str) -> ViidSession:
        now = self._clock.now()
        session = ViidSession(device_id, remote, now, now)
        with self._lock:
            self._sessions[device_id] = session
        return session

    def touch(self, device_id: str | None) -> ViidSession | None:
        """Refresh a live session (any successful call does); None when absent or expired."""
        if not device_id:
            return None
        now = self._clock.now()
        with self._lock:
            session = self._sessions.get(device_id)
            if session is None:
                return None
            if now - session.last_seen_at > self._ttl:
                del self._sessions[device_id]
                return None
            session.last_seen_at = now
            return session

    def is_alive(self, device_id: str) -> bool:
        now = self._clock.now()
        with self._lock:
            session = self._sessions.get(device_id)
            return session is not None and now - session.last_seen_at <= self._ttl

    def close(self, device_id: str) -> bool:
        with self._lock:
            return self._sessions.pop(device_id, None) is not None

    def expire(self) -> list[str]:
        """Drop sessions past their TTL; returns the device IDs that went offline."""
        now = self._clock.now()
        with self._lock:
            gone = [d for d, s in self._sessions.items() if now - s.last_seen_at > self._ttl]
            for device_id in gone:
                del self._sessions[device_id]
        return gone

    def live(self) -> list[ViidSession]:
        now = self._clock.now()
        with self._lock:
            return [s for s in self._sessions.values() if now - s.last_seen_at <= self._ttl]
