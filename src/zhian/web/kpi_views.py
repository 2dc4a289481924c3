"""KPIs per jurisdiction: alerts by tier, times to sign and close, compliance, false alarms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from zhian.access.scope import JurisdictionScope
from zhian.alerts.places import JurisdictionTree
from zhian.alerts.schemas import KpiReport
from zhian.alerts.service import AlertService
from zhian.errors import BadRequestError, ZhianError
from zhian.metrics.service import MetricsService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.charts import tier_chart
from zhian.web.child_rollup import child_rollup
from zhian.web.i18n import label
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

MAX_CHILD_ROWS = 20


def _children(tree: JurisdictionTree, parent: str | None) -> list[str]:
    return sorted(child for child, up in tree.parents.items() if up == parent)


def jurisdiction_choices(tree: JurisdictionTree, scope: JurisdictionScope) -> list[str]:
    """The jurisdictions a user may pick: those of their scope, top first."""
    ids = [jid for jid in tree.parents if scope.contains(jid)]
    return sorted(ids, key=lambda jid: (len(tree.ancestry(jid)), jid))


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def kpi_overview(
    alerts: AlertService, scope: JurisdictionScope, asked: str | None, days: int
) -> dict[str, Any]:
    """The report of one jurisdiction of the scope (400 for one outside it) and a row per
    jurisdiction of the scope directly below it."""
    tree = alerts.tree
    report = alerts.kpis(scope=scope, jurisdiction_id=asked or None, days=days)
    chosen = report.jurisdiction_id
    children = [c for c in _children(tree, chosen) if scope.contains(c)][:MAX_CHILD_ROWS]
    rows: list[tuple[str, KpiReport]] = [
        (child, alerts.kpis(scope=scope, jurisdiction_id=child, days=days)) for child in children
    ]
    return {
        "report": report,
        "chosen": chosen,
        "child_rows": rows,
        "choices": jurisdiction_choices(tree, scope),
    }


def _names(page: Page) -> dict[str, str]:
    """Display names of every jurisdiction, from the registry."""
    return RegistryService(page.context.session).jurisdiction_names()


@router.get("/kpis", response_class=HTMLResponse, include_in_schema=False)
def kpi_page(
    page: PageDep,
    jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> HTMLResponse:
    error: ZhianError | None = None
    context = page.context
    try:
        overview = context.cached(
            ("kpis", context.scope, jurisdiction or None, days),
            lambda: kpi_overview(context.alerts, context.scope, jurisdiction, days),
        )
    except BadRequestError as exc:
        error = exc
        overview = context.cached(
            ("kpis", context.scope, None, days),
            lambda: kpi_overview(context.alerts, context.scope, None, days),
        )
    report: KpiReport = overview["report"]
    # The hour ending now, by the one definition the devices page uses.
    metrics = MetricsService(context.session)
    online_now = metrics.online_rate_now(metrics.area(context.scope, overview["chosen"]), page.now)
    tiers = {tier.value: count for tier, count in report.alerts_by_tier.items()}
    return page.render(
        "kpis.html",
        {
            **overview,
            "days": days,
            "online_now_pct": online_now,
            "error": error,
            "names": _names(page),
            "minutes": _minutes,
            "tiers": tiers,
            "rollup": child_rollup(page),
            "rollup_action": "/kpis",
            "tier_chart": tier_chart(
                tiers, {tier: label(page.lang, "tier", tier) for tier in tiers}
            ),
        },
        status_code=error.status_code if error else 200,
    )
