"""Lockout and back-off, API tokens, CSRF and session fixation on the real app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.ingest.factories import access_event, load_master_data
from zhian.access.permissions import permissions_markdown
from zhian.access.service import AccessService
from zhian.cli.main import app as cli
from zhian.config import load_settings
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app
from zhian.web.sessions import PRESESSION_COOKIE, SESSION_COOKIE

PASSWORD = "correct horse battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"


def open_node(workspace: Path, clock: ManualClock, **web: object) -> Node:
    settings = load_settings(workspace, web={"secret_key": "s" * 40, **web})
    node = Node.open(settings, clock, feed=False)
    load_master_data(node, now=clock.now())
    with node.db.session() as session:
        access = AccessService(session, password_hasher=FAST_HASHER)
        access.create_user(
            "duty", PASSWORD, role="station_officer", jurisdiction_id="J-STATION", now=clock.now()
        )
        access.create_user("root", PASSWORD, role="admin", jurisdiction_id=None, now=clock.now())
        access.create_user(
            "vendor", PASSWORD, role="integrator", jurisdiction_id="J-STATION", now=clock.now()
        )
    return node


@pytest.fixture
def node(workspace: Path, clock: ManualClock) -> Iterator[Node]:
    # Lockout, tokens and sessions are tested on their own here; CSRF has `strict_client`.
    with open_node(workspace, clock, csrf_enforced=False) as opened:
        yield opened


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node), follow_redirects=False) as test_client:
        yield test_client


def log_in(client: TestClient, username: str = "duty", password: str = PASSWORD) -> int:
    return client.post("/login", data={"username": username, "password": password}).status_code


# Lockout and back-off
def test_five_failures_lock_the_username_with_the_reason_on_the_page(
    client: TestClient, clock: ManualClock
) -> None:
    for _ in range(4):
        assert log_in(client, password="wrong password") == 401
    locked = client.post("/login", data={"username": "DUTY", "password": "wrong password"})
    assert locked.status_code == 429
    assert "账号已临时锁定，请于1分钟后重试" in locked.text
    assert locked.headers["retry-after"] == "60"
    # The right password is refused while locked, without being checked.
    right = client.post("/login", data={"username": "duty", "password": PASSWORD, "lang": "en"})
    assert right.status_code == 429 and "try again in 1 min" in right.text
    clock.advance(timedelta(seconds=61))
    assert log_in(client) == 303


def test_locks_double_and_are_forgotten_after_a_quiet_window(
    client: TestClient, clock: ManualClock
) -> None:
    for _ in range(5):
        log_in(client, password="wrong password")
    clock.advance(timedelta(seconds=61))
    for _ in range(4):
        assert log_in(client, password="wrong password") == 401
    second = client.post("/login", data={"username": "duty", "password": "nope nope"})
    assert "请于2分钟后重试" in second.text  # 60 s, then 120 s
    clock.advance(timedelta(seconds=121 + 900))
    for _ in range(4):
        assert log_in(client, password="wrong password") == 401
    third = client.post("/login", data={"username": "duty", "password": "nope nope"})
    assert "请于1分钟后重试" in third.text  # the quiet window reset the back-off


def test_unknown_usernames_lock_alike_and_one_address_is_locked_after_twenty(
    client: TestClient,
) -> None:
    for _ in range(5):
        last = client.post("/login", data={"username": "ghost", "password": "whatever1"})
    assert last.status_code == 429  # no hint whether 'ghost' exists
    for number in range(15):  # 5 + 15 failures from the test client's one address
        response = client.post(
            "/login", data={"username": f"spray{number}", "password": "whatever1"}
        )
    assert response.status_code == 429 and "此地址登录失败次数过多" in response.text
    assert log_in(client) == 429  # even a correct password from that address waits


# API tokens
def issue(node: Node, owner: str = "duty", **options: object) -> str:
    with node.db.session() as session:
        return AccessService(session).issue_api_token(
            owner, "sync", now=node.clock.now(), **options
        )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_token_lifecycle_issue_use_expire_revoke(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    token = issue(node, days=1)
    assert token.startswith("zat_")
    status = client.get("/api/v1/status", headers=bearer(token))
    assert status.status_code == 200 and "DOOR1" in {d["id"] for d in status.json()["devices"]}
    assert client.get("/", headers=bearer(token)).status_code == 303  # pages need a person
    with node.db.session() as session:
        (listed,) = AccessService(session).list_api_tokens(owner="duty")
    assert listed.last_used_at == clock.now() and token not in listed.model_dump_json()

    clock.advance(timedelta(days=1))
    expired = client.get("/api/v1/status", headers=bearer(token))
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]

    fresh = issue(node)
    assert client.get("/api/v1/status", headers=bearer(fresh)).status_code == 200
    with node.db.session() as session:
        tokens = AccessService(session).list_api_tokens()
        AccessService(session).revoke_api_token(tokens[-1].id, now=clock.now())
    assert client.get("/api/v1/status", headers=bearer(fresh)).status_code == 401


def test_token_dies_with_its_owner_and_is_narrowed_to_its_permissions(
    client: TestClient, node: Node
) -> None:
    narrow = issue(node, permissions=["status.view"])
    assert client.get("/api/v1/status", headers=bearer(narrow)).status_code == 200
    refused = client.get("/api/v1/alerts", headers=bearer(narrow))
    assert refused.status_code == 403 and "alerts.view" in refused.json()["error"]["message"]
    with node.db.session() as session:
        AccessService(session).set_active("duty", False, now=node.clock.now())
    assert client.get("/api/v1/status", headers=bearer(narrow)).status_code == 401


def test_tokens_never_carry_reveal_nor_leave_the_owner_jurisdiction(node: Node) -> None:
    with pytest.raises(BadRequestError) as reveal:
        issue(node, permissions=["personal_data.reveal"])
    assert reveal.value.field == "permissions"
    with pytest.raises(BadRequestError) as beyond:
        issue(node, permissions=["users.manage"])
    assert "users.manage" in beyond.value.message
    with pytest.raises(BadRequestError) as outside:
        issue(node, jurisdiction_id="J-CITY")  # the station officer's parent
    assert outside.value.field == "jurisdiction_id"


def test_device_and_api_tokens_are_never_interchangeable(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    with node.db.session() as session:
        device_token = DeviceService(session).issue_token("DOOR1", now=clock.now())
    node.refresh_directory()
    api_token = issue(node, "vendor")
    event = json.dumps(access_event("e1", clock.now()))
    events = "/api/v1/events"
    headers = {"Content-Type": "application/json"}
    assert client.post(events, content=event, headers=headers | bearer(device_token)).is_success
    assert (
        client.post(events, content=event, headers=headers | bearer(api_token)).status_code == 401
    )
    as_user = client.get("/api/v1/status", headers=bearer(device_token))
    assert as_user.status_code == 401 and "device tokens" in as_user.json()["error"]["message"]
    assert client.get("/api/v1/status", headers=bearer(api_token)).status_code == 200


# Session fixation
def test_a_cookie_from_before_sign_in_is_never_the_signed_in_session(client: TestClient) -> None:
    client.get("/login")
    before = dict(client.cookies)
    assert PRESESSION_COOKIE in before and SESSION_COOKIE not in before
    assert log_in(client) == 303
    first = client.cookies[SESSION_COOKIE]
    assert client.get("/api/v1/status").status_code == 200
    assert PRESESSION_COOKIE not in client.cookies

    client.cookies.clear()
    for name, value in before.items():
        client.cookies.set(name, value)
    assert client.get("/api/v1/status").status_code == 401  # the pre-login cookie: nobody
    client.cookies.set(SESSION_COOKIE, first)  # planted by an attacker who signed in
    again = client.post("/login", data={"username": "duty", "password": PASSWORD})
    assert again.status_code == 303
    assert again.cookies[SESSION_COOKIE] != first  # rotated: a new session id and CSRF token


# CSRF
@pytest.fixture
def strict_client(workspace: Path, clock: ManualClock) -> Iterator[TestClient]:
    with (
        open_node(workspace, clock, csrf_enforced=True) as node,
        TestClient(create_app(node), follow_redirects=False) as test_client,
    ):
        yield test_client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_login_needs_the_form_token_when_csrf_is_enforced(strict_client: TestClient) -> None:
    data = {"username": "duty", "password": PASSWORD}
    refused = strict_client.post("/login", data=data)
    assert refused.status_code == 403 and "csrf_token" in refused.text
    token = form_token(strict_client.get("/login").text)
    wrong = strict_client.post("/login", data=data | {"csrf_token": token[:-2] + "xx"})
    assert wrong.status_code == 403
    assert strict_client.post("/login", data=data | {"csrf_token": token}).status_code == 303


def test_signed_in_posts_need_the_session_token_by_form_or_header(
    strict_client: TestClient,
) -> None:
    token = form_token(strict_client.get("/login").text)
    strict_client.post(
        "/login", data={"username": "duty", "password": PASSWORD, "csrf_token": token}
    )
    # The session has its own token, not the login form's.
    assert strict_client.post("/logout", data={"csrf_token": token}).status_code == 403
    sign = "/alerts/987654/actions/sign"
    assert strict_client.post(sign, data={"note": "x"}).status_code == 403
    current = form_token(strict_client.get("/login").text)  # now the session's token
    by_header = strict_client.post(sign, headers={"X-CSRF-Token": current})
    assert by_header.status_code == 404  # past the CSRF check: no such alert
    by_form = strict_client.post(sign, data={"csrf_token": current, "note": "x"})
    assert by_form.status_code == 404
    multipart = strict_client.post(
        sign,
        data={"csrf_token": current},
        files={"photo": ("a.jpg", b"\xff\xd8\xff", "image/jpeg")},
    )
    assert multipart.status_code == 404
    assert strict_client.post("/logout", headers={"X-CSRF-Token": current}).status_code == 303


def test_csrf_is_enforced_by_default(tmp_path: Path) -> None:
    assert load_settings(tmp_path).web.csrf_enforced is True


def test_token_and_device_requests_are_exempt(strict_client: TestClient) -> None:
    node: Node = strict_client.app.state.node  # type: ignore[attr-defined]
    token = issue(node, permissions=["alerts.sign", "alerts.view"])
    signed = strict_client.post("/api/v1/alerts/987654/sign", headers=bearer(token))
    assert signed.status_code not in (401, 403)  # past the CSRF check: no ambient authority
    assert strict_client.post("/api/v1/events", content=b"{}").status_code == 401  # device auth


# Generated docs and the command line
def test_permission_doc_is_generated_from_the_code() -> None:
    assert DOCS.read_text(encoding="utf-8") == permissions_markdown(), (
        "docs/permissions.md drifted: run `zhian docs permissions`"
    )


def test_users_and_tokens_commands(workspace: Path, clock: ManualClock) -> None:
    with open_node(workspace, clock):
        pass
    runner = CliRunner()
    base = ["--workspace", str(workspace)]
    created = runner.invoke(
        cli,
        [
            "users",
            "create",
            "li",
            "--role",
            "community_officer",
            "--jurisdiction",
            "J-STATION",
            *base,
        ],
        env={"ZHIAN_NEW_PASSWORD": "long enough pass"},
    )
    assert created.exit_code == 0, created.output
    listed = runner.invoke(cli, ["users", "list", *base])
    assert "li" in listed.output and "community_officer" in listed.output
    issued = runner.invoke(cli, ["tokens", "issue", "li", "--name", "vendor sync", *base])
    assert issued.exit_code == 0, issued.output
    assert re.search(r"^zat_[A-Za-z0-9_-]{40,}$", issued.output, re.MULTILINE)
    refused = runner.invoke(
        cli, ["tokens", "issue", "li", "--name", "x", "--permission", "users.manage", *base]
    )
    assert refused.exit_code == 1 and "permissions" in refused.output
    tokens = runner.invoke(cli, ["tokens", "list", *base])
    assert "vendor" in tokens.output and "zat_" not in tokens.output
    assert runner.invoke(cli, ["tokens", "revoke", "1", *base]).exit_code == 0
    changed = runner.invoke(
        cli, ["users", "password", "li", *base], env={"ZHIAN_NEW_PASSWORD": "another long pass"}
    )
    assert changed.exit_code == 0 and "sessions ended" in changed.output, changed.output
    weak = runner.invoke(cli, ["users", "password", "li", *base], env={"ZHIAN_NEW_PASSWORD": "x"})
    assert weak.exit_code == 1 and "password" in weak.output
    assert runner.invoke(cli, ["users", "disable", "li", *base]).exit_code == 0
    assert " no " in runner.invoke(cli, ["users", "list", *base]).output


def test_serve_refuses_an_empty_or_short_secret(workspace: Path) -> None:
    runner = CliRunner()
    for key in ["", "too-short"]:
        result = runner.invoke(
            cli, ["serve", "--workspace", str(workspace)], env={"ZHIAN_WEB__SECRET_KEY": key}
        )
        assert result.exit_code == 2
        assert "ZHIAN_WEB__SECRET_KEY" in result.output
