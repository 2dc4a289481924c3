"""What a report says: its sections of figures (with 环比 and 同比), notable alerts and
the period's cases, built once from the metrics layer and then written as Excel, PDF or a
printable page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from zhian.cases.schemas import STATUS_NAMES_ZH
from zhian.metrics.catalogue import METRICS_BY_NAME
from zhian.metrics.periods import Granularity, Period
from zhian.metrics.schemas import Area, StatisticsRead
from zhian.metrics.service import MetricsService, NotableAlert


class ReportKind(StrEnum):
    DAILY = "daily"  # 值班日报
    WEEKLY = "weekly"  # 治安态势周报
    MONTHLY = "monthly"  # 治安态势月报


GRANULARITY = {
    ReportKind.DAILY: Granularity.DAY,
    ReportKind.WEEKLY: Granularity.WEEK,
    ReportKind.MONTHLY: Granularity.MONTH,
}
TITLES = {
    ReportKind.DAILY: ("值班日报", "Daily duty report"),
    ReportKind.WEEKLY: ("治安态势周报", "Weekly public-order situation report"),
    ReportKind.MONTHLY: ("治安态势月报", "Monthly public-order situation report"),
}
# (heading zh, heading en, figures) per report kind, in the order printed.
_SITUATION = (
    ("警情态势", "Alerts", ("alerts", "alerts_by_tier", "alerts_by_kind")),
    (
        "处置效能",
        "Handling",
        ("median_sign_minutes", "median_close_minutes", "overdue_rate", "false_alarm_rate"),
    ),
    ("设备运行", "Device health", ("devices", "device_online_rate", "data_reporting_rate")),
    (
        "通行",
        "Passages",
        ("passages", "passages_by_direction", "passages_by_type", "visiting_vehicles"),
    ),
    ("案件", "Cases", ("cases",)),
    ("实有信息", "Registry", ("population", "houses", "vehicles")),
)
SECTIONS = {
    ReportKind.DAILY: (
        ("今日预警", "Alerts today", ("alerts", "alerts_by_tier", "alerts_by_state")),
        (
            "处置情况",
            "Handling",
            ("median_sign_minutes", "median_close_minutes", "overdue_rate"),
        ),
        ("设备运行", "Device health", ("devices", "device_online_rate", "data_reporting_rate")),
        ("通行", "Passages", ("passages", "passages_by_direction", "visiting_vehicles")),
        ("案件", "Cases", ("cases",)),
    ),
    ReportKind.WEEKLY: _SITUATION,
    ReportKind.MONTHLY: _SITUATION,
}
NOTABLE_ALERTS = 20
NOTABLE_CASES = 20
# "What changed" (主要变化): the figures that moved most against the previous period, at
# most CHANGED_ROWS of them, each by CHANGED_MIN_PCT or more either way.
CHANGED_ROWS = 5
CHANGED_MIN_PCT = 10.0
CHANGED_HEADING = ("主要变化", "What changed")
# The situation reports' trends (趋势): these figures over the last TREND_COUNT periods.
TREND_FIGURES = (
    "alerts",
    "cases",
    "median_sign_minutes",
    "overdue_rate",
    "device_online_rate",
    "passages",
)
TREND_COUNT = 6
TRENDS_IN = (ReportKind.WEEKLY, ReportKind.MONTHLY)


@dataclass(frozen=True)
class TrendRow:
    """One figure over the report's trend periods, oldest first."""

    metric: str
    label: str
    unit: str
    values: list[float | None]


@dataclass(frozen=True)
class ReportCase:
    """A case as the report prints it: number, when it began, category and status named in
    the report's language."""

    id: str
    time_from: datetime
    category: str
    status: str
    is_solved: bool


@dataclass(frozen=True)
class ReportRow:
    metric: str
    key: str | None
    label: str
    value: float | None
    unit: str
    change_previous_pct: float | None
    change_year_pct: float | None


@dataclass(frozen=True)
class ReportSection:
    heading: str
    rows: list[ReportRow]


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    lang: str
    title: str
    area_name: str
    period: str
    start: datetime
    end: datetime
    generated_at: datetime
    sections: list[ReportSection]
    notable: list[NotableAlert]
    cases: list[ReportCase]
    # The trend periods' labels, oldest first, and a row per figure; empty for a daily report.
    trend_periods: list[str]
    trends: list[TrendRow]
    statistics: StatisticsRead


