"""Devices: status per community, the online-rate trend and open faults; the device list,
registration, credentials (intake token, GA/T 1400 Digest password), protocol, session,
last seen and recent rejected input of each device."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertState, OnlineRatePoint
from zhian.audit.service import Actor
from zhian.devices.models import DeviceKind
from zhian.devices.protocols import PROTOCOL_ORDER, protocol_of_source
from zhian.devices.schemas import DeviceRead
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError, ZhianError
from zhian.ingest.viid.repository import ViidRepository
from zhian.ingest.viid.service import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from zhian.ingest.viid.sessions import ViidSession
from zhian.maps.layers import DEVICE_FAULT_KIND, DEVICE_OFFLINE_KIND, device_status
from zhian.metrics.periods import hour_window
from zhian.metrics.service import MetricsService
from zhian.registry.service import RegistryService
from zhian.web.auth import current_user
from zhian.web.charts import online_rate_chart
from zhian.web.child_rollup import child_rollup
from zhian.web.layout import Page, PageDep

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

# The issue's goal for device online rate, per community and per kind.
ONLINE_GOAL_PCT = 98.0
TREND_HOURS = 24
# A device's protocols are what it sent through in this window, plus the credentials it holds.
PROTOCOL_WINDOW = timedelta(hours=24)
REJECTED_SHOWN = 20
# Fields of the registration form, as the master-data import names them.
REGISTER_FIELDS = (
    "id",
    "kind",
    "name",
    "community_id",
    "building_id",
    "unit_id",
    "zone_id",
    "gateway_id",
    "latitude",
    "longitude",
)
VIID_ID_DIGITS = 20
# Alerts and events shown on a device's page (its archive).
ARCHIVE_ROWS = 20
DEVICE_STATUS_KINDS = frozenset({DEVICE_FAULT_KIND, DEVICE_OFFLINE_KIND})
DeviceId = Annotated[str, Path(min_length=1, max_length=64)]


def _latest(points: list[OnlineRatePoint]) -> dict[str, dict[str, OnlineRatePoint]]:
    """The most recent sample per community and device kind."""
    latest: dict[str, dict[str, OnlineRatePoint]] = defaultdict(dict)
    for point in points:
        current = latest[point.community_id].get(point.device_kind)
        if current is None or point.sampled_at > current.sampled_at:
            latest[point.community_id][point.device_kind] = point
    return latest


def device_overview(page: Page) -> dict[str, Any]:
    """Communities of the user's scope with their device counts, online rates and faults."""
    alerts, scope = page.context.alerts, page.context.scope
    points = alerts.online_rate_series(scope=scope, hours=TREND_HOURS)
    faults = alerts.open_device_alerts(scope=scope)
    session = page.context.session
    communities = RegistryService(session).list_communities(scope=scope)
    devices = _devices(page, scope)
    registered: dict[str, int] = defaultdict(int)
    for device in devices:
        if device.community_id is not None and device.is_enabled:
            registered[device.community_id] += 1
    # The figures of the hour ending now, by the metrics layer's one definition: the KPI
    # page and the statistics show the same rate for the same area and hour.
    since, now = hour_window(page.now)
    latest = _latest([p for p in points if since < p.sampled_at <= now])
    metrics = MetricsService(session)
    area = metrics.area(scope, None)
    per_community = metrics.community_online(area, now)
    rows = []
    for community in communities:
        kinds = latest.get(community.id, {})
        online, total = per_community.get(community.id, (0, 0))
        sampled: datetime | None = max((p.sampled_at for p in kinds.values()), default=None)
        rows.append(
            {
                "community": community,
                "registered": registered.get(community.id, 0),
                "total": total,
                "online": online,
                "rate_pct": round(100.0 * online / total, 1) if total else None,
                "sampled_at": sampled,
                "kinds": sorted(kinds.values(), key=lambda point: point.device_kind),
            }
        )
    names = {community.id: community.name for community in communities}
    return {
        "rows": rows,
        "area_rate_pct": metrics.online_rate_now(area, now),
        "faults": faults,
        "names": names,
        "goal_pct": ONLINE_GOAL_PCT,
        "trend_chart": online_rate_chart(points, names, page.zone, ONLINE_GOAL_PCT),
        "has_trend": bool(points),
    }


@router.get("/devices", response_class=HTMLResponse, include_in_schema=False)
def devices_page(page: PageDep) -> HTMLResponse:
    return page.render("devices.html", _overview_context(page))


# --- protocols, sessions, credentials ------------------------------------------------------


