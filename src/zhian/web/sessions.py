"""Who is asking: the signed session cookie, API tokens on /api/, and `current_user`.

A session cookie holds the user id, a random session id and the session's CSRF token,
signed with `web.secret_key`; a fresh one is issued at every sign-in, so a cookie planted
before the sign-in is never the signed-in session (session fixation). The session id names
a row of `user_sessions` (by its sha256), checked on every request: logout, a password
change or disabling the user revoke it there, so a copied cookie stops working at once.
Before signing in, the login form gets its own CSRF token in a short-lived pre-session
cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from zhian.access.service import API_TOKEN_PREFIX, AccessService, UserRead
from zhian.config import Settings
from zhian.db.engine import Database
from zhian.errors import ConfigurationError, UnauthorizedError
from zhian.kit.clock import Clock

SESSION_COOKIE = "zhian_session"
PRESESSION_COOKIE = "zhian_presession"
SESSION_MAX_AGE_SECONDS = 12 * 60 * 60  # one duty shift
SESSION_LIFETIME = timedelta(seconds=SESSION_MAX_AGE_SECONDS)
PRESESSION_MAX_AGE_SECONDS = 2 * 60 * 60  # a login form left open over lunch still works
MIN_SECRET_KEY_CHARS = 32
CSRF_TOKEN_BYTES = 32
# Separate salts: a pre-session cookie never passes for a session, nor the reverse.
_SESSION_SALT = "zhian.session.v2"
_PRESESSION_SALT = "zhian.presession.v1"


class _AuthNode(Protocol):
    """The part of `zhian.node.Node` that authentication needs."""

    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def wall_clock(self) -> Clock: ...


class LoginRequiredError(UnauthorizedError):
    """A page was asked for without a valid session; the app turns it into a redirect."""

    def __init__(self, next_url: str) -> None:
        super().__init__("sign in first")
        self.next_url = next_url


@dataclass(frozen=True)
class SessionData:
    """The content of a valid session cookie."""

    user_id: int
    session_id: str
    csrf_token: str


def check_secret_key(settings: Settings) -> None:
    """Refuse an empty or short `web.secret_key`, saying how to set one."""
    key = settings.web.secret_key.get_secret_value()
    if len(key) < MIN_SECRET_KEY_CHARS:
        state = "empty" if not key else f"only {len(key)} characters long"
        raise ConfigurationError(
            f"web.secret_key is {state}; it signs the session cookies and must be at least "
            f"{MIN_SECRET_KEY_CHARS} random characters. Set it in the environment, e.g. "
            "export ZHIAN_WEB__SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')\"",
            field="web.secret_key",
        )


def node_of(connection: HTTPConnection) -> _AuthNode:
    node: _AuthNode = connection.app.state.node
    return node


def new_csrf_token() -> str:
    return secrets.token_urlsafe(CSRF_TOKEN_BYTES)


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer | None:
    key = settings.web.secret_key.get_secret_value()
    return URLSafeTimedSerializer(key, salt=salt) if key else None


def _signing_serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    serializer = _serializer(settings, salt)
    if serializer is None:
        raise ConfigurationError(
            "web.secret_key is empty, so sessions cannot be signed; "
            "set ZHIAN_WEB__SECRET_KEY to a long random value",
            field="web.secret_key",
        )
    return serializer


def require_signing_key(settings: Settings) -> None:
    """Raise the configuration error when there is no key to sign sessions with."""
    _signing_serializer(settings, _SESSION_SALT)


# Where `read_session` keeps its answer in the ASGI scope, with the cookie it read.
_SESSION_MEMO = "zhian.session"


def _load(settings: Settings, salt: str, token: str | None, max_age: int) -> dict[str, Any] | None:
    serializer = _serializer(settings, salt)
    if not token or serializer is None:
        return None
    try:
        payload: Any = serializer.loads(token, max_age=max_age)
    except BadSignature:  # also an expired one (SignatureExpired)
        return None
    return payload if isinstance(payload, dict) else None


def read_session(connection: HTTPConnection) -> SessionData | None:
    """The session the cookie carries, if its signature and age are valid.

    No database: whether the session is still open is `authenticate`'s question. Checked
    once per request (the access guard and the handler both ask): the signature check is
    a good part of a small page's cost.
    """
    token = connection.cookies.get(SESSION_COOKIE)
    memo = connection.scope.get(_SESSION_MEMO)
    if memo is not None and memo[0] == token:
        known: SessionData | None = memo[1]
        return known
    found = _session_of(
        _load(node_of(connection).settings, _SESSION_SALT, token, SESSION_MAX_AGE_SECONDS)
    )
    connection.scope[_SESSION_MEMO] = (token, found)
    return found


def _session_of(payload: dict[str, Any] | None) -> SessionData | None:
    if payload is None:
        return None
    user_id, session_id, csrf = payload.get("uid"), payload.get("sid"), payload.get("csrf")
    if not isinstance(user_id, int) or not isinstance(session_id, str):
        return None
    if not isinstance(csrf, str) or not csrf:
        return None
    return SessionData(user_id, session_id, csrf)


def read_presession_csrf(connection: HTTPConnection) -> str | None:
    """The login form's CSRF token from the pre-session cookie, if valid."""
    payload = _load(
        node_of(connection).settings,
        _PRESESSION_SALT,
        connection.cookies.get(PRESESSION_COOKIE),
        PRESESSION_MAX_AGE_SECONDS,
    )
    csrf = None if payload is None else payload.get("csrf")
    return csrf if isinstance(csrf, str) and csrf else None


