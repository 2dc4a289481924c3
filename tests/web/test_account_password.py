"""An officer changes their own password on the pages: the current password first, the
new one twice; every other session ends, this browser stays signed in, and guessing the
current password through the form locks the account like failed sign-ins."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.web.conftest import PASSWORD, log_in
from tests.web.session import sign_in
from tests.web.test_session_revocation import copy_of, reads
from zhian.node import Node

NEW_PASSWORD = "a brand new passphrase"
_PAGE_TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def change(client: TestClient, current: str, new: str, repeat: str | None = None) -> httpx.Response:
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
        },
    )


def test_a_user_changes_their_password_and_only_this_browser_stays_signed_in(
    client: TestClient, node: Node
) -> None:
    log_in(client, "grid")
    other_browser = copy_of(client)
    form = client.get("/workbench")
    assert 'href="/account/password?lang=zh"' in form.text  # reachable from every page
    page = client.get("/account/password?lang=en")
    assert page.status_code == 200 and 'id="password-form"' in page.text
    assert "Current password" in page.text

    refused = [
        (change(client, PASSWORD, "short"), "new_password", 400),
        (change(client, PASSWORD, NEW_PASSWORD, "something else"), "repeat_password", 400),
        (change(client, PASSWORD, PASSWORD), "new_password", 400),
        (change(client, "not my password", NEW_PASSWORD), "current_password", 401),
    ]
    for response, field, status in refused:
        assert response.status_code == status, response.text
        assert f'data-field="{field}"' in response.text
    assert reads(other_browser)  # nothing changed yet

    done = change(client, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/account/password?changed=1")
    shown = client.get(done.headers["location"])
    assert shown.status_code == 200 and 'id="password-changed"' in shown.text
    token = _PAGE_TOKEN.search(shown.text)
    assert token is not None
    client.headers["X-CSRF-Token"] = token.group(1)  # the new session's token

    assert reads(client)  # this browser got a new session
    assert not reads(other_browser)  # a copied cookie is dead
    sign_in(client, "grid", NEW_PASSWORD)
    assert reads(client)
    with node.db.session() as session:
        actions = session.execute(
            text("SELECT action, record_ids FROM audit_entries WHERE action = 'account.password'")
        ).all()
    assert len(actions) == 1


def test_guessing_the_current_password_locks_the_account(client: TestClient) -> None:
    log_in(client, "grid")
    limit = 5  # web.login_max_failures
    for _ in range(limit - 1):
        assert change(client, "a wrong guess!", NEW_PASSWORD).status_code == 401
    assert change(client, "a wrong guess!", NEW_PASSWORD).status_code == 429  # the last one
    locked = change(client, PASSWORD, NEW_PASSWORD)  # even the right password, while locked
    assert locked.status_code == 429
    assert 'data-field="current_password"' in locked.text
    # The sign-in form is locked for the account too, and the password did not change.
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token")
    form = client.get("/login")
    found = _FORM_TOKEN.search(form.text)
    assert found is not None
    response = client.post(
        "/login", data={"username": "grid", "password": PASSWORD, "csrf_token": found.group(1)}
    )
    assert response.status_code == 429
