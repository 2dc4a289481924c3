"""Signing in the way a browser does: the login form's CSRF token, then the session's."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_PAGE_TOKEN = re.compile(r'"X-CSRF-Token": "([^"]+)"')


def sign_in(client: TestClient, username: str, password: str) -> None:
    """Log in through the form and send the session's CSRF token on later requests."""
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    form = client.get("/login")
    found = _FORM_TOKEN.search(form.text)
    assert found, "the login form carries no CSRF token"
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": found.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"], follow_redirects=True)
    token = _PAGE_TOKEN.search(page.text)
    assert token, "the page shell carries no CSRF token"
    client.headers["X-CSRF-Token"] = token.group(1)
