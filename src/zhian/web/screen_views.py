"""The big screen (大屏): one 1920×1080 dark page for a command centre: the map with live
alerts, KPI tiles with 环比, the alert trend, top alert types, device health and crowd
warnings with their forecast; kept current by the live feed and a periodic snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse

from zhian.alerts.schemas import AlertState
from zhian.metrics.periods import Granularity, hour_window, period_containing
from zhian.metrics.schemas import StatisticsRead
from zhian.metrics.service import MetricsService
from zhian.registry.service import RegistryService
from zhian.rules.crowd import LEVELS, ZoneView
from zhian.web.auth import current_user
from zhian.web.deps import Context
from zhian.web.i18n import add_texts, label
from zhian.web.layout import PageDep, display_zone
from zhian.web.openapi_errors import error_responses
from zhian.web.stats_views import metric_title

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])
api = APIRouter(
    prefix="/api/v1",
    tags=["screen"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 403),
)

SCREEN_TEXT: dict[str, tuple[str, str]] = {
    "nav_screen": ("大屏", "Big screen"),
    "screen_title": ("治安态势大屏", "Public-order situation"),
    "screen_trend": ("近14日预警趋势", "Alerts, last 14 days"),
    "screen_top_types": ("今日预警类型前五", "Top alert types today"),
    "screen_devices": ("设备运行", "Device health"),
    "screen_crowd": ("人流预警", "Crowd warnings"),
    "screen_open_faults": ("未结设备告警", "Open device alerts"),
    "screen_live": ("实时", "Live"),
    "screen_offline": ("连接中断", "Disconnected"),
    "screen_updated": ("更新于", "Updated"),
    "screen_stale": ("数据已过时", "Data is stale"),
    "screen_crossing": ("预计越线", "Crossing in"),
    "screen_minutes": ("分钟", "min"),
    "screen_no_crowd": ("无人流预警", "No crowd warning"),
    "screen_measured": ("实测", "Measured"),
    "screen_forecast": ("预测", "Forecast"),
}
add_texts(SCREEN_TEXT)

TILES = ("alerts", "median_sign_minutes", "overdue_rate", "device_online_rate", "cases")
TREND_DAYS = 14
TOP_TYPES = 5
WARNING_LEVEL = 2  # 预警 and above (zhian.rules.crowd.LEVELS)
CROWD_ZONES = 3  # warned zones listed with their curve: what the panel holds
CURVE_MINUTES = 30  # measured minutes drawn before the forecast


def zone_curve(view: ZoneView, zone: tzinfo) -> dict[str, list[Any]]:
    """A zone's density (persons/m²) over its last minutes and the forecast's mean path
    after them (the crowd page's chart, small): labels in the local zone, `measured`
    then `forecast`, each None where the other holds the point (the last measured point
    starts the forecast line)."""
    history = [(at.astimezone(zone), people / view.area_m2) for at, people in view.history]
    history = history[-CURVE_MINUTES:]
    labels = [at.strftime("%H:%M") for at, _ in history]
    measured: list[float | None] = [round(density, 3) for _, density in history]
    forecast: list[float | None] = [None] * len(history)
    if view.forecast is not None and history:
        last = history[-1][0]
        forecast[-1] = measured[-1]
        for minute, (mean, _sd) in enumerate(view.forecast.path, start=1):
            labels.append((last + timedelta(minutes=minute)).strftime("%H:%M"))
            measured.append(None)
            forecast.append(round(mean / view.area_m2, 3))
    return {"labels": labels, "measured": measured, "forecast": forecast}


def _tile(statistics: StatisticsRead, metric: str, lang: str) -> dict[str, Any]:
    figure = next(f for f in statistics.figures if f.metric == metric and f.key is None)
    return {
        "metric": metric,
        "title": metric_title(lang, metric),
        "value": figure.value,
        "change_previous_pct": figure.change_previous_pct,
    }


def screen_snapshot(context: Context, lang: str) -> dict[str, Any]:
    """Everything the big screen shows except the map, for the user's jurisdiction."""
    node = context.node
    now: datetime = node.clock.now()
    zone = display_zone(node)
    metrics = MetricsService(context.session, draft_due_days=node.settings.registry.draft_due_days)
    area = metrics.area(context.scope, None)
    today = period_containing(Granularity.DAY, now, zone)
    statistics = metrics.statistics(area, today)
    tiles = [_tile(statistics, metric, lang) for metric in TILES]
    since, until = hour_window(now)
    tiles[3] = {**tiles[3], "value": metrics.online_rate_pct(area, since, until)}
    kinds = sorted(
        statistics.breakdown("alerts_by_kind"), key=lambda f: (-(f.value or 0), f.key or "")
    )
    top = [
        {"kind": f.key, "name": label(lang, "kind", f.key), "count": f.value}
        for f in kinds
        if f.value
    ][:TOP_TYPES]
    trend = metrics.trend(area, today, "alerts", None, TREND_DAYS)
    faults = context.alerts.open_device_alerts(scope=context.scope)
    in_scope = {z.id for z in RegistryService(context.session).zones(scope=context.scope)}
    warned = sorted(
        (
            view
            for view in node.crowd.snapshot().zones
            if view.zone_id in in_scope and (view.level >= WARNING_LEVEL or view.forecast_warning)
        ),
        key=lambda v: (-v.level, v.crossing_in_minutes is None, v.crossing_in_minutes or 0),
    )
    crowd = [
        {
            "zone_id": view.zone_id,
            "name": view.name,
            "level": view.level,
            "level_name": LEVELS[view.level][2 if lang == "en" else 1],
            "density_per_m2": round(view.density, 2),
            "crossing_in_minutes": view.crossing_in_minutes,
            "is_forecast_warning": view.forecast_warning,
            "curve": zone_curve(view, zone),
        }
        for view in warned[:CROWD_ZONES]
    ]
    return {
        "generated_at": now.isoformat(),
        "generated_local": now.astimezone(zone).strftime("%H:%M:%S"),
        "period": today.label(),
        "tiles": tiles,
        "top_types": top,
        "trend": {
            "labels": [point.period[5:] for point in trend],
            "values": [point.value or 0 for point in trend],
        },
        "devices": {
            "total": statistics.value("devices"),
            "online_rate_pct": tiles[3]["value"],
            "open_alerts": len([a for a in faults if a.state != AlertState.CLOSED]),
        },
        "crowd": crowd,
        # Persons/m² at the crowd rule's threshold: the heat layer's full heat, the
        # curves' warning line.
        "crowd_threshold": node.crowd.config.threshold,
    }


@router.get("/screen", response_class=HTMLResponse, include_in_schema=False)
def screen_page(page: PageDep) -> HTMLResponse:
    return page.render("screen.html", {"snapshot": screen_snapshot(page.context, page.lang)})


@api.get("/screen", summary="The big screen's figures for your jurisdiction (no map)")
def screen_api(context: Context, lang: str = "zh") -> JSONResponse:
    return JSONResponse(screen_snapshot(context, "en" if lang == "en" else "zh"))
