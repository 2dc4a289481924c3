"""The catalogue of figures: one definition each, with the formula that the pages, the
reports, the API and the big screen share. `docs/statistics.md` carries this table
(tests/test_docs.py fails when it drifts).

No figure counts people by ethnicity or region of origin: the registry holds neither
(DESIGN.md, "what Zhian does not do"), and no breakdown may be added for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    MINUTES = "minutes"


class Kind(StrEnum):
    # A stock is a count of what the registry holds now: it has no history, so no 环比/同比.
    STOCK = "stock"
    # A flow is counted over the period; the same formula over the previous period gives
    # 环比 and over the same period a year earlier 同比.
    FLOW = "flow"


@dataclass(frozen=True)
class Metric:
    name: str
    title_zh: str
    title_en: str
    unit: Unit
    kind: Kind
    # What the figure is split by (one figure per value), None for a single figure.
    breakdown: str | None
    formula: str


METRICS: tuple[Metric, ...] = (
    Metric(
        "population",
        "实有人口",
        "Registered population",
        Unit.COUNT,
        Kind.STOCK,
        "registration",
        "Residents whose house lies in a community of the area, by registration type: "
        "`household` (local household registration) or `floating` (`is_floating`).",
    ),
    Metric(
        "houses",
        "实有房屋",
        "Houses",
        Unit.COUNT,
        Kind.STOCK,
        "use",
        "Houses in the communities of the area, by recorded use "
        "(`owner_occupied`, `rented`, `idle` = vacant).",
    ),
    Metric(
        "vehicles",
        "登记车辆",
        "Registered vehicles",
        Unit.COUNT,
        Kind.STOCK,
        None,
        "Vehicles registered to a community of the area.",
    ),
    Metric(
        "devices",
        "在用设备",
        "Devices in use",
        Unit.COUNT,
        Kind.STOCK,
        "device_kind",
        "Enabled devices of the communities of the area, by device kind.",
    ),
    Metric(
        "device_online_rate",
        "设备在线率",
        "Device online rate",
        Unit.PERCENT,
        Kind.FLOW,
        None,
        "For every hour of the period and every (community, device kind) of the area, the "
        "last online sample of that hour; 100 × Σ online ÷ Σ total over those samples "
        "(device-hours online ÷ device-hours). For one hour this is the figure the devices "
        "and KPI pages show: the last sample of each community and kind in the hour ending "
        "now. No sample in the window: no figure.",
    ),
    Metric(
        "passages",
        "通行量",
        "Passages",
        Unit.COUNT,
        Kind.FLOW,
        None,
        "Access and vehicle passages (event time in the period) at the devices of the "
        "communities of the area.",
    ),
    Metric(
        "passages_by_direction",
        "通行量（按方向）",
        "Passages by direction",
        Unit.COUNT,
        Kind.FLOW,
        "direction",
        "Passages by direction (`in`, `out`; `unknown` when the device did not say).",
    ),
    Metric(
        "passages_by_type",
        "通行量（按类型）",
        "Passages by type",
        Unit.COUNT,
        Kind.FLOW,
        "passage_type",
        "Passages by type: `access` (doors) or `vehicle` (vehicle gates and checkpoints).",
    ),
    Metric(
        "passages_by_hour",
        "通行量（按时段）",
        "Passages by hour",
        Unit.COUNT,
        Kind.FLOW,
        "hour",
        "Passages by local hour of the day (`00` … `23`), summed over the period's days. "
        "By day: the trend of `passages` with daily periods.",
    ),
    Metric(
        "data_reporting_rate",
        "数据上报率",
        "Data reporting rate",
        Unit.PERCENT,
        Kind.FLOW,
        None,
        "100 × enabled devices of the area that sent at least one event received in the "
        "period (any type, heartbeats included) ÷ enabled devices of the area.",
    ),
    Metric(
        "visiting_vehicles",
        "来访车辆",
        "Visiting vehicles",
        Unit.COUNT,
        Kind.FLOW,
        None,
        "Distinct plates seen (event time in the period) at the enabled vehicle gates of the "
        "communities of the area and not registered to a community of the area (plates "
        "compared as the store's keyed tokens, never opened).",
    ),
    Metric(
        "alerts",
        "预警数",
        "Alerts",
        Unit.COUNT,
        Kind.FLOW,
        None,
        "Alerts raised (`created_at`) in the period whose place lies in the area.",
    ),
    Metric(
        "alerts_by_tier",
        "预警数（按级别）",
        "Alerts by tier",
        Unit.COUNT,
        Kind.FLOW,
        "tier",
        "Alerts raised in the period in the area, by severity tier.",
    ),
    Metric(
        "alerts_by_kind",
        "预警数（按类型）",
        "Alerts by type",
        Unit.COUNT,
        Kind.FLOW,
        "kind",
        "Alerts raised in the period in the area, by alert type (`kind`).",
    ),
    Metric(
        "alerts_by_state",
        "预警数（按状态）",
        "Alerts by state",
        Unit.COUNT,
        Kind.FLOW,
        "state",
        "Alerts raised in the period in the area, by their state now.",
    ),
    Metric(
        "median_sign_minutes",
        "签收用时中位数",
        "Median time to sign",
        Unit.MINUTES,
        Kind.FLOW,
        None,
        "Median of (`signed_at` − `created_at`) over the alerts raised in the period in the "
        "area and signed since.",
    ),
    Metric(
        "median_close_minutes",
        "结项用时中位数",
        "Median time to close",
        Unit.MINUTES,
        Kind.FLOW,
        None,
        "Median of (`closed_at` − `created_at`) over the alerts raised in the period in the "
        "area and closed since.",
    ),
    Metric(
        "overdue_rate",
        "超时率",
        "Overdue rate",
        Unit.PERCENT,
        Kind.FLOW,
        None,
        "Of the deadlines (sign, arrive, feedback …) of the area's alerts falling due in the "
        "period and decided (met or breached): 100 × breached ÷ (met + breached).",
    ),
    Metric(
        "false_alarm_rate",
        "误报率",
        "False-alarm rate",
        Unit.PERCENT,
        Kind.FLOW,
        "rule",
        "Per rule or model: of the area's alerts closed in the period (duplicates left out), "
        "100 × closed as false alarm ÷ closed.",
    ),
    Metric(
        "registry_tasks_completed",
        "登记任务按时完成率",
        "Registry tasks done on time",
        Unit.PERCENT,
        Kind.FLOW,
        None,
        "Registry tasks of the area falling due in the period: the deadlines of the registry "
        "models' findings (`model.vacant_house`, `model.group_rental`, `model.moved_out`, "
        "`model.unregistered_resident`) decided (met or breached), and the registration "
        "drafts of the area's communities, due `registry.draft_due_days` (7 by default) days "
        "after they were created (done: "
        "completed or dismissed by then; late: decided after, or still open once due). "
        "100 × done on time ÷ (done on time + late). None due: no figure.",
    ),
    Metric(
        "resident_satisfaction",
        "群众满意率",
        "Residents' satisfaction",
        Unit.PERCENT,
        Kind.FLOW,
        None,
        "Of the resident tips of the area rated in the period (`rated_at`, 1–5 stars), "
        "100 × rated 4 or 5 stars ÷ rated. None rated: no figure.",
    ),
    Metric(
        "cases",
        "案件数",
        "Cases",
        Unit.COUNT,
        Kind.FLOW,
        "category",
        "Cases that began (`time_from`) in the period in a jurisdiction of the area, by category.",
    ),
)

METRICS_BY_NAME: dict[str, Metric] = {metric.name: metric for metric in METRICS}

# Named in the issue and not computed yet (each has a "later" line in docs/statistics.md).
LATER: tuple[tuple[str, str], ...] = ()


def markdown_table() -> str:
    """The catalogue as the Markdown table docs/statistics.md carries."""
    lines = [
        "| figure | 中文 | unit | kind | split by | formula |",
        "|---|---|---|---|---|---|",
    ]
    for metric in METRICS:
        lines.append(
            f"| `{metric.name}` | {metric.title_zh} | {metric.unit.value} | {metric.kind.value} "
            f"| {metric.breakdown or '—'} | {metric.formula} |"
        )
    return "\n".join(lines) + "\n"
