"""The access guard: one middleware that checks every request against the route map.

Before any route runs it (1) finds the route the request will reach and the permission
`zhian.web.permissions.ROUTES` gives it, (2) authenticates the request (session cookie, or
an API token on /api/) and answers 401 / a login redirect / 403 itself, and (3) when
`web.csrf_enforced` is on, refuses an unsafe request authenticated by the cookie unless it
carries the session's CSRF token (header `X-CSRF-Token` or form field `csrf_token`).
It also puts the CSRF token on `request.state.csrf_token` for the templates.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhian.errors import ForbiddenError, PayloadTooLargeError, ZhianError
from zhian.web.error_pages import render_error_page, wants_page
from zhian.web.permissions import DEVICE, RouteMatch, RouteTable, forbidden
from zhian.web.sessions import (
    LoginRequiredError,
    authenticate,
    bearer_token,
    csrf_token_of,
    login_required,
    node_of,
)

logger = logging.getLogger(__name__)

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A form is read to find its CSRF field only up to this size (photos included).
MAX_FORM_BYTES = 64 * 1024 * 1024


class AccessGuard:
    """Pure ASGI middleware (streams such as the live feed pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._tables: dict[int, tuple[int, RouteTable]] = {}
        self._warned: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response, receive = await self._check(request, receive)
        except ZhianError as error:
            response = _error_response(request, error)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _table(self, app: FastAPI) -> RouteTable:
        size = len(app.router.routes)
        cached = self._tables.get(id(app))
        if cached is None or cached[0] != size:
            cached = (size, RouteTable.of(app))
            self._tables[id(app)] = cached
        return cached[1]

    async def _check(self, request: Request, receive: Receive) -> tuple[Response | None, Receive]:
        request.state.csrf_token = csrf_token_of(request)
        match = self._table(request.app).match(request.method, request.url.path)
        if (
            match is not None
            and match.access is None
            and (match.method, match.path) not in (self._warned)
        ):
            self._warned.add((match.method, match.path))
            logger.warning("route %s %s has no entry in the route map", match.method, match.path)
        permission = None if match is None else match.permission()
        if permission is not None:
            user = await run_in_threadpool(authenticate, request)
            if user is None:
                raise login_required(request)
            request.state.user = user  # the refused page shows this user's menu
            if not user.can(permission):
                raise forbidden(user, permission)
        if self._needs_csrf(request, match):
            return await self._verify_csrf(request, receive)
        return None, receive

    def _needs_csrf(self, request: Request, match: RouteMatch | None) -> bool:
        if request.method not in UNSAFE_METHODS:
            return False
        if not node_of(request).settings.web.csrf_enforced:
            return False
        if match is not None and match.access == DEVICE:
            return False  # devices hold no cookie: no ambient authority to abuse
        # An API token on /api/ replaces the cookie (sessions.authenticate): not ambient.
        return not (request.url.path.startswith("/api/") and bearer_token(request) is not None)

    async def _verify_csrf(
        self, request: Request, receive: Receive
    ) -> tuple[Response | None, Receive]:
        expected = request.state.csrf_token
        submitted = request.headers.get(CSRF_HEADER)
        if submitted is None:
            body = await _read_body(receive)
            receive = _replay(body, receive)
            submitted = await _form_field(request, body, receive)
        if not expected or not submitted or not secrets.compare_digest(expected, submitted):
            raise ForbiddenError(
                "the CSRF token is missing or does not match this session; reload the page "
                f"and try again (form field '{CSRF_FIELD}' or header 'X-CSRF-Token')",
                field=CSRF_FIELD,
            )
        return None, receive


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise PayloadTooLargeError(f"a form is at most {MAX_FORM_BYTES} bytes", field="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then the original stream."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _form_field(request: Request, body: bytes, receive: Receive) -> str | None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        return values[0] if values else None
    if content_type == "multipart/form-data":
        # A throwaway request over the buffered body; the route parses its own copy.
        probe = Request(request.scope, _replay(body, receive))
        form = await probe.form()
        try:
            value = form.get(CSRF_FIELD)
            return value if isinstance(value, str) else None
        finally:
            await form.close()
    return None


def _error_response(request: Request, error: ZhianError) -> Response:
    if isinstance(error, LoginRequiredError):
        query = {"next": error.next_url}
        if request.query_params.get("lang") == "en":
            query["lang"] = "en"
        return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)
    if error.status_code != 403 or not wants_page(request):
        headers = {"WWW-Authenticate": "Bearer"} if error.status_code == 401 else None
        return JSONResponse(
            {"error": error.to_dict()}, status_code=error.status_code, headers=headers
        )
    return render_error_page(request, error, getattr(request.state, "user", None))