def protocols(
    sources: Iterable[str], *, has_token: bool, has_viid_credential: bool
) -> list[dict[str, Any]]:
    """What a device speaks: protocols it sent through (seen) and those it holds credentials
    for without having sent anything yet (not seen), in a fixed order."""
    seen = {protocol_of_source(source) for source in sources}
    held = {name for name, has in (("native", has_token), ("gat1400", has_viid_credential)) if has}
    order = {name: index for index, name in enumerate(PROTOCOL_ORDER)}
    return [
        {"name": name, "seen": name in seen}
        for name in sorted(seen | held, key=lambda name: (order.get(name, len(order)), name))
    ]


def _sources_by_device(page: Page, *, shared: bool = True) -> dict[str, set[str]]:
    """Device id -> the sources it sent through lately, over every device of the node (the
    caller keeps those of the user's scope); an event-store scan, shared for a moment by the
    device list, read afresh for one device's page (`shared=False`: an integrator setting
    a device up checks there that its first events came in)."""

    def read() -> dict[str, set[str]]:
        now = page.now
        stats = page.node.event_reads.arrival_stats(
            now - PROTOCOL_WINDOW, now + timedelta(seconds=1), late_after_seconds=300
        )
        found: dict[str, set[str]] = defaultdict(set)
        for row in stats:
            found[row.device_id].add(row.source)
        return found

    return page.context.cached(("device_sources",), read) if shared else read()


def _devices(page: Page, scope: JurisdictionScope) -> list[DeviceRead]:
    """The devices of `scope` (the overview counts them, the table lists them)."""
    context = page.context
    return context.cached(
        ("devices", scope), lambda: DeviceService(context.session).list_devices(scope=scope)
    )


def _viid_sessions(page: Page) -> dict[str, ViidSession]:
    return {session.device_id: session for session in page.node.viid.service.sessions.live()}


def _scope(page: Page) -> JurisdictionScope:
    return page.context.scope


def _audit(page: Page, action: str, device_id: str, details: dict[str, Any]) -> None:
    """An audit entry in the request's transaction: it commits with the change it records."""
    page.node.governance.audit(page.context.session).record(
        Actor.user(page.user.id),
        action,
        record_type="device",
        record_ids=[device_id],
        ip=page.context.ip,
        details=details,
    )


def device_rows(page: Page, scope: JurisdictionScope) -> list[dict[str, Any]]:
    """Every device of the user's scope with its protocols, session and last seen."""
    session = page.context.session
    devices = _devices(page, scope)
    viid_ids = set(ViidRepository(session).credential_device_ids())
    in_scope = RegistryService(session).list_communities(scope=scope)
    communities = {c.id: c.name for c in in_scope}
    sources = _sources_by_device(page)
    sessions = _viid_sessions(page)
    last_seen = page.context.cached(("device_last_seen",), page.node.event_reads.device_last_seen)
    return [
        {
            "device": device,
            "community": communities.get(device.community_id or "", device.community_id or ""),
            "protocols": protocols(
                sources.get(device.id, ()),
                has_token=device.has_token,
                has_viid_credential=device.id in viid_ids,
            ),
            "session": sessions.get(device.id),
            "last_seen": last_seen.get(device.id),
        }
        for device in devices
    ]


def _visible_device(page: Page, device_id: str) -> DeviceRead:
    context = page.context
    device = DeviceService(context.session).get_device(device_id, scope=context.scope)
    if device is None:
        raise NotFoundError(f"no device '{device_id}' in your jurisdiction", field="device_id")
    return device


def device_detail(page: Page, device_id: str) -> dict[str, Any]:
    """One device: attributes, protocols, VIID session, last seen, credentials, rejections."""
    device = _visible_device(page, device_id)
    session = page.context.session
    credential = ViidRepository(session).credential(device_id)
    viid_credential = (
        None
        if credential is None
        else {"username": credential.username, "issued_at": credential.issued_at}
    )
    rejected = DeviceService(session).rejected_input(device_id, limit=REJECTED_SHOWN)
    in_scope = RegistryService(session).list_communities(scope=page.context.scope)
    communities = {c.id: c.name for c in in_scope}
    sources = _sources_by_device(page, shared=False).get(device_id, set())
    return {
        "device": device,
        "community": communities.get(device.community_id or "", device.community_id or ""),
        "protocols": protocols(
            sources | {item.source for item in rejected},
            has_token=device.has_token,
            has_viid_credential=viid_credential is not None,
        ),
        "session": _viid_sessions(page).get(device_id),
        "last_seen": page.node.event_reads.device_last_seen().get(device_id),
        "viid_credential": viid_credential,
        "is_viid_id": len(device_id) == VIID_ID_DIGITS and device_id.isdigit(),
        "rejected": rejected,
        **device_archive(page, device),
        "may_manage": page.user.can("devices.manage"),
        "new_token": None,
        "new_password": None,
        "notice": None,
        "error": None,
    }


