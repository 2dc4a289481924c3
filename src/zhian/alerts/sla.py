"""SLA clocks: deadlines per tier and jurisdiction, warnings, breaches and escalation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from zhian.alerts.places import JurisdictionTree
from zhian.alerts.settings import AlertSettings
from zhian.kit.loops import BackgroundLoop

logger = logging.getLogger(__name__)

# tier -> (milestone, setting holding its seconds)
TIER_DEADLINES: dict[str, tuple[tuple[str, str], ...]] = {
    "minor": (("feedback", "minor_feedback_seconds"),),
    "general": (("sign", "general_sign_seconds"), ("on_site", "general_on_site_seconds")),
    "major": (("response", "major_response_seconds"),),
}
# The transition that meets each milestone ("response" of a major alert: on site).
_MET_BY: dict[str, frozenset[str]] = {
    "sign": frozenset({"sign"}),
    "dispatch": frozenset(),
    "arrive": frozenset({"on_site", "response"}),
    "handle": frozenset({"feedback"}),
}


def milestones_met_by(action: str) -> frozenset[str]:
    return _MET_BY.get(action, frozenset())


class DeadlinePolicy:
    """The deadlines of a tier in a jurisdiction: the nearest override up the tree wins."""

    def __init__(self, settings: AlertSettings, tree: JurisdictionTree) -> None:
        self.settings = settings
        self.tree = tree

    def seconds(self, setting: str, jurisdiction_id: str | None) -> int:
        for jurisdiction in self.tree.ancestry(jurisdiction_id):
            override = self.settings.jurisdiction_deadlines.get(jurisdiction, {})
            if setting in override:
                return int(override[setting])
        return int(getattr(self.settings, setting))

    def deadlines(self, tier: str, jurisdiction_id: str | None) -> list[tuple[str, int]]:
        return [
            (milestone, self.seconds(setting, jurisdiction_id))
            for milestone, setting in TIER_DEADLINES[tier]
        ]


class SlaMonitor:
    """Checks every open clock: warns before it runs out, escalates when it does.

    `tick(now)` runs one check (tests call it on a manual clock); `start()` runs it on a
    daemon thread every `sla_tick_seconds`. `run_check` is given by the node: it opens a
    transaction, calls `AlertService.check_deadlines(now)`, commits and publishes.
    """

    def __init__(
        self,
        run_check: Callable[[datetime], tuple[int, int]],
        now: Callable[[], datetime],
        *,
        interval_seconds: float,
    ) -> None:
        self._run_check = run_check
        self._now = now
        self._loop = BackgroundLoop(
            "sla",
            self._tick_in_loop,
            interval_seconds=interval_seconds,
            wait_first=True,
            logger=logger,
        )

    def tick(self, now: datetime | None = None) -> tuple[int, int]:
        """One check; returns (warnings, breaches) raised."""
        return self._run_check(now or self._now())

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def _tick_in_loop(self) -> None:
        self.tick()


def warn_at(due_at: datetime, settings: AlertSettings) -> datetime:
    return due_at - timedelta(seconds=settings.warn_before_seconds)
