"""`BackgroundLoop`: one daemon thread that runs a step again and again until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

_logger = logging.getLogger(__name__)

# The longest pause after repeated errors, unless the loop's own interval is longer.
DEFAULT_MAX_BACKOFF_SECONDS = 30.0


class BackgroundLoop:
    """Runs `step` on a daemon thread every `interval_seconds` until `stop()`.

    `step` returns True when more work is waiting (the loop runs it again at once) and
    False or None when it may rest for `interval_seconds`. An exception is logged with the
    loop's name and the step is tried again after a pause that starts at the interval and
    doubles with each error in a row, up to `max_backoff_seconds` (never below the
    interval); one step that goes through resets it. An exception of a `fatal` type ends
    the loop without a retry (a corrupt record must not be skipped); the step logs and
    records it, since only the owner knows what it means.

    With `wait_first` the loop rests one interval before its first step (a periodic job
    that was just run by hand, or should not run at the moment of start-up). `wake()`
    ends the current rest early; `stop()` ends it and joins the thread.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], bool | None],
        *,
        interval_seconds: float,
        wait_first: bool = False,
        max_backoff_seconds: float = DEFAULT_MAX_BACKOFF_SECONDS,
        fatal: tuple[type[BaseException], ...] = (),
        logger: logging.Logger | None = None,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        self.name = name
        self._step = step
        self.interval_seconds = interval_seconds
        self._wait_first = wait_first
        self._max_backoff_seconds = max(max_backoff_seconds, interval_seconds)
        self._fatal = fatal
        self._logger = logger or _logger
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors_in_a_row = 0

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def is_stopping(self) -> bool:
        """True once `stop()` was called; a long step may look at it between pieces of work."""
        return self._stopping.is_set()

    def start(self) -> None:
        if self.is_running:
            raise RuntimeError(f"the {self.name} loop is already running")
        self._stopping.clear()
        self._wake.clear()
        self.errors_in_a_row = 0
        self._thread = threading.Thread(target=self._run, name=f"zhian-{self.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next step now rather than at the end of the current rest."""
        self._wake.set()

    def stop(self, timeout_seconds: float | None = None) -> None:
        """Stop after the step in progress, if any, and wait for the thread to end."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
            self._thread = None

    def backoff_seconds(self) -> float:
        """The pause before the next try, after `errors_in_a_row` errors."""
        if self.errors_in_a_row == 0:
            return self.interval_seconds
        pause: float = self.interval_seconds * 2 ** (self.errors_in_a_row - 1)
        return min(pause, self._max_backoff_seconds)

    def _rest(self, seconds: float) -> bool:
        """Rest up to `seconds`; False once the loop is stopping."""
        self._wake.wait(seconds)
        self._wake.clear()
        return not self._stopping.is_set()

    def _run(self) -> None:
        if self._wait_first and not self._rest(self.interval_seconds):
            return
        while not self._stopping.is_set():
            try:
                busy = self._step()
            except self._fatal:
                return
            except Exception:
                self.errors_in_a_row += 1
                pause = self.backoff_seconds()
                self._logger.exception(
                    "the %s loop failed; trying again in %.1f s", self.name, pause
                )
                if not self._rest(pause):
                    return
                continue
            self.errors_in_a_row = 0
            if not busy and not self._rest(self.interval_seconds):
                return
