"""Sign-in pages with lockout, the session cookie they issue, and the guards of every route.

Authentication itself (cookie, API token, `current_user`) lives in `zhian.web.sessions`,
the route → permission map in `zhian.web.permissions` and its enforcement, with CSRF, in
`zhian.web.guard`; `install` wires them into an app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from zhian.access.lockout import Lock, LockKind, LockoutPolicy
from zhian.access.roles import Role
from zhian.access.service import MAX_PASSWORD_CHARS, AccessService, UserRead
from zhian.config import Settings
from zhian.errors import ForbiddenError
from zhian.web.guard import AccessGuard
from zhian.web.sessions import (
    PRESESSION_COOKIE,
    PRESESSION_MAX_AGE_SECONDS,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SESSION_MAX_AGE_SECONDS,
    CurrentUser,
    LoginRequiredError,
    current_user,
    new_csrf_token,
    new_presession_cookie,
    new_session_cookie,
    node_of,
    read_session,
    require_signing_key,
)

__all__ = [
    "SESSION_COOKIE",
    "CurrentUser",
    "LoginRequiredError",
    "current_user",
    "install",
    "require_roles",
]

router = APIRouter(tags=["auth"])
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "治安 · 登录",
        "heading": "登录",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
        "failed": "用户名或密码错误",
        "locked_user": "账号已临时锁定，请于{minutes}分钟后重试",
        "locked_ip": "此地址登录失败次数过多，已临时锁定，请于{minutes}分钟后重试",
        "lang": "English",
    },
    "en": {
        "title": "Zhian · sign in",
        "heading": "Sign in",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "failed": "Wrong username or password",
        "locked_user": "This account is locked for now; try again in {minutes} min",
        "locked_ip": "Too many failed sign-ins from this address; try again in {minutes} min",
        "lang": "中文",
    },
}


def lockout_policy(settings: Settings) -> LockoutPolicy:
    web = settings.web
    return LockoutPolicy(
        max_failures=web.login_max_failures,
        ip_max_failures=web.login_ip_max_failures,
        lock_seconds=web.login_lock_seconds,
        lock_max_seconds=web.login_lock_max_seconds,
        window_seconds=web.login_failure_window_seconds,
    )


def _safe_next(value: str | None) -> str:
    """Only a path on this site: an absolute URL in `next` would make an open redirect."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(char) < 0x20 for char in value)
    ):
        return "/"
    return value


def _lang(value: str | None) -> str:
    return value if value in TEXT else "zh"


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def require_roles(*roles: Role) -> Callable[[UserRead], UserRead]:
    """A dependency that lets through only users holding one of `roles` (403 otherwise)."""
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(roles)

    def check_role(user: CurrentUser) -> UserRead:
        if user.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise ForbiddenError(
                f"this needs one of the roles {names}; you are signed in as {user.role.value}",
                field="role",
            )
        return user

    return check_role


def _login_page(
    request: Request,
    *,
    lang: str,
    next_url: str,
    username: str = "",
    has_failed: bool = False,
    lock: Lock | None = None,
) -> HTMLResponse:
    """The login form; it always carries a CSRF token (a pre-session one before sign-in)."""
    csrf_token: str = request.state.csrf_token
    fresh_presession = None
    if not csrf_token:
        csrf_token = new_csrf_token()
        fresh_presession = new_presession_cookie(node_of(request).settings, csrf_token)
        request.state.csrf_token = csrf_token
    message = TEXT[lang]["failed"] if has_failed else ""
    if lock is not None:
        key = "locked_user" if lock.kind is LockKind.USERNAME else "locked_ip"
        message = TEXT[lang][key].format(
            minutes=lock.minutes_left(node_of(request).wall_clock.now())
        )
    status_code = 200
    if lock is not None:
        status_code = 429
    elif has_failed:
        status_code = 401
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "t": TEXT[lang],
            "lang": lang,
            "next": next_url,
            "username": username,
            "message": message,
            "is_locked": lock is not None,
            "csrf_token": csrf_token,
        },
        status_code=status_code,
    )
    if lock is not None:
        response.headers["Retry-After"] = str(
            max(1, int((lock.until - node_of(request).wall_clock.now()).total_seconds()))
        )
    if fresh_presession is not None:
        response.set_cookie(
            PRESESSION_COOKIE,
            fresh_presession,
            max_age=PRESESSION_MAX_AGE_SECONDS,
            path="/",
            secure=_is_https(request),
            httponly=True,
            samesite="lax",
        )
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(
    request: Request,
    lang: Annotated[str | None, Query()] = None,
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> HTMLResponse:
    return _login_page(request, lang=_lang(lang), next_url=_safe_next(next_url))


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
    lang: Annotated[str, Form()] = "zh",
) -> Response:
    node = node_of(request)
    require_signing_key(node.settings)  # a missing key fails before any password is checked
    result = None
    session_id = ""
    client_address = request.client.host if request.client else None
    if username.strip() and password and len(password) <= MAX_PASSWORD_CHARS:
        with node.db.session() as session:
            service = AccessService(session)
            now = node.wall_clock.now()
            result = service.sign_in(
                username,
                password,
                client_address=client_address,
                policy=lockout_policy(node.settings),
                now=now,
            )
            if result.user is not None:
                session_id = start_browser_session(service, request, result.user.id, now)
    if result is None or result.user is None:
        return _login_page(
            request,
            lang=_lang(lang),
            next_url=_safe_next(next_url),
            username=username[:64],
            has_failed=True,
            lock=None if result is None else result.lock,
        )
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    # Always a new session (new id, new CSRF token): never the cookie sent before sign-in.
    set_session_cookie(request, response, result.user.id, session_id)
    response.delete_cookie(
        PRESESSION_COOKIE, path="/", secure=_is_https(request), httponly=True, samesite="lax"
    )
    return response


def start_browser_session(
    service: AccessService, request: Request, user_id: int, now: datetime
) -> str:
    """A new server-side session for the browser that sent `request`; returns its id."""
    return service.start_session(
        user_id,
        now=now,
        lifetime=SESSION_LIFETIME,
        client_address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def set_session_cookie(request: Request, response: Response, user_id: int, session_id: str) -> None:
    """Give the browser the cookie of a session just started for `user_id`."""
    response.set_cookie(
        SESSION_COOKIE,
        new_session_cookie(node_of(request).settings, user_id, session_id),
        max_age=SESSION_MAX_AGE_SECONDS,
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    """End the session on the server, so a copy of the cookie stops working too."""
    session = read_session(request)
    if session is not None:
        node = node_of(request)
        with node.db.session() as db_session:
            AccessService(db_session).end_session(session.session_id, now=node.wall_clock.now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_is_https(request), httponly=True, samesite="lax"
    )
    return response


async def _redirect_to_login(request: Request, exc: Exception) -> Response:
    next_url = exc.next_url if isinstance(exc, LoginRequiredError) else "/"
    query = {"next": _safe_next(next_url)}
    if request.query_params.get("lang") == "en":
        query["lang"] = "en"
    return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)


def install(app: FastAPI) -> None:
    """Add the sign-in routes, the access guard (route map, CSRF) and the login redirect."""
    app.include_router(router)
    app.add_middleware(AccessGuard)
    app.add_exception_handler(LoginRequiredError, _redirect_to_login)
