"""Rarity: how unusual a vehicle's passage is, against its own history at the place and the
place's. Only ever a second signal on an alert a rule raised: never an alert by itself
(DESIGN.md, no lifestyle-based labels)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Hours within this many of the passage's local hour count as "the same time of day".
HOUR_SPREAD = 1


def _near(hour: int, other: int) -> bool:
    gap = abs(hour - other) % 24
    return min(gap, 24 - gap) <= HOUR_SPREAD


@dataclass
class PassageHistory:
    """The passages seen so far at each place, fed in time order."""

    _by_place: dict[str, Counter[int]] = field(default_factory=dict)  # place -> local hours
    _by_vehicle: dict[tuple[str, str], Counter[int]] = field(default_factory=dict)

    def add(self, place: str, vehicle: str, local_hour: int) -> None:
        self._by_place.setdefault(place, Counter())[local_hour] += 1
        self._by_vehicle.setdefault((place, vehicle), Counter())[local_hour] += 1

    def figures(self, place: str, vehicle: str, local_hour: int) -> dict[str, float | int]:
        """Evidence figures of a passage against what came before it:

        - `seen_here_before`: the vehicle's earlier passages at the place;
        - `seen_here_at_hour_before`: those within an hour of this passage's local hour;
        - `place_share_at_hour`: the share of the place's earlier passages within an hour
          of it (how usual the hour is for the place);
        - `rarity`: 0 (usual) to 1 (never seen), the mean of the vehicle's (1 − its share
          of passages here at this hour; 1 when never here) and the place's (1 − its share).
        """
        own = self._by_vehicle.get((place, vehicle), Counter())
        place_hours = self._by_place.get(place, Counter())
        seen = sum(own.values())
        seen_at_hour = sum(n for hour, n in own.items() if _near(hour, local_hour))
        total = sum(place_hours.values())
        at_hour = sum(n for hour, n in place_hours.items() if _near(hour, local_hour))
        place_share = at_hour / total if total else 0.0
        vehicle_rarity = 1 - seen_at_hour / seen if seen else 1.0
        return {
            "seen_here_before": seen,
            "seen_here_at_hour_before": seen_at_hour,
            "place_share_at_hour": round(place_share, 3),
            "rarity": round((vehicle_rarity + 1 - place_share) / 2, 3),
        }