def format_value(value: float | None, unit: str) -> str:
    """A figure as printed: counts whole, percentages with one decimal and %, minutes."""
    if value is None:
        return "—"
    if unit == "count":
        return f"{value:.0f}"
    if unit == "percent":
        return f"{value:.1f}%"
    return f"{value:.1f}"


def format_change(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def build_report(
    metrics: MetricsService,
    area: Area,
    period: Period,
    kind: ReportKind,
    *,
    lang: str,
    area_name: str,
    key_label: Callable[[str, str], str],
    now: datetime,
    progress: Callable[[float], None] | None = None,
) -> Report:
    """The report of `kind` for the area over `period`; `key_label(metric, key)` names a
    breakdown value (a tier, a rule …) in `lang`. `progress(fraction)` hears how far the
    figures have got (the file is written after)."""
    has_trends = kind in TRENDS_IN
    share = 0.5 if has_trends else 0.9  # of the progress, for the period's figures
    statistics = metrics.statistics(
        area, period, None if progress is None else (lambda done: progress(share * done))
    )
    is_en = lang == "en"
    trend_periods: list[str] = []
    trends: list[TrendRow] = []
    if has_trends:
        points = metrics.trends(
            area,
            period,
            [(name, None) for name in TREND_FIGURES],
            TREND_COUNT,
            None if progress is None else (lambda done: progress(share + 0.45 * done)),
        )
        trend_periods = [point.period for point in points[(TREND_FIGURES[0], None)]]
        for name in TREND_FIGURES:
            metric = METRICS_BY_NAME[name]
            trends.append(
                TrendRow(
                    metric=name,
                    label=metric.title_en if is_en else metric.title_zh,
                    unit=metric.unit.value,
                    values=[point.value for point in points[(name, None)]],
                )
            )
    sections = []
    for heading_zh, heading_en, names in SECTIONS[kind]:
        rows = []
        for name in names:
            metric = METRICS_BY_NAME[name]
            title = metric.title_en if is_en else metric.title_zh
            for figure in statistics.figures:
                if figure.metric != name:
                    continue
                label = title if figure.key is None else f"{title} · {key_label(name, figure.key)}"
                rows.append(
                    ReportRow(
                        metric=name,
                        key=figure.key,
                        label=label,
                        value=figure.value,
                        unit=metric.unit.value,
                        change_previous_pct=figure.change_previous_pct,
                        change_year_pct=figure.change_year_pct,
                    )
                )
        sections.append(ReportSection(heading_en if is_en else heading_zh, rows))
    heading = CHANGED_HEADING[1] if is_en else CHANGED_HEADING[0]
    sections.insert(0, ReportSection(heading, what_changed(sections)))
    title_zh, title_en = TITLES[kind]
    notable = metrics.notable_alerts(area, period.start, period.end, NOTABLE_ALERTS)
    cases = [
        ReportCase(
            id=case.id,
            time_from=case.time_from,
            category=key_label("cases", case.category),
            status=_case_status(case.status, is_en),
            is_solved=case.is_solved,
        )
        for case in metrics.notable_cases(area, period.start, period.end, NOTABLE_CASES)
    ]
    if progress is not None:
        progress(1.0)
    return Report(
        kind=kind,
        lang=lang,
        title=title_en if is_en else title_zh,
        area_name=area_name,
        period=period.label(),
        start=period.start,
        end=period.end,
        generated_at=now,
        sections=sections,
        notable=notable,
        cases=cases,
        trend_periods=trend_periods,
        trends=trends,
        statistics=statistics,
    )


def what_changed(sections: list[ReportSection]) -> list[ReportRow]:
    """The rows whose 环比 moved most (by CHANGED_MIN_PCT or more), largest move first; a
    figure shown in two sections counts once."""
    seen: dict[tuple[str, str | None], ReportRow] = {}
    for section in sections:
        for row in section.rows:
            change = row.change_previous_pct
            if change is not None and abs(change) >= CHANGED_MIN_PCT:
                seen.setdefault((row.metric, row.key), row)
    moved = sorted(seen.values(), key=lambda row: -abs(row.change_previous_pct or 0.0))
    return moved[:CHANGED_ROWS]


def _case_status(status: str, is_en: bool) -> str:
    names = {code.value: name for code, name in STATUS_NAMES_ZH.items()}
    return status if is_en else names.get(status, status)
