"""The officer workbench (民警工作台): my to-dos with countdowns, today's counts, last week."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.alerts.schemas import TodoItem
from zhian.web.alert_access import may_act
from zhian.web.auth import current_user
from zhian.web.charts import weekly_chart
from zhian.web.follow_views import workbench_follows
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])


def _todos(page: Page) -> dict[str, list[TodoItem]]:
    context = page.context
    # Only what this user may act on: an analyst reads alerts but signs none, and an alert
    # owned by a higher role is not a grid worker's to-do.
    items = [
        item
        for item in context.alerts.my_todos(context.user.id, scope=context.scope)
        if may_act(context.user, item.alert, item.action)
    ]
    return {
        "to_sign": [item for item in items if item.action == "sign"],
        "to_handle": [item for item in items if item.action != "sign"],
    }


def _workbench(page: Page) -> dict[str, Any]:
    context = page.context
    counts = context.alerts.counts_today(scope=context.scope)
    week = context.alerts.weekly_series(scope=context.scope, days=7)
    return {
        "counts": counts,
        "week_chart": weekly_chart(week, page.t),
        "week": week,
        **_todos(page),
        "follows": workbench_follows(page),
        # The patrol plan loads apart (zhian.web.hotspot_views): it fits a forecast.
        "may_see_patrols": page.user.can("cases.view"),
    }


@router.get("/workbench", response_class=HTMLResponse, include_in_schema=False)
def workbench_page(page: PageDep) -> HTMLResponse:
    return page.render(
        "workbench.html",
        {**_workbench(page), "warn_seconds": page.node.settings.pages.countdown_warning_seconds},
    )


@router.get("/workbench/_todos", response_class=HTMLResponse, include_in_schema=False)
def workbench_todos(page: PageDep) -> HTMLResponse:
    """The to-do lists alone: the page reloads them when the live feed says alerts moved."""
    return page.render("_todos.html", _todos(page))


@router.get("/workbench/_counts", response_class=HTMLResponse, include_in_schema=False)
def workbench_counts(page: PageDep) -> HTMLResponse:
    counts = page.context.alerts.counts_today(scope=page.context.scope)
    return page.render("_counts.html", {"counts": counts})