def new_session_cookie(settings: Settings, user_id: int, session_id: str) -> str:
    """The cookie of a session just started (`AccessService.start_session`), with a new
    CSRF token."""
    payload = {"uid": user_id, "sid": session_id, "csrf": new_csrf_token()}
    return _signing_serializer(settings, _SESSION_SALT).dumps(payload)


def new_presession_cookie(settings: Settings, csrf_token: str) -> str:
    return _signing_serializer(settings, _PRESESSION_SALT).dumps({"csrf": csrf_token})


def csrf_token_of(connection: HTTPConnection) -> str:
    """The CSRF token forms of this request must carry ("" when there is none yet)."""
    session = read_session(connection)
    if session is not None:
        return session.csrf_token
    return read_presession_csrf(connection) or ""


def bearer_token(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(connection: HTTPConnection) -> UserRead | None:
    """The user behind the request, or None; 401 for a bad API token on /api/.

    On /api/ paths an `Authorization: Bearer zat_…` API token is used and the cookie is
    then ignored: one request, one credential. A device token is refused here: devices
    only reach the intake routes, which check them on their own.
    """
    node = node_of(connection)
    if connection.url.path.startswith("/api/"):
        token = bearer_token(connection)
        if token is not None:
            if not token.startswith(API_TOKEN_PREFIX):
                raise UnauthorizedError(
                    "this API needs a session or an API token ('Authorization: Bearer "
                    f"{API_TOKEN_PREFIX}…'); device tokens only submit events",
                    field="Authorization",
                )
            with node.db.session() as db_session:
                principal = AccessService(db_session).authenticate_api_token(
                    token, now=node.wall_clock.now()
                )
            if principal is None:
                raise UnauthorizedError(
                    "the API token is unknown, expired or revoked", field="Authorization"
                )
            return principal
    session = read_session(connection)
    if session is None:
        return None
    # Read on every request, so a logged-out session or a disabled user is out at once,
    # not when the cookie's signature expires.
    with node.db.session() as db_session:
        return AccessService(db_session).authenticate_session(
            session.session_id, session.user_id, now=node.wall_clock.now()
        )


def login_required(connection: HTTPConnection) -> UnauthorizedError:
    """The error for an anonymous request: 401 on the API, a login redirect for pages."""
    if connection.url.path.startswith("/api/"):
        return UnauthorizedError(
            "sign in first: this API needs a session or an API token", field="session"
        )
    query = connection.url.query
    return LoginRequiredError(connection.url.path + (f"?{query}" if query else ""))


async def current_user(request: Request) -> UserRead:
    """The signed-in, active user; 401 on API paths, else a redirect to the login page.

    Async, so the usual case (the access guard has authenticated the request already)
    costs no trip to the thread pool; the database lookup otherwise runs in one.
    """
    cached: UserRead | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    user = await run_in_threadpool(authenticate, request)
    if user is None:
        raise login_required(request)
    request.state.user = user
    return user


CurrentUser = Annotated[UserRead, Depends(current_user)]
