"""The page shell: templates, language choice (query, then cookie), navigation, static files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from zhian.access.roles import Role, role_name
from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.deps import Context, RequestContext
from zhian.web.error_text import error_text
from zhian.web.evidence import event_summary, figure_label, figure_value
from zhian.web.i18n import DEFAULT_LANG, LANGS, choices, label, text
from zhian.web.permissions import page_permission
from zhian.web.time_input import parse_local_time

LANG_COOKIE = "zhian_lang"
LANG_COOKIE_MAX_AGE_SECONDS = 365 * 24 * 60 * 60
TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

# (key of the text table, path) in menu order; "/" redirects to the workbench or the status.
NAVIGATION: tuple[tuple[str, str], ...] = (
    ("nav_workbench", "/workbench"),
    ("nav_alerts", "/alerts"),
    ("nav_incidents", "/incidents"),  # text registered by zhian.web.incident_views
    ("nav_phone", "/phone"),  # text registered by zhian.web.phone_views
    ("nav_map", "/map"),  # text registered by zhian.web.map_views
    ("nav_checkins", "/patrol/checkins"),  # text registered by zhian.web.patrol_views
    ("nav_search", "/search"),  # text registered by zhian.web.search_views
    ("nav_passages", "/passages"),  # text registered by zhian.web.passage_views
    ("nav_faces", "/face-search"),  # text registered by zhian.web.face_views
    ("nav_watchlists", "/watchlists"),  # text registered by zhian.web.watchlist_views
    ("nav_cases", "/cases"),  # text registered by zhian.web.case_views
    ("nav_tips", "/tips"),  # text registered by zhian.web.tip_triage_views
    ("nav_library", "/library"),  # text registered by zhian.web.library_views
    ("nav_hotspots", "/hotspots"),  # text registered by zhian.web.hotspot_views
    ("nav_trajectories", "/trajectories"),  # text registered by zhian.web.trajectory_views
    ("nav_cascade_searches", "/cascade/searches"),  # zhian.web.cascade_search_views
    ("nav_devices", "/devices"),
    ("nav_kpis", "/kpis"),
    ("nav_stats", "/stats"),  # text registered by zhian.web.stats_views
    ("nav_reports", "/reports"),  # text registered by zhian.web.report_views
    ("nav_assessment", "/assessment"),  # text registered by zhian.web.assessment_views
    ("nav_screen", "/screen"),  # text registered by zhian.web.screen_views
    ("nav_crowd", "/crowd"),  # text registered by zhian.web.crowd_views
    ("nav_models", "/models"),  # text registered by zhian.web.model_views
    ("nav_procedures", "/procedures"),  # text registered by zhian.web.procedure_views
    ("nav_status", "/status"),
    ("nav_quality", "/quality"),  # governance texts registered by zhian.web.*_views
    ("nav_quarantine", "/quarantine"),
    ("nav_audit", "/audit"),
)


def page_lang(request: Request) -> str:
    """The page language: `?lang=` when given, else the remembered choice, else Chinese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGS else DEFAULT_LANG


