"""KPIs per jurisdiction: alerts by tier, times to sign and close, compliance, false alarms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from zhian.alerts.places import JurisdictionTree
from zhian.alerts.schemas import KpiReport
from zhian.alerts.service import AlertService
from zhian.errors import BadRequestError, ZhianError
from zhian.registry.service import RegistryService
from zhian.web.alert_access import resolve_jurisdiction, scope_of
from zhian.web.auth import current_user
from zhian.web.charts import tier_chart
from zhian.web.i18n import label
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

MAX_CHILD_ROWS = 20


def _children(tree: JurisdictionTree, parent: str | None) -> list[str]:
    return sorted(child for child, up in tree.parents.items() if up == parent)


def jurisdiction_choices(tree: JurisdictionTree, scope: str | None) -> list[str]:
    """The jurisdictions a user may pick: their own and every one below it, top first."""
    ids = tree.subtree(scope) if scope is not None else set(tree.parents)
    return sorted(ids, key=lambda jid: (len(tree.ancestry(jid)), jid))


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def kpi_overview(
    alerts: AlertService, scope: str | None, asked: str | None, days: int
) -> dict[str, Any]:
    """The report of one jurisdiction and a row per jurisdiction directly below it."""
    tree = alerts.tree
    chosen = resolve_jurisdiction(tree, scope, asked)
    report = alerts.kpis(chosen, days=days)
    children = _children(tree, chosen)[:MAX_CHILD_ROWS]
    rows: list[tuple[str, KpiReport]] = [
        (child, alerts.kpis(child, days=days)) for child in children
    ]
    return {
        "report": report,
        "chosen": chosen,
        "child_rows": rows,
        "choices": jurisdiction_choices(tree, scope),
    }


def _names(page: Page) -> dict[str, str]:
    """Display names of every jurisdiction, from the registry."""
    with page.node.db.session() as session:
        return RegistryService(session).jurisdiction_names()


@router.get("/kpis", response_class=HTMLResponse, include_in_schema=False)
def kpi_page(
    page: PageDep,
    jurisdiction: Annotated[str | None, Query(max_length=64)] = None,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> HTMLResponse:
    error: ZhianError | None = None
    try:
        with page.node.alerts() as alerts:
            overview = kpi_overview(alerts, scope_of(page.user), jurisdiction, days)
    except BadRequestError as exc:
        error = exc
        with page.node.alerts() as alerts:
            overview = kpi_overview(alerts, scope_of(page.user), None, days)
    report: KpiReport = overview["report"]
    tiers = {tier.value: count for tier, count in report.alerts_by_tier.items()}
    return page.render(
        "kpis.html",
        {
            **overview,
            "days": days,
            "error": error,
            "names": _names(page),
            "minutes": _minutes,
            "tiers": tiers,
            "tier_chart": tier_chart(
                tiers, {tier: label(page.lang, "tier", tier) for tier in tiers}
            ),
        },
        status_code=error.status_code if error else 200,
    )
