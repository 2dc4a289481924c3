"""The state of an upward link: up or down, failures in a row, when to register again.

Shared by the forwarder to a parent Zhian node and the GA/T 1400 upward client. The
field's interface rules: a notification not acknowledged within the timeout is sent again;
after `attempts` failures the link is down and items stay cached; the node then registers
again after a pause that doubles with each refused registration, up to a cap, with jitter
so that the children of one parent do not all come back in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    """Pauses between registrations: initial × 2ⁿ, capped, then jittered down to half."""

    initial_seconds: float
    max_seconds: float
    # In [0, 1): the share of the pause drawn at random (0 = no jitter, for tests).
    jitter: float = 0.5

    def pause_seconds(self, refusals_in_a_row: int, draw: Callable[[], float]) -> float:
        """The pause after the `refusals_in_a_row`-th failure in a row (1 = the first)."""
        exponent = max(0, refusals_in_a_row - 1)
        # 2**exponent overflows float arithmetic for a link down for days: cap the exponent.
        pause: float = min(self.max_seconds, self.initial_seconds * 2.0 ** min(exponent, 60))
        return pause * (1.0 - self.jitter * draw())


@dataclass
class LinkState:
    """Where a link stands; the forwarder and the GA/T 1400 client each keep one.

    `draw` gives the jitter (a random number in [0, 1)); tests pass a fixed one.
    """

    backoff: Backoff
    is_up: bool = False
    registrations: int = 0
    refusals_in_a_row: int = 0
    last_contact_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str = ""
    went_down_at: datetime | None = None
    draw: Callable[[], float] = field(default=random.random, repr=False)

    def may_try(self, now: datetime) -> bool:
        """Whether the link is up or its pause before the next registration is over."""
        return self.is_up or self.next_attempt_at is None or now >= self.next_attempt_at

    def contact(self, now: datetime) -> None:
        """The peer acknowledged something: the link is up."""
        self.last_contact_at = now
        self.refusals_in_a_row = 0
        self.next_attempt_at = None
        self.last_error = ""

    def registered(self, now: datetime) -> None:
        self.is_up = True
        self.registrations += 1
        self.went_down_at = None
        self.contact(now)

    def failed(self, now: datetime, error: str) -> float:
        """A registration was refused or the link dropped: down until the pause is over.

        Returns the pause in seconds."""
        if self.is_up or self.went_down_at is None:
            self.went_down_at = now
        self.is_up = False
        self.refusals_in_a_row += 1
        self.last_error = error[:500]
        pause = self.backoff.pause_seconds(self.refusals_in_a_row, self.draw)
        self.next_attempt_at = now + timedelta(seconds=pause)
        return pause
