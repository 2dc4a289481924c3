"""The nearest available responder to an alert, for dispatch from the map.

Responders carry no live position in Zhian yet (patrol positions are opt-in and not
collected), so a responder stands at the place they are responsible for: the centre of
the communities in their jurisdiction. *Available* means the responder is one the alert
may be dispatched to (active, placed in the alert's jurisdiction subtree, with a role that
handles alerts: `zhian.web.alerts_api.assignee_choices`) and holds no open alert that was
dispatched to them and is not yet handled (state dispatched or on site).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zhian.access.service import UserRead
from zhian.maps.coords import distance_m
from zhian.registry.schemas import CommunityRead, JurisdictionTreeRead


@dataclass(frozen=True)
class ResponderChoice:
    user_id: int
    display_name: str
    role: str
    distance_m: float | None
    open_assignments: int

    @property
    def is_available(self) -> bool:
        return self.open_assignments == 0


def jurisdiction_centres(
    tree: JurisdictionTreeRead, communities: Sequence[CommunityRead]
) -> dict[str, tuple[float, float]]:
    """Each jurisdiction's centre: the mean of the centres of the communities below it."""
    sums: dict[str, list[float]] = {}
    for community in communities:
        current: str | None = tree.community_jurisdiction.get(community.id)
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            total = sums.setdefault(current, [0.0, 0.0, 0.0])
            total[0] += community.latitude
            total[1] += community.longitude
            total[2] += 1
            current = tree.parents.get(current)
    return {j: (lat / n, lon / n) for j, (lat, lon, n) in sums.items()}


def rank_responders(
    at: tuple[float, float] | None,
    candidates: Sequence[UserRead],
    centres: Mapping[str, tuple[float, float]],
    open_assignments: Mapping[int, int],
) -> list[ResponderChoice]:
    """Candidates nearest first, available ones before busy ones; a responder whose place
    has no position (or an alert without one) comes after those with a distance."""
    choices = []
    for user in candidates:
        centre = centres.get(user.jurisdiction_id or "")
        distance = distance_m(at, centre) if at is not None and centre is not None else None
        choices.append(
            ResponderChoice(
                user_id=user.id,
                display_name=user.display_name,
                role=user.role,
                distance_m=None if distance is None else round(distance, 1),
                open_assignments=open_assignments.get(user.id, 0),
            )
        )
    return sorted(
        choices,
        key=lambda c: (
            not c.is_available,
            c.distance_m is None,
            c.distance_m or 0.0,
            c.user_id,
        ),
    )
