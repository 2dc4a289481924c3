"""ECharts options built on the server, so the pages only hand JSON to `echarts.setOption`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from zhian.alerts.schemas import DaySeries, OnlineRatePoint

_PALETTE = ["#1b7f3b", "#c25e00", "#b3261e", "#2f6fb3", "#6a4c93", "#00838f"]


def _base(legend: list[str]) -> dict[str, Any]:
    return {
        "color": _PALETTE,
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"data": legend, "top": 0},
        "grid": {"left": 36, "right": 12, "top": 32, "bottom": 24, "containLabel": True},
    }


def weekly_chart(series: Sequence[DaySeries], t: Mapping[str, str]) -> dict[str, Any]:
    """Handled / still open / false alarms per day, as grouped bars."""
    names = [t["handled"], t["open_now"], t["false_alarms"]]
    option = _base(names)
    option["xAxis"] = {"type": "category", "data": [day.day.strftime("%m-%d") for day in series]}
    option["yAxis"] = {"type": "value", "minInterval": 1}
    option["series"] = [
        {"name": names[0], "type": "bar", "data": [day.handled for day in series]},
        {"name": names[1], "type": "bar", "data": [day.open for day in series]},
        {"name": names[2], "type": "bar", "data": [day.false_alarm for day in series]},
    ]
    return option


def online_rate_by_community(
    points: Sequence[OnlineRatePoint],
) -> dict[str, list[tuple[datetime, float]]]:
    """Per community, the online rate over all its device kinds at each sample time."""
    totals: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0])
    for point in points:
        pair = totals[(point.community_id, point.sampled_at)]
        pair[0] += point.online
        pair[1] += point.total
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for (community_id, sampled_at), (online, total) in sorted(
        totals.items(), key=lambda item: item[0][1]
    ):
        if total:
            out[community_id].append((sampled_at, round(100.0 * online / total, 1)))
    return dict(out)


def online_rate_chart(
    points: Sequence[OnlineRatePoint],
    names: Mapping[str, str],
    zone: timezone,
    goal_pct: float,
) -> dict[str, Any]:
    """One line per community (online %), with the goal as a dashed mark line."""
    by_community = online_rate_by_community(points)
    legend = [names.get(community_id, community_id) for community_id in by_community]
    option = _base(legend)
    option["xAxis"] = {"type": "time"}
    low = min((rate for line in by_community.values() for _, rate in line), default=90.0)
    option["yAxis"] = {"type": "value", "max": 100, "min": max(0, int(min(low, goal_pct)) - 5)}
    option["series"] = [
        {
            "name": names.get(community_id, community_id),
            "type": "line",
            "showSymbol": False,
            # Wall-clock time of the display zone without an offset: ECharts reads it as
            # is, so the axis shows the configured zone whatever the browser's zone.
            "data": [
                [at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), rate] for at, rate in line
            ],
            "markLine": {
                "silent": True,
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#5b6776"},
                "data": [{"yAxis": goal_pct}],
            }
            if index == 0
            else {},
        }
        for index, (community_id, line) in enumerate(by_community.items())
    ]
    return option


def tier_chart(counts: Mapping[str, int], labels: Mapping[str, str]) -> dict[str, Any]:
    """Alerts by tier, as a pie."""
    colours = {"major": "#b3261e", "general": "#c25e00", "minor": "#2f6fb3"}
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "top": 24,
                "data": [
                    {
                        "name": labels.get(tier, tier),
                        "value": counts.get(tier, 0),
                        "itemStyle": {"color": colours[tier]},
                    }
                    for tier in ("major", "general", "minor")
                ],
            }
        ],
    }
