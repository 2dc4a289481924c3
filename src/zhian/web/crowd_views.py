"""The crowd situation (人流态势): per zone occupancy, density, level, forecast and advice."""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.rules.crowd import LEVELS, ZoneView
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

# The page's own texts (zh, en); the menu label is registered with the page texts below.
CROWD_TEXT: dict[str, tuple[str, str]] = {
    "nav_crowd": ("人流态势", "Crowds"),
    "crowd_title": ("人流态势与超载预警", "Crowd situation and overload warnings"),
    "crowd_zone": ("区域", "Zone"),
    "crowd_occupancy": ("人数", "People"),
    "crowd_density": ("密度（人/㎡）", "Density (persons/m²)"),
    "crowd_level": ("等级", "Level"),
    "crowd_forecast": ("预测", "Forecast"),
    "crowd_close": ("建议关闭限流点", "Close flow points"),
    "crowd_divert": ("建议分流至", "Divert to"),
    "crowd_officers": ("需警力", "Officers needed"),
    "crowd_none": ("暂无人流数据", "No crowd counts yet"),
    "crowd_updated": ("更新于", "Updated"),
    "crowd_history": ("实测", "Reconciled"),
    "crowd_mean": ("预测均值", "Forecast mean"),
    "crowd_band": ("预测区间（±2σ）", "Forecast band (±2σ)"),
    "crowd_threshold": ("警戒线", "Threshold"),
    "crowd_crossing": ("预计越线（分钟）", "Crossing in (minutes)"),
}
add_texts(CROWD_TEXT)


def forecast_chart(
    view: ZoneView, threshold: float, t: dict[str, str], zone: tzinfo = UTC
) -> dict[str, Any]:
    """Density history and forecast (mean, ±2σ band) with the threshold, for ECharts; the
    axis reads in `zone` (the pages' display zone)."""
    history = [(at.astimezone(zone), people / view.area_m2) for at, people in view.history[-90:]]
    labels = [at.strftime("%H:%M") for at, _ in history]
    measured: list[float | None] = [round(d, 3) for _, d in history]
    mean: list[float | None] = [None] * len(history)
    low: list[float | None] = [None] * len(history)
    band: list[float | None] = [None] * len(history)
    if view.forecast is not None and history:
        last = history[-1][0]
        mean[-1] = measured[-1]
        for h, (m, sd) in enumerate(view.forecast.path, start=1):
            labels.append((last + timedelta(minutes=h)).strftime("%H:%M"))
            measured.append(None)
            mean.append(round(m / view.area_m2, 3))
            lo = max(0.0, m - 2 * sd) / view.area_m2
            low.append(round(lo, 3))
            band.append(round((m + 2 * sd) / view.area_m2 - lo, 3))
    line = {"type": "line", "showSymbol": False}
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [t["crowd_history"], t["crowd_mean"], t["crowd_band"]], "top": 0},
        "grid": {"left": 36, "right": 12, "top": 32, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": t["crowd_density"]},
        "series": [
            {**line, "name": t["crowd_history"], "data": measured, "color": "#2f6fb3"},
            {
                **line,
                "name": t["crowd_mean"],
                "data": mean,
                "color": "#c25e00",
                "lineStyle": {"type": "dashed"},
                "markLine": {
                    "symbol": "none",
                    "data": [{"yAxis": threshold, "name": t["crowd_threshold"]}],
                    "lineStyle": {"color": "#b3261e"},
                },
            },
            {**line, "name": "low", "data": low, "stack": "band", "lineStyle": {"opacity": 0}},
            {
                **line,
                "name": t["crowd_band"],
                "data": band,
                "stack": "band",
                "lineStyle": {"opacity": 0},
                "areaStyle": {"color": "#c25e00", "opacity": 0.15},
            },
        ],
    }


@router.get("/crowd", response_class=HTMLResponse, include_in_schema=False)
def crowd_page(page: PageDep) -> HTMLResponse:
    snapshot = page.node.crowd.snapshot()
    config = page.node.crowd.config
    t = dict(page.t)
    zones = [
        {
            "view": view,
            "level": LEVELS[view.level][1 if page.lang == "zh" else 2],
            "chart": forecast_chart(view, config.threshold, t, page.zone),
        }
        for view in snapshot.zones
    ]
    return page.render(
        "crowd.html",
        {
            "snapshot": snapshot,
            "zones": zones,
            "threshold": config.threshold,
            "horizon": config.forecast_minutes,
        },
    )
