"""The one definition of the device online rate (see `device_online_rate` in the catalogue).

Samples are taken every few minutes per (community, device kind); the rate over a window
keeps, for each hour of the window, the last sample of each (community, kind) and divides
the devices online by the devices counted: device-hours online ÷ device-hours. Pure
functions over plain tuples, so the alert loop's KPI report and the metrics layer share them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

HOUR_SECONDS = 3600
# (sampled_at, community_id, device_kind, total, online)
Sample = tuple[datetime, str, str, int, int]


def last_per_hour(samples: Iterable[Sample], since: datetime) -> dict[tuple[int, str, str], Sample]:
    """The last sample of each (hour of the window, community, kind); hour k of the window
    is (since + k h, since + (k + 1) h]."""
    kept: dict[tuple[int, str, str], Sample] = {}
    for sample in samples:
        at, community_id, kind = sample[0], sample[1], sample[2]
        seconds = (at - since).total_seconds()
        hour = max(0, int(-(-seconds // HOUR_SECONDS)) - 1)
        key = (hour, community_id, kind)
        current = kept.get(key)
        if current is None or at >= current[0]:
            kept[key] = sample
    return kept


def online_counts(samples: Iterable[Sample], since: datetime) -> tuple[int, int]:
    """(device-hours online, device-hours) over the window that starts after `since`."""
    kept = last_per_hour(samples, since).values()
    return sum(s[4] for s in kept), sum(s[3] for s in kept)


def online_rate_pct(samples: Iterable[Sample], since: datetime) -> float | None:
    """100 × online ÷ total over the kept samples; None when there is no sample."""
    online, total = online_counts(samples, since)
    return round(100.0 * online / total, 1) if total else None


def by_community(samples: Iterable[Sample], since: datetime) -> dict[str, tuple[int, int]]:
    """(online, total) per community over the kept samples (for the devices page's rows)."""
    out: dict[str, tuple[int, int]] = {}
    for _at, community_id, _kind, total, online in last_per_hour(samples, since).values():
        was_online, was_total = out.get(community_id, (0, 0))
        out[community_id] = (was_online + online, was_total + total)
    return out
