"""Sign-in pages, the signed session cookie, and the dependencies that guard every route."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer

from zhian.access.roles import Role
from zhian.access.service import MAX_PASSWORD_CHARS, AccessService, UserRead
from zhian.config import Settings
from zhian.db.engine import Database
from zhian.errors import ConfigurationError, ForbiddenError, UnauthorizedError

SESSION_COOKIE = "zhian_session"
SESSION_MAX_AGE_SECONDS = 12 * 60 * 60  # one duty shift
# Separates session signatures from anything else signed with the same key.
_SESSION_SALT = "zhian.session.v1"

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
        "lang": "English",
    },
    "en": {
        "title": "Zhian · sign in",
        "heading": "Sign in",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
        "failed": "Wrong username or password",
        "lang": "中文",
    },
}


class _AuthNode(Protocol):
    """The part of `zhian.node.Node` that sign-in needs."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...


class LoginRequiredError(UnauthorizedError):
    """A page was asked for without a valid session; `install` turns it into a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in first")
        self.next_url = next_url


def _node(request: Request) -> _AuthNode:
    node: _AuthNode = request.app.state.node
    return node


def _serializer(request: Request) -> URLSafeTimedSerializer:
    key = _node(request).settings.web.secret_key.get_secret_value()
    if not key:
        raise ConfigurationError(
            "web.secret_key is empty, so sessions cannot be signed; "
            "set ZHIAN_WEB__SECRET_KEY to a long random value"
        )
    return URLSafeTimedSerializer(key, salt=_SESSION_SALT)


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


def current_user(request: Request) -> UserRead:
    """The signed-in, active user; 401 on API paths, else a redirect to the login page."""
    cached: UserRead | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    user = _session_user(request)
    if user is None:
        if request.url.path.startswith("/api/"):
            raise UnauthorizedError("sign in first: this API needs a session", field="session")
        query = request.url.query
        raise LoginRequiredError(request.url.path + (f"?{query}" if query else ""))
    request.state.user = user
    return user


def _session_user(request: Request) -> UserRead | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    serializer = _serializer(request)
    try:
        payload: Any = serializer.loads(token, max_age=SESSION_MAX_AGE_SECONDS)
    except BadSignature:  # also an expired session (SignatureExpired)
        return None
    user_id = payload.get("uid") if isinstance(payload, dict) else None
    if not isinstance(user_id, int):
        return None
    with _node(request).db.session() as session:
        user = AccessService(session).get_user(user_id)
    # Read on every request, so a deactivated user is out at once, not after 12 hours.
    return user if user is not None and user.is_active else None


CurrentUser = Annotated[UserRead, Depends(current_user)]


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
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "t": TEXT[lang],
            "lang": lang,
            "next": next_url,
            "username": username,
            "has_failed": has_failed,
        },
        status_code=401 if has_failed else 200,
    )


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
    serializer = _serializer(request)  # a missing key fails before any password is checked
    user = None
    if username.strip() and password and len(password) <= MAX_PASSWORD_CHARS:
        with _node(request).db.session() as session:
            user = AccessService(session).authenticate(username, password)
    if user is None:
        return _login_page(
            request,
            lang=_lang(lang),
            next_url=_safe_next(next_url),
            username=username[:64],
            has_failed=True,
        )
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        serializer.dumps({"uid": user.id}),
        max_age=SESSION_MAX_AGE_SECONDS,
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="lax",
    )
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
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
    """Add the sign-in routes to `app` and send anonymous page requests to the login page."""
    app.include_router(router)
    app.add_exception_handler(LoginRequiredError, _redirect_to_login)
