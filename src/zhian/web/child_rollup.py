"""The parent pages' section on child nodes (docs/cascade.md "Parent pages"): a level
selector, one roll-up row per jurisdiction of that level and the children's link table.

The workbench, alert wall, devices and KPI pages of a parent show it to holders of
`cascade.view`, within their scope; a node without children shows nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from zhian.access.scope import JurisdictionScope
from zhian.cascade.service import AreaOfRollup, ChildLinkRead, ChildReadService
from zhian.errors import BadRequestError
from zhian.metrics.service import MetricsService
from zhian.registry.models import JurisdictionLevel
from zhian.registry.service import RegistryService
from zhian.web.layout import Page

# The level selector's choices, top first (城市 › 分局 › 派出所 › 社区).
LEVELS = tuple(level.value for level in JurisdictionLevel)
# At most this many roll-up rows on one page (the busiest levels hold hundreds).
MAX_ROLLUP_ROWS = 30
# The data reporting rate is that of the hour ending now, as on the statistics pages.
REPORTING_WINDOW = timedelta(hours=1)


def child_rollup(page: Page) -> dict[str, Any] | None:
    """The section's figures for the page's `?level=`, or None when the user may not see
    children or there are none in their scope. A level outside LEVELS shows the default
    level with an error naming the field (the rest of the page stays as asked)."""
    context = page.context
    if not context.user.can("cascade.view"):
        return None
    links = ChildReadService(context.session).children(scope=context.scope)
    if not links:
        return None
    level = page.request.query_params.get("level") or None
    error = None
    if level is not None and level not in LEVELS:
        error = BadRequestError(f"level must be one of {', '.join(LEVELS)}", field="level")
        level = None
    scope = context.scope
    figures = context.cached(
        ("child_rollup", scope, level), lambda: _figures(page, scope, level, links)
    )
    return {**figures, "error": error}


def _figures(
    page: Page, scope: JurisdictionScope, level: str | None, links: list[ChildLinkRead]
) -> dict[str, Any]:
    context = page.context
    tree = RegistryService(context.session).jurisdiction_tree()
    in_scope = [jid for jid in tree.levels if scope.contains(jid)]
    present = [lv for lv in LEVELS if any(tree.levels[jid] == lv for jid in in_scope)]
    chosen = level or _children_level(tree.levels, links) or (present[-1] if present else None)
    ids = sorted(jid for jid in in_scope if tree.levels[jid] == chosen)
    metrics = MetricsService(
        context.session,
        context.node.event_reads,
        context.node.clock,
        draft_due_days=context.node.settings.registry.draft_due_days,
    )
    areas = [metrics.area(scope, jid) for jid in ids[:MAX_ROLLUP_ROWS]]
    rollups = ChildReadService(context.session).rollups(
        scope=scope,
        areas=[
            AreaOfRollup(
                area.jurisdiction_id or "",
                area.jurisdictions or frozenset(),
                area.communities or frozenset(),
            )
            for area in areas
        ],
    )
    now = page.now
    # Communities whose child's events this node does not hold in full: counted by the
    # child's own KPI summaries (its last closed hour) instead of the events held here.
    summarised = ChildReadService(context.session).reporting_from_summaries(scope=scope)
    rows = []
    for area, rollup in zip(areas, rollups, strict=True):
        communities = area.communities or frozenset()
        by_child = [summarised[c] for c in communities if c in summarised]
        held = frozenset(c for c in communities if c not in summarised)
        reporting, devices = metrics.reporting_counts(held, now - REPORTING_WINDOW, now)
        reporting += sum(r for r, _d, _h in by_child)
        devices += sum(d for _r, d, _h in by_child)
        rows.append(
            {
                **asdict(rollup),
                "data_reporting_rate_pct": round(100 * reporting / devices, 1) if devices else None,
                "reporting_from_summaries": bool(by_child),
            }
        )
    overrides: dict[str, list[str]] = {}
    for item in ChildReadService(context.session).overrides(scope=scope):
        overrides.setdefault(item.node_id, []).append(f"{item.community_id}:{item.name}")
    for procedure in ChildReadService(context.session).procedure_overrides(scope=scope):
        overrides.setdefault(procedure.node_id, []).append(
            f"procedure:{procedure.kind}/{procedure.tier}"
        )
    return {
        "overrides": overrides,
        "level": chosen,
        "levels": present,
        "rows": rows,
        "more": max(0, len(ids) - MAX_ROLLUP_ROWS),
        "links": [asdict(link) for link in links],
    }


def _children_level(levels: Mapping[str, str], links: list[ChildLinkRead]) -> str | None:
    """The level of the children's own jurisdictions: the first view a parent wants."""
    for link in links:
        level = levels.get(link.jurisdiction_id or "")
        if level is not None:
            return level
    return None
