"""Sessions end on the server: a cookie copied before logout, a password change or
disabling the user reads and acts no more, whichever process made the change."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from tests.web.conftest import FAST_HASHER, log_in
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.sessions import SESSION_COOKIE, SESSION_MAX_AGE_SECONDS


def copy_of(client: TestClient) -> TestClient:
    """Another client holding the same cookie and CSRF token: a stolen session."""
    thief = TestClient(client.app, follow_redirects=False)
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    thief.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    return thief


def reads(client: TestClient) -> bool:
    """Whether the session still opens a page and an API, or is refused by both."""
    page = client.get("/workbench")
    api = client.get("/api/v1/alerts")
    if page.status_code == 200 and api.status_code == 200:
        return True
    assert page.status_code == 303 and page.headers["location"].startswith("/login"), page
    assert api.status_code == 401, api.text
    return False


def alert_state(node: Node, alert_id: int) -> str:
    with node.db.session() as session:
        return str(
            session.execute(text(f"SELECT state FROM alerts WHERE id = {alert_id}")).scalar()
        )


def test_a_cookie_copied_before_logout_neither_reads_nor_acts_after_it(
    client: TestClient, node: Node, tamper: AlertSummary
) -> None:
    log_in(client, "grid")
    thief = copy_of(client)
    assert reads(thief)  # the copy works while the session is open

    assert client.post("/logout").status_code == 303
    assert not reads(thief)
    before = alert_state(node, tamper.id)
    acted = thief.post(f"/api/v1/alerts/{tamper.id}/sign", json={})
    assert acted.status_code == 401, acted.text
    page_action = thief.post(f"/alerts/{tamper.id}/actions/sign")
    assert page_action.status_code == 303 and "/login" in page_action.headers["location"]
    assert alert_state(node, tamper.id) == before

    log_in(client, "grid")  # signing in again opens a new session, not the old one
    assert reads(client) and not reads(thief)


def test_a_password_change_ends_every_session_of_the_user(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "grid")
    other_browser = copy_of(client)
    log_in(client, "station")  # another user's session is not touched
    station = copy_of(client)
    log_in(client, "grid")
    assert reads(other_browser) and reads(client) and reads(station)

    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).change_password(
            "grid", "a brand new passphrase", now=clock.now()
        )
    assert not reads(other_browser) and not reads(client)
    assert reads(station)


def test_disabling_a_user_ends_their_sessions_at_once_and_for_good(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "grid")
    assert reads(client)
    with node.db.session() as session:
        AccessService(session).set_active("grid", False, now=clock.now())
    assert not reads(client)
    with node.db.session() as session:
        AccessService(session).set_active("grid", True, now=clock.now())
    assert not reads(client)  # enabled again, the old cookie stays dead


def test_disabling_by_the_cli_in_another_process_ends_the_session(
    client: TestClient, workspace: Path
) -> None:
    log_in(client, "grid")
    assert reads(client)
    done = subprocess.run(
        [sys.executable, "-m", "zhian", "users", "disable", "grid", "-w", str(workspace)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not reads(client)


def test_an_expired_session_is_refused_while_its_cookie_signature_is_valid(
    client: TestClient, clock: ManualClock
) -> None:
    log_in(client, "grid")
    clock.advance(timedelta(seconds=SESSION_MAX_AGE_SECONDS - 60))
    assert reads(client)
    clock.advance(timedelta(seconds=61))
    assert not reads(client)


def test_the_database_keeps_only_a_hash_of_the_session_id(client: TestClient, node: Node) -> None:
    log_in(client, "grid")
    serializer = URLSafeTimedSerializer(
        node.settings.web.secret_key.get_secret_value(), salt="zhian.session.v2"
    )
    session_id = serializer.loads(client.cookies[SESSION_COOKIE])["sid"]
    assert len(session_id) >= 40
    with node.db.session() as session:
        rows = [tuple(row) for row in session.execute(text("SELECT * FROM user_sessions"))]
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert session_id not in stored
    assert hashlib.sha256(session_id.encode()).hexdigest() in stored
