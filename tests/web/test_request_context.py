"""One request, one transaction: every guarded route gets its user, scope and session from
`zhian.web.deps.request_context`, which commits once at the end, rolls back on error, and
audits a refused reveal even when the request itself rolls back."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request

import zhian.web
from tests.web.conftest import FAST_HASHER, PASSWORD, log_in
from zhian.access.service import AccessService, UserRead
from zhian.audit.service import Actor
from zhian.devices.models import Device
from zhian.governance.reveal import Purpose
from zhian.node import Node
from zhian.web import device_views
from zhian.web.deps import RequestContext, request_context
from zhian.web.permissions import ROUTES, SELF_AUTHENTICATED


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def test_every_guarded_route_takes_the_request_context(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in route.methods:
            access = ROUTES.get((method, route.path))
            if access in (*SELF_AUTHENTICATED, None):
                continue
            if request_context not in set(_calls(route.dependant)):
                missing.append(f"{method} {route.path}")
    assert missing == [], "routes that open their own transactions: " + ", ".join(missing)


def _request() -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("10.1.2.3", 5)}
    )


def _user(node: Node, username: str) -> UserRead:
    with node.db.session() as session:
        return next(u for u in AccessService(session).list_users() if u.username == username)


def _audited(node: Node, action: str) -> int:
    with node.db.session() as session:
        return len(node.governance.audit(session).search(action=action))


def _write(context: RequestContext, action: str) -> None:
    context.node.governance.audit(context.session).record(Actor.user(context.user.id), action)


def test_the_request_commits_once_on_success_and_runs_what_waits_on_the_commit(
    node: Node,
) -> None:
    ran: list[int] = []
    steps = request_context(_request(), node, _user(node, "command"))
    context = next(steps)
    assert context.ip == "10.1.2.3" and not context.scope.is_unscoped
    _write(context, "test.first")
    _write(context, "test.second")
    context.after_commit(lambda: ran.append(_audited(node, "test.second")))
    assert _audited(node, "test.first") == 0  # not yet committed
    with pytest.raises(StopIteration):
        next(steps)
    assert (_audited(node, "test.first"), _audited(node, "test.second")) == (1, 1)
    assert ran == [1]  # ran after the commit, and saw it


def test_an_error_rolls_the_request_back_but_a_refused_reveal_stays_audited(
    node: Node,
) -> None:
    ran: list[str] = []
    steps = request_context(_request(), node, _user(node, "grid"))
    context = next(steps)
    _write(context, "test.lost")
    context.after_commit(lambda: ran.append("published"))
    read = context.read("alert.reveal_plate", "alert", "1")
    with pytest.raises(Exception) as refused:
        context.reveal.authorise(context.user, Purpose(reason="a stated reason"), read)
    with pytest.raises(type(refused.value)):
        steps.throw(refused.value)
    assert _audited(node, "test.lost") == 0  # rolled back
    assert ran == []  # nothing announced for a rolled-back change
    assert _audited(node, "alert.reveal_plate.refused") == 1


def test_an_unknown_alert_is_404_and_reveals_and_audits_nothing(
    client: TestClient, node: Node
) -> None:
    log_in(client, "command")
    answer = client.get("/api/v1/alerts/1", params={"reveal": "1", "reason": "case work"})
    assert answer.status_code == 404
    assert _audited(node, "alert.reveal_plate") == 0
    assert _audited(node, "alert.reveal_plate.refused") == 0


def test_a_device_route_writes_in_the_request_and_refreshes_after_the_commit(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issuing a token, its audit entry and the directory refresh share the request's fate:
    a failure while answering leaves no token, no audit entry and no refresh."""
    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "integrator",
            PASSWORD,
            role="integrator",
            jurisdiction_id="J-STATION",
            display_name="测试·integrator",
            now=node.clock.now(),
        )
    before = _token_hash(node, "DOOR1")
    refreshed: list[bool] = []
    monkeypatch.setattr(node, "refresh_directory", lambda: refreshed.append(True))
    log_in(client, "integrator")

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the page failed after the token was written")

    with monkeypatch.context() as patch:
        patch.setattr(device_views, "_render_detail", fail)
        with pytest.raises(RuntimeError):
            client.post("/devices/DOOR1/token")
    assert _audited(node, "device.token_issue") == 0
    assert _token_hash(node, "DOOR1") == before and refreshed == []

    assert client.post("/devices/DOOR1/token").status_code == 200
    assert _audited(node, "device.token_issue") == 1
    assert _token_hash(node, "DOOR1") != before and refreshed == [True]


def _token_hash(node: Node, device_id: str) -> str | None:
    with node.db.session() as session:
        device = session.get(Device, device_id)
        assert device is not None
        return device.token_sha256


# Modules under src/zhian/web/ that may open a session of their own, and why: none of them
# is a handler that could take the request's context instead.
OWN_SESSION_ALLOWED = {
    # The request context itself: it opens the request's one transaction, and a second one
    # for a refused reveal's audit entry, which must outlive the request's rollback.
    "deps.py",
    # Authentication (`current_user`) runs before the request context exists and only reads
    # the user, session or API token behind the request (noting when it was last used).
    "sessions.py",
    # Sign-in: no user yet, so no request context; the failed-attempt count it writes must
    # be committed whatever the page answers. Logout ends the session whatever comes next.
    "auth.py",
    # Not a route: the report schedule's background loop, one transaction per scheduled
    # report, so one that fails leaves the others archived.
    "report_schedule.py",
    # Not a route either: a report job runs in the job pool after the request answered,
    # committing its progress as it goes; the job row is committed before it is handed to
    # the pool so the generator and the pollers see it (zhian.web.report_jobs).
    "report_jobs.py",
    # The public tip pages (随手拍): no user, so no request context; each request opens
    # one transaction of its own, committed before the answer (zhian.web.tip_views).
    "tip_views.py",
}


def _opens_a_session(tree: ast.AST) -> list[int]:
    """Lines calling `<anything>.db.session(...)` or building a sessionmaker."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        if (
            isinstance(called, ast.Attribute)
            and called.attr == "session"
            and isinstance(called.value, ast.Attribute)
            and called.value.attr == "db"
        ) or (isinstance(called, ast.Name) and called.id == "sessionmaker"):
            lines.append(node.lineno)
    return lines


def test_no_route_module_opens_its_own_transaction() -> None:
    web = Path(zhian.web.__file__).parent
    modules = sorted(web.glob("*.py"))
    assert {path.name for path in modules} >= OWN_SESSION_ALLOWED  # the allow-list is current
    found = [
        f"{path.name}:{line}"
        for path in modules
        if path.name not in OWN_SESSION_ALLOWED
        for line in _opens_a_session(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == [], "use the request's session (page.context.session): " + ", ".join(found)


def test_the_transaction_check_finds_a_handler_that_opens_one() -> None:
    handler = "def page(page):\n    with page.node.db.session() as session:\n        pass\n"
    assert _opens_a_session(ast.parse(handler)) == [2]
