"""The officer workbench (民警工作台): my to-dos with countdowns, today's counts, last week."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.alerts.schemas import TodayCounts
from zhian.web.alert_access import may_act
from zhian.web.auth import current_user
from zhian.web.charts import weekly_chart
from zhian.web.child_rollup import child_rollup
from zhian.web.follow_views import workbench_follows
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])
# Days of the workbench's chart.
WEEK_DAYS = 7


# `?todos=all` lists every to-do; without it each list stops at `pages.todos_shown`.
ALL_TODOS = "all"


def _todos(page: Page) -> dict[str, Any]:
    context = page.context
    user = context.user
    # Only what this user may act on: an analyst reads alerts but signs none, and an alert
    # owned by a higher role is not a grid worker's to-do.
    items = [
        item
        for item in context.cached(
            ("todos", user.id, user.role, context.scope),
            lambda: context.alerts.my_todos(user.id, scope=context.scope),
        )
        if may_act(user, item.alert, item.action)
    ]
    to_sign = [item for item in items if item.action == "sign"]
    to_handle = [item for item in items if item.action != "sign"]
    # A shift with hundreds of open alerts renders the most urgent (the list is sorted by
    # the next deadline) and counts the rest, behind a link that lists them all.
    show_all = page.request.query_params.get("todos") == ALL_TODOS
    shown = None if show_all else page.node.settings.pages.todos_shown
    return {
        "to_sign": to_sign[:shown],
        "to_handle": to_handle[:shown],
        "todo_totals": {"sign": len(to_sign), "handle": len(to_handle)},
        "todos_all": show_all,
    }


def _counts(page: Page) -> TodayCounts:
    context = page.context
    return context.cached(
        ("counts_today", context.scope, page.zone),
        lambda: context.alerts.counts_today(scope=context.scope, zone=page.zone),
    )


def _workbench(page: Page) -> dict[str, Any]:
    context = page.context
    week = context.cached(
        ("weekly_series", context.scope, WEEK_DAYS, page.zone),
        lambda: context.alerts.weekly_series(scope=context.scope, days=WEEK_DAYS, zone=page.zone),
    )
    return {
        "counts": _counts(page),
        "week_chart": weekly_chart(week, page.t),
        "week": week,
        **_todos(page),
        "follows": workbench_follows(page),
        # The patrol plan loads apart (zhian.web.hotspot_views): it fits a forecast.
        "may_see_patrols": page.user.can("cases.view"),
        "rollup": child_rollup(page),
        "rollup_action": "/workbench",
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
    return page.render("_counts.html", {"counts": _counts(page)})
