"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhian import __version__
from zhian.errors import NotFoundError, ZhianError
from zhian.node import Node, NodeRole
from zhian.web import (
    account_views,
    alert_views,
    alerts_api,
    archive_views,
    assessment_views,
    audit_views,
    auth,
    cascade_api,
    cascade_search_api,
    cascade_search_views,
    case_views,
    cases_api,
    crowd_views,
    device_views,
    draft_views,
    event_views,
    face_api,
    face_views,
    follow_views,
    hotspot_views,
    incident_views,
    intake_api,
    kpi_views,
    layout,
    library_views,
    live,
    map_views,
    metrics,
    model_views,
    node_api,
    passage_views,
    passages_api,
    patrol_api,
    patrol_views,
    phone_views,
    procedure_views,
    push_api,
    quality_views,
    quarantine_views,
    report_jobs,
    report_views,
    resident_views,
    restriction_views,
    screen_views,
    search_views,
    stats_views,
    status_views,
    tip_triage_views,
    tip_views,
    trajectory_api,
    trajectory_views,
    viid_api,
    watchlist_views,
    workbench_views,
)
from zhian.web.error_pages import error_page, wants_page
from zhian.web.page_cache import PageCache
from zhian.web.report_schedule import report_schedule


def create_app(node: Node) -> FastAPI:
    """Build the web app around a running node (the caller opens and closes the node).

    The node runs everything (`NodeRole.ALL`) or the web half (`NodeRole.WEB`): pages read
    the event store through `node.event_reads`, which the worker answers when split.
    """
    if node.role is NodeRole.WORKER:
        raise ValueError("a worker node serves no web app: open the node as web or all")
    app = FastAPI(
        title="Zhian 治安",
        version=__version__,
        description="Open platform for community public safety.",
        lifespan=report_schedule,
    )
    app.state.node = node
    app.state.page_cache = PageCache(
        node.settings.pages.figures_cache_seconds, lambda: node.live_feed.seen
    )
    app.include_router(intake_api.router)
    app.include_router(viid_api.router)
    app.include_router(cascade_api.router)  # the hierarchy (docs/cascade.md)
    app.include_router(cascade_search_api.router)  # cross-node search (跨区域研判)
    app.include_router(cascade_search_views.router)
    app.include_router(node_api.router)  # CLI commands on this machine (zhian.kit.running)
    app.include_router(status_views.router)
    app.include_router(status_views.public_router)
    # Before the alerts API: its `/alerts/{alert_id}/{action}` would take `/photos`.
    app.include_router(phone_views.router)
    app.include_router(phone_views.public_router)
    app.include_router(push_api.router)
    app.include_router(patrol_api.router)
    for pages in (workbench_views, alert_views, device_views, kpi_views, alerts_api, live):
        app.include_router(pages.router)
    app.include_router(crowd_views.router)
    app.include_router(model_views.router)
    app.include_router(restriction_views.router)
    app.include_router(procedure_views.router)  # response procedures (预案)
    app.include_router(procedure_views.api)
    app.include_router(watchlist_views.router)
    app.include_router(cases_api.router)
    app.include_router(case_views.router)
    app.include_router(hotspot_views.router)
    app.include_router(trajectory_api.router)
    app.include_router(trajectory_views.router)
    app.include_router(resident_views.router)
    app.include_router(map_views.router)
    app.include_router(archive_views.router)
    app.include_router(draft_views.router)
    app.include_router(passages_api.router)
    app.include_router(follow_views.router)
    app.include_router(account_views.router)
    app.include_router(search_views.router)
    app.include_router(passage_views.router)
    app.include_router(event_views.router)
    app.include_router(stats_views.router)
    app.include_router(stats_views.api)
    app.include_router(report_jobs.router)
    app.include_router(report_jobs.api)
    app.include_router(report_views.router)
    app.include_router(assessment_views.router)
    app.include_router(assessment_views.api)
    app.include_router(screen_views.router)
    app.include_router(screen_views.api)
    app.include_router(tip_views.router)  # public: resident tips (docs/tips.md)
    app.include_router(tip_triage_views.router)
    app.include_router(library_views.router)
    app.include_router(incident_views.router)
    app.include_router(patrol_views.router)
    app.include_router(face_views.router)
    app.include_router(face_api.router)
    for governance_pages in (audit_views, quality_views, quarantine_views):
        app.include_router(governance_pages.router)
    layout.install(app, status_views.templates)
    auth.install(app)
    # Outside the guard: refused requests are timed and carry a request id too.
    metrics.install(app, node)

    @app.exception_handler(ZhianError)
    async def zhian_error(request: Request, exc: ZhianError) -> Response:
        # People get a page for a refusal or a missing page; an alert image opened in the
        # browser (the only /api/ path wants_page admits) gets one for any error.
        is_page_error = exc.status_code in (403, 404) or request.url.path.startswith("/api/")
        if is_page_error and wants_page(request):
            return await error_page(request, exc)
        # The envelope of zhian.web.openapi_errors; a 401 names its scheme (RFC 9110 §15.5.2),
        # as the guard's own 401s do.
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # An address no route answers: a page in the shell for people, JSON for programs.
        if exc.status_code == 404 and wants_page(request):
            return await error_page(request, NotFoundError("no such page", field="path"))
        return await http_exception_handler(request, exc)

    return app