def device_archive(page: Page, device: DeviceRead) -> dict[str, Any]:
    """The device's archive (档案): status on the map, its alerts (the offline and fault
    ones are its status history) and its newest events (identifiers masked)."""
    context = page.context
    alerts = context.alerts.list_alerts(
        AlertFilter(place=device.id), scope=context.scope, per_page=ARCHIVE_ROWS
    ).items
    open_device_alerts = [
        a for a in alerts if a.kind in DEVICE_STATUS_KINDS and a.state != AlertState.CLOSED
    ]
    return {
        "map_status": device_status(device, open_device_alerts).value,
        "device_alerts": alerts,
        "recent_events": page.node.event_reads.recent_events(
            limit=ARCHIVE_ROWS, device_id=device.id
        ),
    }


def _render_detail(
    page: Page, device_id: str, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    context = {**device_detail(page, device_id), **extra}
    response = page.render("device_detail.html", context, status_code=status_code)
    if extra.get("new_token") or extra.get("new_password"):
        # A secret shown once must not stay in any cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _overview_context(page: Page) -> dict[str, Any]:
    scope = _scope(page)
    return {
        **device_overview(page),
        "devices": device_rows(page, scope),
        "may_manage": page.user.can("devices.manage"),
        "device_kinds": [kind.value for kind in DeviceKind],
        "form": {},
        "form_error": None,
        "rollup": child_rollup(page),
        "rollup_action": "/devices",
    }


# --- routes --------------------------------------------------------------------------------


@router.get("/devices/{device_id}", response_class=HTMLResponse, include_in_schema=False)
def device_page(page: PageDep, device_id: DeviceId) -> HTMLResponse:
    return _render_detail(page, device_id)


@router.post("/devices", include_in_schema=False)
async def register_device(page: PageDep) -> Response:
    """Register a device from the form; errors re-render the form naming the field."""
    form = await page.request.form()
    fields = {name: str(form.get(name) or "").strip() for name in REGISTER_FIELDS}
    context = page.context
    try:
        # `register` checks every field before it writes and writes nothing when it refuses
        # (the registry's load_rows: "none half-loaded"), so the re-rendered form below
        # commits no half-registered device.
        device = DeviceService(context.session).register(fields, scope=context.scope)
    except ZhianError as error:
        values = {**_overview_context(page), "form": fields, "form_error": error}
        return page.render("devices.html", values, status_code=error.status_code)
    _audit(
        page,
        "device.register",
        device.id,
        {"kind": device.kind.value, "community_id": device.community_id},
    )
    # The intake and the rules know the device once it is committed.
    context.after_commit(page.node.refresh_directory)
    return RedirectResponse(f"/devices/{device.id}?lang={page.lang}&registered=1", status_code=303)


@router.post("/devices/{device_id}/token", include_in_schema=False)
def issue_device_token(page: PageDep, device_id: DeviceId) -> Response:
    """Issue (or rotate) the device's intake token; shown once on the page that answers."""
    device = _visible_device(page, device_id)
    token = DeviceService(page.context.session).issue_token(device.id, now=page.now)
    _audit(page, "device.token_issue", device.id, {"rotated": device.has_token})
    # The old token stops working once the new one is committed.
    page.context.after_commit(page.node.refresh_directory)
    return _render_detail(page, device.id, new_token=token)


@router.post("/devices/{device_id}/viid-password", include_in_schema=False)
async def set_viid_password(page: PageDep, device_id: DeviceId) -> Response:
    """Set the GA/T 1400 Digest password (only HA1 is kept); a blank field generates one."""
    device = _visible_device(page, device_id)
    form = await page.request.form()
    password = str(form.get("password") or "")
    generated = not password
    try:
        if generated:
            password = secrets.token_urlsafe(18)
        elif not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            raise BadRequestError(
                f"must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
                field="password",
            )
        page.node.viid.service.set_password(page.context.session, device.id, password)
    except ZhianError as error:
        # set_password checks the device id before it writes: nothing to roll back here.
        return _render_detail(page, device.id, status_code=error.status_code, error=error)
    _audit(page, "device.viid_password_set", device.id, {"generated": generated})
    return _render_detail(
        page,
        device.id,
        new_password=password if generated else None,
        notice="password_set",
    )
