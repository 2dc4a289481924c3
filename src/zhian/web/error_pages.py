"""Refused (403) and missing (404) pages: the page shell with the menu, in the user's language,
saying what is missing and whom to ask. API and device routes keep their JSON envelope."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from zhian.access.permissions import PERMISSIONS_BY_NAME
from zhian.access.roles import Role, role_name
from zhian.access.service import UserRead
from zhian.errors import NotFoundError, ZhianError
from zhian.web.error_text import error_sentence
from zhian.web.i18n import add_texts, text
from zhian.web.layout import page_lang, templates
from zhian.web.permissions import PermissionRefusedError
from zhian.web.sessions import authenticate

# Prefixes whose callers are programs (devices, platforms, scripts): they get JSON.
_MACHINE_PREFIXES = ("/api/", "/VIID/", "/static/")
_IMAGE_PATH = re.compile(r"^/api/v1/alerts/\d+/images/[^/]+$")

ERROR_TEXT: dict[str, tuple[str, str]] = {
    "refused_title": ("无权访问", "Not allowed"),
    "refused_missing": (
        "此页面或操作需要“{permission}”权限，您的角色“{role}”不具备。",
        "This page or action needs the permission “{permission}”, which your role, {role}, "
        "does not hold.",
    ),
    "refused_holders": (
        "持有此权限的角色：{roles}。如确需使用，请联系系统管理员调整您的角色。",
        "Roles holding it: {roles}. If you need it, ask an administrator to change your role.",
    ),
    "refused_other": (
        "您无权进行此操作，请联系您的上级或系统管理员。",
        "You may not do this; ask your supervisor or an administrator.",
    ),
    "refused_scope": (
        "此记录不在您的辖区或职责范围内。",
        "This record is outside your jurisdiction or your role's duties.",
    ),
    "refused_csrf": (
        "页面已过期，请刷新后重试。",
        "The page has expired: reload it and try again.",
    ),
    "not_found_title": ("页面不存在", "Page not found"),
    "not_found_body": (
        "您要找的页面或记录不存在，或不在您的辖区内。",
        "The page or record you asked for does not exist or is outside your jurisdiction.",
    ),
    "home": ("返回首页", "Back to the start page"),
    "sign_in": ("登录", "Sign in"),
    "technical_detail": ("技术细节", "Technical detail"),
    "permission_name": ("权限编码", "Permission code"),
    "list_separator": ("、", ", "),
}
add_texts(ERROR_TEXT)


def wants_page(request: Request) -> bool:
    """Whether an error on this request is answered with a page rather than JSON: people's
    pages, and an alert's image opened in the browser (its link on the alert page)."""
    path = request.url.path
    accept = request.headers.get("accept", "*/*")
    if request.headers.get("hx-request") == "true":
        return False
    if _IMAGE_PATH.match(path):
        return accept.startswith("text/html")
    if path.startswith(_MACHINE_PREFIXES):
        return False
    return "text/html" in accept or "*/*" in accept


def error_lines(error: ZhianError, user: UserRead | None, lang: str) -> tuple[str, list[str]]:
    """The heading and the sentences an error page shows for `error`."""
    t = text(lang)
    if error.status_code == 400:  # an alert image that cannot be shown, for instance
        return t["error"], [error_sentence(lang, error)]
    if isinstance(error, NotFoundError) or error.status_code == 404:
        return t["not_found_title"], [t["not_found_body"]]
    if isinstance(error, PermissionRefusedError):
        permission = PERMISSIONS_BY_NAME.get(error.permission)
        if permission is not None:
            described = permission.description if lang == "en" else permission.description_zh
            described = described.rstrip(".").replace("`", "")
            role = role_name(Role(user.role), lang) if user is not None else ""
            holders = [role_name(r, lang) for r in Role if r in permission.roles]
            return t["refused_title"], [
                t["refused_missing"].format(permission=described, role=role),
                t["refused_holders"].format(roles=t["list_separator"].join(holders)),
            ]
    if error.field == "csrf_token":
        return t["refused_title"], [t["refused_csrf"]]
    if error.field in {"role", "community_id", "jurisdiction", "scope"}:
        return t["refused_title"], [t["refused_scope"], t["refused_other"]]
    return t["refused_title"], [t["refused_other"]]


def render_error_page(request: Request, error: ZhianError, user: UserRead | None) -> HTMLResponse:
    """The styled page for a 403/404 (other statuses show the refused wording too)."""
    lang = page_lang(request)
    if user is not None:
        request.state.user = user  # the menu shows what this user may open
    heading, lines = error_lines(error, user, lang)
    values: dict[str, Any] = {
        "t": text(lang),
        "lang": lang,
        "user": user,
        "role": role_name(Role(user.role), lang) if user is not None else "",
        "heading": heading,
        "lines": lines,
        "error": error,
        "permission": getattr(error, "permission", None),
        "is_partial": False,
    }
    return templates.TemplateResponse(request, "error.html", values, status_code=error.status_code)


async def error_page(request: Request, error: ZhianError) -> HTMLResponse:
    """`render_error_page` for a request whose user may not be known yet (a 404 of a path
    outside the route map passes the guard without signing in)."""
    user: UserRead | None = getattr(request.state, "user", None)
    if user is None:
        try:
            user = await run_in_threadpool(authenticate, request)
        except ZhianError:
            user = None
    return render_error_page(request, error, user)
