"""The route → permission map: what every route of the app needs, checked in one place.

Each (method, path) has an entry: a permission name from `zhian.access.permissions`,
`PUBLIC` (login page, health, static assets, API docs), `DEVICE` (intake routes, which
authenticate devices on their own: a device token or a GA/T 1400 digest session) or
`NODE_CONTROL` (the node's control API for its own command line, which checks the token of
the workspace's running-node marker itself: `zhian.web.node_api`). The
guard middleware (`zhian.web.guard`) enforces the map before a route runs; a test builds
the real app and fails when a route has no entry, so a new route cannot ship unguarded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route, compile_path

from zhian.access.permissions import PERMISSIONS_BY_NAME
from zhian.access.service import UserRead
from zhian.errors import ForbiddenError
from zhian.web.sessions import CurrentUser

PUBLIC = "public"
DEVICE = "device"
NODE_CONTROL = "node-control"
# Entries that name no user permission: each route authenticates its caller on its own.
SELF_AUTHENTICATED = (PUBLIC, DEVICE, NODE_CONTROL)


@dataclass(frozen=True)
class ByPathParameter:
    """A permission chosen by a path parameter (the action of an alert, for instance).

    Values not in `permissions` need `otherwise`; the route itself answers 400 for them.
    """

    parameter: str
    permissions: Mapping[str, str]
    otherwise: str

    def resolve(self, path_params: Mapping[str, Any]) -> str:
        value = str(path_params.get(self.parameter, ""))
        return self.permissions.get(value, self.otherwise)

    def names(self) -> set[str]:
        return {*self.permissions.values(), self.otherwise}


Access = str | ByPathParameter

_ALERT_ACTIONS = ByPathParameter(
    "action",
    {
        "sign": "alerts.sign",
        "dispatch": "alerts.dispatch",
        "arrive": "alerts.handle",
        "handle": "alerts.handle",
        "close": "alerts.close",
    },
    otherwise="alerts.view",
)

# (method, path as the route declares it) -> access. Keep in the order of app.py.
ROUTES: dict[tuple[str, str], Access] = {
    # API description and static assets: no data.
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/static"): PUBLIC,
    # Sign-in.
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/account/password"): "account.password",
    ("POST", "/account/password"): "account.password",
    ("GET", "/api/v1/health"): PUBLIC,
    # Operations (zhian.web.metrics): liveness and readiness for supervisors and load
    # balancers; /metrics checks itself that its client is on this machine.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/metrics"): "operations.metrics",
    # The control API of the node's own command line (the running-node token).
    ("POST", "/api/v1/node/ingest"): NODE_CONTROL,
    ("POST", "/api/v1/node/wait-stored"): NODE_CONTROL,
    ("POST", "/api/v1/node/quarantine/replay"): NODE_CONTROL,
    ("POST", "/api/v1/node/ferry/export"): NODE_CONTROL,
    ("POST", "/api/v1/node/ferry/import"): NODE_CONTROL,
    ("POST", "/api/v1/node/ferry/watch-once"): NODE_CONTROL,
    ("POST", "/api/v1/node/retention/apply"): NODE_CONTROL,
    ("GET", "/api/v1/node/quality"): NODE_CONTROL,
    ("POST", "/api/v1/node/directory/refresh"): NODE_CONTROL,
    ("GET", "/api/v1/node/devices/{device_id}/check"): NODE_CONTROL,
    ("POST", "/api/v1/node/models/run"): NODE_CONTROL,
    # Intake: device tokens (zhian.web.deps.authenticate_device).
    ("POST", "/api/v1/events"): DEVICE,
    ("POST", "/api/v1/images"): DEVICE,
    # GA/T 1400: digest sessions of registered platforms and devices (zhian.ingest.viid).
    ("POST", "/VIID/System/Register"): DEVICE,
    ("POST", "/VIID/System/Keepalive"): DEVICE,
    ("POST", "/VIID/System/UnRegister"): DEVICE,
    ("GET", "/VIID/System/Time"): DEVICE,
    ("POST", "/VIID/System/Time"): DEVICE,
    ("POST", "/VIID/Faces"): DEVICE,
    ("GET", "/VIID/Faces"): DEVICE,
    ("POST", "/VIID/Persons"): DEVICE,
    ("GET", "/VIID/Persons"): DEVICE,
    ("POST", "/VIID/MotorVehicles"): DEVICE,
    ("GET", "/VIID/MotorVehicles"): DEVICE,
    ("POST", "/VIID/NonMotorVehicles"): DEVICE,
    ("GET", "/VIID/NonMotorVehicles"): DEVICE,
    ("POST", "/VIID/Images"): DEVICE,
    ("GET", "/VIID/APEs"): DEVICE,
    ("POST", "/VIID/Subscribes"): DEVICE,
    ("PUT", "/VIID/Subscribes"): DEVICE,
    ("PUT", "/VIID/Subscribes/{subscription_id}"): DEVICE,
    ("DELETE", "/VIID/Subscribes"): DEVICE,
    # Status.
    ("GET", "/"): "status.view",  # redirects to the workbench or the status page
    ("GET", "/status"): "status.view",
    ("GET", "/api/v1/status"): "status.view",
    # Workbench and alerts.
    ("GET", "/workbench"): "alerts.view",
    ("GET", "/workbench/_todos"): "alerts.view",
    ("GET", "/workbench/_counts"): "alerts.view",
    ("GET", "/alerts"): "alerts.view",
    ("GET", "/alerts/_rows"): "alerts.view",
    ("GET", "/alerts/{alert_id}"): "alerts.view",
    ("POST", "/alerts/{alert_id}/actions/{action}"): _ALERT_ACTIONS,
    ("POST", "/alerts/{alert_id}/steps/{step}"): "alerts.handle",
    ("GET", "/api/v1/alerts"): "alerts.view",
    ("GET", "/api/v1/alerts/{alert_id}"): "alerts.view",
    ("POST", "/api/v1/alerts/{alert_id}/{action}"): _ALERT_ACTIONS,
    ("POST", "/api/v1/alerts/{alert_id}/steps/{step}"): "alerts.handle",
    ("GET", "/api/v1/alerts/{alert_id}/images/{ref}"): "alerts.view",
    ("GET", "/api/v1/todos"): "alerts.view",
    ("GET", "/api/v1/live"): "alerts.view",
    # Devices and assessment.
    ("GET", "/devices"): "devices.view",
    ("GET", "/devices/{device_id}"): "devices.view",
    ("POST", "/devices"): "devices.manage",
    ("POST", "/devices/{device_id}/token"): "devices.manage",
    ("POST", "/devices/{device_id}/viid-password"): "devices.manage",
    ("GET", "/kpis"): "kpi.view",
    ("GET", "/crowd"): "crowd.view",
    # Response procedures (预案): zhian.web.procedure_views.
    ("GET", "/procedures"): "alerts.view",
    ("POST", "/procedures"): "procedures.manage",
    ("GET", "/api/v1/procedures"): "alerts.view",
    ("GET", "/models"): "models.view",
    ("GET", "/models/communities/{community_id}"): "models.view",
    ("POST", "/models/communities/{community_id}"): "models.manage",
    ("GET", "/models/place-types/{place_type}"): "models.view",
    ("POST", "/models/place-types/{place_type}"): "models.manage",  # over every community
    ("GET", "/models/communities/{community_id}/restrictions/new"): "models.manage",
    ("POST", "/models/communities/{community_id}/restrictions"): "models.manage",
    ("GET", "/models/communities/{community_id}/restrictions/{restriction_id}"): "models.manage",
    ("POST", "/models/communities/{community_id}/restrictions/{restriction_id}"): "models.manage",
    (
        "POST",
        "/models/communities/{community_id}/restrictions/{restriction_id}/remove",
    ): "models.manage",
    ("GET", "/api/v1/kpis"): "kpi.view",
    # Statistics (专题统计): the metrics layer's figures (zhian.web.stats_views).
    ("GET", "/stats"): "kpi.view",
    # The plates behind the visiting-vehicles figure (masked, audited): passage data.
    ("GET", "/stats/visiting-vehicles"): "passages.view",
    # The residents, houses and vehicles behind the stock figures: ids and masked plates.
    ("GET", "/stats/registry"): "residents.view",
    ("GET", "/api/v1/stats"): "kpi.view",
    ("GET", "/api/v1/stats/trend"): "kpi.view",
    # Reports (报表中心): zhian.web.report_views.
    ("GET", "/reports"): "kpi.view",
    ("GET", "/reports/{kind}/print"): "kpi.view",
    ("GET", "/reports/{kind}.xlsx"): "kpi.view",
    ("GET", "/reports/{kind}.pdf"): "kpi.view",
    ("GET", "/reports/archive/{report_id}"): "kpi.view",
    # Reports generated in the background (zhian.web.report_jobs): the asker's own jobs.
    ("POST", "/reports/jobs"): "kpi.view",
    ("GET", "/reports/jobs/{job_id}"): "kpi.view",
    ("GET", "/reports/jobs/{job_id}/progress"): "kpi.view",
    ("GET", "/reports/jobs/{job_id}/download"): "kpi.view",
    ("POST", "/api/v1/reports/jobs"): "kpi.view",
    ("GET", "/api/v1/reports/jobs/{job_id}"): "kpi.view",
    # Assessment (考核评价): zhian.web.assessment_views.
    ("GET", "/assessment"): "kpi.view",
    ("POST", "/assessment/indicators/{name}"): "assessment.manage",
    ("GET", "/api/v1/assessment"): "kpi.view",
    # The big screen (大屏): zhian.web.screen_views; its map reads /api/v1/map/*.
    ("GET", "/screen"): "kpi.view",
    ("GET", "/api/v1/screen"): "kpi.view",
    # Watchlists (布控): list, add, withdraw, bulk import and withdrawal.
    ("GET", "/watchlists"): "watchlists.view",
    ("POST", "/watchlists"): "watchlists.manage",
    ("POST", "/watchlists/{entry_id}/withdraw"): "watchlists.manage",
    ("POST", "/watchlists/import"): "watchlists.manage",
    ("POST", "/watchlists/withdrawals"): "watchlists.manage",
    # Cases (警情/案件) and case linkage (串并): zhian.web.cases_api, zhian.web.case_views.
    ("GET", "/api/v1/cases"): "cases.view",
    ("POST", "/api/v1/cases"): "cases.manage",
    ("POST", "/api/v1/cases/from-alert/{alert_id}"): "cases.manage",
    ("GET", "/api/v1/cases/{case_id}"): "cases.view",
    ("PATCH", "/api/v1/cases/{case_id}"): "cases.manage",
    ("GET", "/api/v1/cases/{case_id}/candidates"): "cases.view",
    ("GET", "/api/v1/cases/{case_id}/series"): "cases.view",
    ("GET", "/api/v1/cases/{case_id}/links"): "cases.view",
    ("POST", "/api/v1/cases/{case_id}/links/{other_id}"): "cases.link",
    ("GET", "/api/v1/linkage/models"): "cases.view",
    ("GET", "/api/v1/linkage/models/compare"): "cases.view",
    ("POST", "/api/v1/linkage/models"): "cases.models",
    ("POST", "/api/v1/linkage/models/{version_id}/activate"): "cases.models",
    ("GET", "/cases"): "cases.view",
    ("POST", "/cases"): "cases.manage",
    ("POST", "/cases/from-alert"): "cases.manage",
    ("GET", "/cases/{case_id}"): "cases.view",
    ("POST", "/cases/{case_id}"): "cases.manage",
    ("POST", "/cases/{case_id}/links/{other_id}"): "cases.link",
    ("GET", "/linkage/models"): "cases.view",
    # Hotspots (热力图): place-based forecasts from the cases (zhian.web.hotspot_views).
    ("GET", "/api/v1/hotspots"): "cases.view",
    ("GET", "/api/v1/map/hotspots"): "cases.view",
    ("GET", "/hotspots"): "cases.view",
    ("GET", "/api/v1/patrols/{station_id}"): "cases.view",
    ("GET", "/api/v1/map/patrols"): "cases.view",
    ("GET", "/workbench/_patrols"): "cases.view",
    # Trajectories (轨迹) and co-travellers (同行): zhian.web.trajectory_api.
    ("POST", "/api/v1/trajectories"): "trajectories.search",
    ("POST", "/api/v1/trajectories/co-travellers"): "trajectories.search",
    ("GET", "/trajectories"): "trajectories.search",
    ("POST", "/trajectories"): "trajectories.search",
    ("POST", "/linkage/models"): "cases.models",
    ("POST", "/linkage/models/{version_id}/activate"): "cases.models",
    # Residents (实有人口): masked identity; the route checks `personal_data.reveal` itself
    # so that a refused reveal is audited (zhian.web.resident_views).
    ("GET", "/residents/{resident_id}"): "residents.view",
    ("POST", "/residents/{resident_id}/reveal"): "residents.view",
    # The map (一张图): each layer needs the permission of what it shows (zhian.web.map_views).
    ("GET", "/map"): "alerts.view",
    ("GET", "/api/v1/map/areas"): "alerts.view",
    ("GET", "/api/v1/map/buildings"): "residents.view",
    ("GET", "/api/v1/map/devices"): "devices.view",
    ("GET", "/api/v1/map/alerts"): "alerts.view",
    ("GET", "/api/v1/map/zones"): "crowd.view",
    ("GET", "/api/v1/map/alerts/{alert_id}/responders"): "alerts.dispatch",
    ("GET", "/map/tiles/{z}/{x}/{y}"): "alerts.view",
    # Archives (档案): residents stay masked; reveals happen on the resident's page.
    ("GET", "/archives/communities/{community_id}"): "residents.view",
    ("POST", "/archives/communities/{community_id}/export"): "registry.export",
    ("GET", "/registration-drafts/{draft_id}"): "masterdata.import",
    ("POST", "/registration-drafts/{draft_id}/complete"): "masterdata.import",
    ("POST", "/registration-drafts/{draft_id}/dismiss"): "masterdata.import",
    ("GET", "/archives/buildings/{building_id}"): "residents.view",
    ("GET", "/archives/houses/{house_id}"): "residents.view",
    ("GET", "/archives/vehicles/{vehicle_id}"): "residents.view",
    # The follow list (辖区关注): anyone who sees residents may follow what they see.
    ("POST", "/follows"): "residents.view",
    ("POST", "/follows/{follow_id}/remove"): "residents.view",
    # Search (综合查询) and passage records (zhian.web.search_views, zhian.web.passage_views);
    # the text travels in POST bodies, so plates and ID numbers stay out of addresses.
    ("GET", "/search"): "search.use",
    ("POST", "/search"): "search.use",
    ("POST", "/api/v1/search"): "search.use",
    ("GET", "/passages"): "passages.view",
    ("POST", "/passages"): "passages.view",
    ("POST", "/passages/export"): "passages.export",
    ("GET", "/api/v1/passages"): "passages.view",
    ("POST", "/api/v1/passages"): "passages.view",
    ("GET", "/face-search"): "faces.search",
    ("POST", "/face-search"): "faces.search",
    ("POST", "/api/v1/faces/search"): "faces.search",
    ("POST", "/api/v1/faces/search-by-photo"): "faces.search",
    ("GET", "/events/{device_id}/{event_id}"): "passages.view",
    ("GET", "/events/{device_id}/{event_id}/image"): "passages.view",
    # Resident tips (随手拍, docs/tips.md): the public form and follow-up page need no
    # account (the guard still checks their CSRF token); triage needs `tips.triage`.
    ("GET", "/tip"): PUBLIC,
    ("POST", "/tip"): PUBLIC,
    ("GET", "/tip/lookup"): PUBLIC,
    ("GET", "/tip/tiles/{z}/{x}/{y}"): PUBLIC,
    ("GET", "/tip/{code}"): PUBLIC,
    ("POST", "/tip/{code}/rating"): PUBLIC,
    ("GET", "/tips"): "tips.triage",
    # One tip: triage, or a user who sees the alert it became (checked by the route).
    ("GET", "/tips/{tip_id}"): "alerts.view",
    ("GET", "/tips/{tip_id}/photos/{index}"): "tips.triage",
    ("POST", "/tips/{tip_id}/accept"): "tips.triage",
    ("POST", "/tips/{tip_id}/close"): "tips.triage",
    # The officer's phone (docs/phone.md): the service worker and manifest hold no data.
    ("GET", "/phone"): "alerts.view",
    ("GET", "/phone/sw.js"): PUBLIC,
    ("GET", "/phone/manifest.webmanifest"): PUBLIC,
    ("POST", "/api/v1/alerts/{alert_id}/photos"): "alerts.handle",
    # Incidents with their alerts (docs/incidents.md).
    ("GET", "/incidents"): "alerts.view",
    # The case library (docs/case-library.md).
    ("GET", "/library"): "library.view",
    ("GET", "/library/new"): "library.manage",
    ("POST", "/library"): "library.manage",
    ("GET", "/library/{study_id}"): "library.view",
    ("GET", "/library/{study_id}/edit"): "library.manage",
    ("POST", "/library/{study_id}"): "library.manage",
    ("GET", "/api/v1/push/key"): "alerts.view",
    ("POST", "/api/v1/push/subscriptions"): "alerts.view",
    ("POST", "/api/v1/push/subscriptions/remove"): "alerts.view",
    # Patrol (docs/phone.md): those who handle alerts on the ground patrol.
    ("POST", "/api/v1/patrol/checkins"): "alerts.handle",
    ("POST", "/api/v1/patrol/photos"): "alerts.handle",
    ("POST", "/api/v1/patrol/reports"): "alerts.handle",
    ("POST", "/api/v1/patrol/duty"): "alerts.handle",
    # Units on duty are shown to those who may dispatch them.
    ("GET", "/api/v1/patrol/units"): "alerts.dispatch",
    ("GET", "/patrol/checkins"): "alerts.dispatch",
    # Governance: audit log, data quality, quarantine (docs/governance.md).
    ("GET", "/audit"): "audit.view",
    ("GET", "/audit/export.csv"): "audit.export",
    ("GET", "/quality"): "quality.view",
    ("GET", "/quarantine"): "quarantine.view",
    ("POST", "/quarantine/replay"): "quarantine.replay",
    # The route checks `personal_data.reveal` itself, so that a refused reveal is audited.
    ("POST", "/quarantine/{item_id}/reveal"): "quarantine.view",
    # The hierarchy (docs/cascade.md): children deliver with a node credential; parent
    # users read children's alerts and links by scope (zhian.web.cascade_api).
    ("POST", "/api/v1/cascade/hello"): "cascade.forward",
    ("POST", "/api/v1/cascade/batches"): "cascade.forward",
    ("GET", "/api/v1/cascade/orders"): "cascade.forward",
    ("POST", "/api/v1/cascade/overrides"): "cascade.forward",
    ("POST", "/api/v1/cascade/status"): "cascade.forward",
    ("POST", "/api/v1/cascade/kpis"): "cascade.forward",
    ("GET", "/api/v1/cascade/children"): "cascade.view",
    ("GET", "/api/v1/cascade/overrides"): "cascade.view",
    ("GET", "/api/v1/cascade/procedure-overrides"): "cascade.view",
    ("GET", "/api/v1/cascade/alerts"): "alerts.view",
    # Cross-node search (跨区域研判): zhian.web.cascade_search_api and _views.
    ("GET", "/api/v1/cascade/search-requests"): "cascade.forward",
    ("POST", "/api/v1/cascade/search-answers"): "cascade.forward",
    ("POST", "/api/v1/cascade/searches"): "cascade.search",
    ("GET", "/api/v1/cascade/searches"): "cascade.search",
    ("GET", "/api/v1/cascade/searches/{request_id}"): "cascade.search",
    ("GET", "/cascade/searches"): "cascade.search",
    ("POST", "/cascade/searches"): "cascade.search",
    ("GET", "/cascade/searches/{request_id}"): "cascade.search",
    ("GET", "/cascade/searches/{request_id}/progress"): "cascade.search",
    ("GET", "/cascade/searches/{request_id}/answers/{node_id}"): "cascade.search",
}


def permission_names(access: Access) -> set[str]:
    """The permission names an entry may need (empty for PUBLIC and DEVICE)."""
    if isinstance(access, ByPathParameter):
        return access.names()
    return set() if access in SELF_AUTHENTICATED else {access}


def unknown_permissions() -> list[str]:
    """Entries naming a permission that does not exist (a test keeps this empty)."""
    named = {name for access in ROUTES.values() for name in permission_names(access)}
    return sorted(named - set(PERMISSIONS_BY_NAME))


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str, BaseRoute | None]]:
    """(method, path) of every route of `app` in matching order; mounts answer GET.

    Included routers are walked through `effective_route_contexts` where FastAPI keeps
    them unflattened (0.16x), or read directly where it flattens them.
    """
    for route in app.router.routes:
        yield from _walk(route)


def _walk(route: Any) -> Iterator[tuple[str, str, BaseRoute | None]]:
    if isinstance(route, Mount):
        yield "GET", route.path, route
    elif isinstance(route, Route):
        for method in sorted(route.methods or ()):
            if method != "HEAD" or "GET" not in (route.methods or ()):
                yield method, route.path, route
    elif hasattr(route, "effective_route_contexts"):
        for context in route.effective_route_contexts():
            original = context.original_route
            methods = sorted(getattr(original, "methods", None) or ())
            path = context.path_format
            if isinstance(original, Mount):
                yield "GET", path, original
                continue
            for method in methods:
                if method != "HEAD" or "GET" not in methods:
                    yield method, path, original


@dataclass(frozen=True)
class RouteMatch:
    method: str
    path: str
    path_params: dict[str, str]
    access: Access | None

    def permission(self) -> str | None:
        """The permission this request needs; None for a self-authenticated or unmapped
        route."""
        access = self.access
        if access is None:
            return None
        if isinstance(access, ByPathParameter):
            return access.resolve(self.path_params)
        return None if access in SELF_AUTHENTICATED else access


class RouteTable:
    """Finds the route a request will reach, the way the router does: first full match."""

    def __init__(self, routes: list[tuple[str, str, BaseRoute | None]]) -> None:
        self._entries: list[tuple[str, str, re.Pattern[str]]] = []
        for method, path, route in routes:
            pattern = path + "/{path:path}" if isinstance(route, Mount) else path
            regex, _format, _convertors = compile_path(pattern)
            self._entries.append((method, path, regex))

    @classmethod
    def of(cls, app: FastAPI) -> RouteTable:
        return cls(list(iter_routes(app)))

    def match(self, method: str, path: str) -> RouteMatch | None:
        wanted = "GET" if method == "HEAD" else method
        for route_method, route_path, regex in self._entries:
            if route_method != wanted:
                continue
            found = regex.match(path)
            if found is not None:
                params = found.groupdict()
                return RouteMatch(wanted, route_path, params, ROUTES.get((wanted, route_path)))
        return None


class PermissionRefusedError(ForbiddenError):
    """403 for a user without a permission: the refused page names it and who holds it."""

    def __init__(self, message: str, *, permission: str) -> None:
        super().__init__(message, field="permission")
        self.permission = permission


def forbidden(user: UserRead, permission: str) -> PermissionRefusedError:
    """403 naming the permission and the user's role (field `permission`)."""
    via = " through an API token" if user.token_id is not None else ""
    return PermissionRefusedError(
        f"this needs the permission '{permission}'; you are signed in as role "
        f"'{user.role}'{via}, which does not hold it",
        permission=permission,
    )


def page_permission(path: str) -> str | None:
    """The permission a GET of `path` (a page of the menu) needs; None when public."""
    access = ROUTES.get(("GET", path))
    if access is None or isinstance(access, ByPathParameter):
        return None
    return None if access in SELF_AUTHENTICATED else access


def require_permission(name: str) -> Callable[[UserRead], UserRead]:
    """A dependency that lets through only users holding `name` (403 otherwise)."""
    if name not in PERMISSIONS_BY_NAME:
        raise ValueError(f"unknown permission '{name}'")

    def check_permission(user: CurrentUser) -> UserRead:
        if not user.can(name):
            raise forbidden(user, name)
        return user

    return check_permission
