"""The duplicate index: which (device, event id) pairs the log already holds."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime


def event_key(device_id: str, event_id: str) -> str:
    # \x1f (unit separator) cannot occur in a valid id, so keys never collide.
    return f"{device_id}\x1f{event_id}"


class DuplicateIndex:
    """Remembers event keys, each with the time it arrived, within the accepted window.

    Events older than the window are refused as too old, so keys beyond it can be
    forgotten: memory is bounded by the window, not by the history.
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def reserve(self, keys: Sequence[str], received_at: float) -> list[bool]:
        """Claim keys for a batch about to be logged; False where the key is already taken."""
        claimed: list[bool] = []
        append = claimed.append
        with self._lock:
            seen = self._seen
            for key in keys:
                if key in seen:
                    append(False)
                else:
                    seen[key] = received_at
                    append(True)
        return claimed

    def release(self, keys: Iterable[str]) -> None:
        """Give back keys whose batch never became durable."""
        with self._lock:
            for key in keys:
                self._seen.pop(key, None)

    def load(self, entries: Iterable[tuple[str, float]]) -> None:
        with self._lock:
            self._seen.update(entries)

    def forget_before(self, cutoff: datetime) -> int:
        """Drop keys that arrived before `cutoff`; returns how many went."""
        limit = cutoff.timestamp()
        with self._lock:
            old = [key for key, moment in self._seen.items() if moment < limit]
            for key in old:
                del self._seen[key]
        return len(old)
