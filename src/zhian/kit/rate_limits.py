"""A fixed-window counter per key, in memory: how many times a key was used this window."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

# Keys kept before the oldest windows are forgotten (a flood of distinct keys stays bounded).
MAX_KEYS = 100_000


class WindowCounter:
    """Counts uses per key in windows of `window_seconds` (per process, not shared).

    `hit` returns False once a key has been used `limit` times in the current window.
    """

    def __init__(self, *, limit: int, window_seconds: int, now: Callable[[], datetime]) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._now = now
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        """Count one use of `key`; False (not counted) when it is over the limit."""
        window = int(self._now().timestamp()) // self.window_seconds
        with self._lock:
            if len(self._counts) >= MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            seen_window, count = self._counts.get(key, (window, 0))
            if seen_window != window:
                count = 0
            if count >= self.limit:
                return False
            self._counts[key] = (window, count + 1)
            return True

    def seconds_left(self) -> int:
        """Seconds until the current window ends (a `Retry-After`)."""
        elapsed = int(self._now().timestamp()) % self.window_seconds
        return self.window_seconds - elapsed
