"""One request, one transaction: every guarded route gets its user, scope and session from
`zhian.web.deps.request_context`, which commits once at the end, rolls back on error, and
audits a refused reveal even when the request itself rolls back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request

from tests.web.conftest import log_in
from zhian.access.service import AccessService, UserRead
from zhian.audit.service import Actor
from zhian.governance.reveal import Purpose
from zhian.node import Node
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