def lang_url(request: Request, lang: str) -> str:
    """This page's address with the language set to `lang` (the switch in the header)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", lang))
    return f"{request.url.path}?{urlencode(query)}"


def nav_items(request: Request, lang: str) -> list[dict[str, Any]]:
    """The menu entries the signed-in user may open (the guard's route map decides), with
    the language in the link so every page agrees on it. No user, no entries."""
    user: UserRead | None = getattr(request.state, "user", None)
    path = request.url.path
    items = []
    for key, href in NAVIGATION:
        needed = page_permission(href)
        if user is None or (needed is not None and not user.can(needed)):
            continue
        is_active = path == href or path.startswith(href + "/")
        items.append({"label": text(lang)[key], "href": f"{href}?lang={lang}", "active": is_active})
    return items


def display_zone(node: Node) -> timezone:
    """The zone the pages show times in (`pages.utc_offset_minutes`, +08:00 by default)."""
    return timezone(timedelta(minutes=node.settings.pages.utc_offset_minutes))


def _make_environment() -> Environment:
    # Strict: a misspelt name in one of these templates fails its test instead of rendering "".
    # No auto_reload: the templates ship with the package, and checking every template's
    # file on each use (a row include is one per row) cost the alert wall ~15 % of its
    # rendering. Restart the node to see an edited template.
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        auto_reload=False,
    )
    register_globals(environment)
    return environment


def register_globals(environment: Environment) -> None:
    """The helpers `base.html` needs, for any environment that renders a page on it."""
    environment.globals.update(
        ui_text=text,
        label=label,
        choices=choices,
        nav_items=nav_items,
        lang_url=lang_url,
        static_url=static_url,
        figure_label=figure_label,
        error_text=error_text,
        event_summary=event_summary,
        figure_value=figure_value,
        replay_banner=replay_banner,
        replay_failed=replay_failed,
    )


class ReplayState(Protocol):
    """A replay of history going on behind the pages (`zhian demo`, zhian.sim.replay)."""

    start: datetime
    end: datetime

    @property
    def is_done(self) -> bool: ...
    @property
    def failure(self) -> str | None: ...
    @property
    def reached(self) -> datetime: ...
    @property
    def fraction(self) -> float: ...


def replay_banner(request: Request, lang: str) -> str:
    """While the demo replays its history, one line saying how far it has come; else ''.

    The demo serves its pages from the start and fills them as the replay goes
    (`app.state.replay`); any other node has no replay and shows nothing."""
    replay: ReplayState | None = getattr(request.app.state, "replay", None)
    if replay is None or replay.is_done:
        return ""
    zone = display_zone(request.app.state.node)
    if replay.failure is not None:
        return text(lang)["replay_failed"].format(
            reached=local_time(replay.reached, zone), what=replay.failure
        )
    return text(lang)["replay_banner"].format(
        reached=local_time(replay.reached, zone),
        percent=int(replay.fraction * 100),
        days=round((replay.end - replay.start).total_seconds() / 86400),
    )


def replay_failed(request: Request) -> bool:
    """Whether the demo's replay stopped on an error (its banner then warns, not informs)."""
    replay: ReplayState | None = getattr(request.app.state, "replay", None)
    return replay is not None and not replay.is_done and replay.failure is not None


def static_url(path: str) -> str:
    return f"/static/{path}"


templates = Jinja2Templates(env=_make_environment())


def local_time(value: datetime | None, zone: timezone, fmt: str = "%m-%d %H:%M") -> str:
    """A UTC time shown in the display zone (+08:00 by default)."""
    if value is None:
        return ""
    return value.astimezone(zone).strftime(fmt)


@dataclass(frozen=True)
class Page:
    """What every page handler needs: the node, the signed-in user, the language, and the
    request's context (scope, one session committed at the end: `zhian.web.deps`)."""

    request: Request
    node: Node
    user: UserRead
    lang: str
    context: RequestContext
    _place_names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def t(self) -> Mapping[str, str]:
        return text(self.lang)

    @property
    def zone(self) -> timezone:
        return display_zone(self.node)

    def place_name(self, place_id: str | None) -> str:
        """A jurisdiction's or community's name for a page; the id only when unnamed."""
        if not place_id:
            return ""
        names = self._place_names
        if not names:
            names.update(self.context.cached(("place_names",), self._read_place_names))
        return str(names.get(place_id, place_id))

    def _read_place_names(self) -> dict[str, str]:
        registry = RegistryService(self.context.session)
        names = registry.jurisdiction_names()
        for community in registry.list_communities(scope=JurisdictionScope.unscoped()):
            names.setdefault(community.id, community.name)
        return names

    @property
    def now(self) -> datetime:
        return self.node.clock.now()

    def form_time(self, value: str, field: str) -> datetime | None:
        """A time typed in a form or a query (ISO 8601); without an offset it is read in the
        display zone, as the user sees times on the pages. Empty: None."""
        return parse_local_time(value, field, self.zone) if value else None

    def render(
        self, name: str, context: Mapping[str, Any], *, status_code: int = 200
    ) -> HTMLResponse:
        zone = self.zone
        values: dict[str, Any] = {
            "t": self.t,
            "lang": self.lang,
            "user": self.user,
            "role": role_name(Role(self.user.role), self.lang),
            "server_now": self.now.astimezone(UTC).isoformat(),
            "when": lambda value, fmt="%m-%d %H:%M": local_time(value, zone, fmt),
            "zone": zone,
            "place_name": self.place_name,
            "is_partial": name.rsplit("/", 1)[-1].startswith("_"),
            **context,
        }
        response = templates.TemplateResponse(self.request, name, values, status_code=status_code)
        remember_lang(self.request, response, self.lang)
        return response


def remember_lang(request: Request, response: HTMLResponse, lang: str) -> None:
    """Keep an explicit `?lang=` choice in a cookie, so the next page speaks it too."""
    if request.query_params.get("lang") in LANGS and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_MAX_AGE_SECONDS,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


async def page(request: Request, context: Context) -> Page:
    # Async: nothing here blocks, so no thread-pool trip for it.
    return Page(
        request=request,
        node=context.node,
        user=context.user,
        lang=page_lang(request),
        context=context,
    )


PageDep = Annotated[Page, Depends(page)]


def install(app: FastAPI, *other_templates: Jinja2Templates) -> None:
    """Serve the vendored assets under /static and give other page templates the shell."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for other in other_templates:
        register_globals(other.env)
