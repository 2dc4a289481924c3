"""What officers type about an alert, and webhook secrets, are sealed at rest (#12).

Notes, a skipped step's reason and the handling feedback may name a person or a phone;
a webhook secret lets whoever holds it sign messages as the node. The database holds none
of them in clear; the alert reads them back whole, the webhook still signs, and
`zhian keys rotate` re-seals them under the new key before the old one is retired.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from tests.alerts.factories import Users, draft, load_place, make_users
from zhian.access.scope import JurisdictionScope
from zhian.alerts.webhooks import SIGNATURE_HEADER
from zhian.cli.main import app
from zhian.config import Settings
from zhian.kit.clock import ManualClock
from zhian.node import Node

EVERYWHERE = JurisdictionScope.unscoped()
NOTE = "联系了住户王小明，电话13912345678"
REASON = "业主李大海（13800001111）拒绝开门"
FEEDBACK = "已与赵小红（13700002222）核实，误报"
SECRET = "hook-secret-3f9a7c21b8"
TYPED = ("王小明", "13912345678", "李大海", "13800001111", "赵小红", "13700002222", SECRET)


def _clear_cells(database: Path) -> list[str]:
    """`table.column` of every cell of the database that holds any typed text in clear."""
    found = []
    with sqlite3.connect(database) as connection:
        tables = [
            n for (n,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info('{table}')")]
            for column in columns:
                for (value,) in connection.execute(f'SELECT "{column}" FROM "{table}"'):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    if isinstance(text, str) and any(typed in text for typed in TYPED):
                        found.append(f"{table}.{column}")
                        break
    return found


def _handle_a_fire_alarm(node: Node, users: Users) -> int:
    """A fire alarm signed with a note, a step skipped with a reason, handled with feedback."""
    with node.alerts() as alerts:
        [alert_id] = alerts.raise_drafts([draft(node.clock.now(), kind="alarm_fire")])
    with node.alerts() as alerts:
        alerts.sign(alert_id, scope=EVERYWHERE, user_id=users.command, note=NOTE)
        alerts.tick_step(
            alert_id,
            "evacuate",
            scope=EVERYWHERE,
            user_id=users.command,
            skipped=True,
            reason=REASON,
        )
        alerts.dispatch(alert_id, scope=EVERYWHERE, user_id=users.command, assignee_id=users.grid)
        alerts.arrive(alert_id, scope=EVERYWHERE, user_id=users.grid)
        alerts.handle(alert_id, scope=EVERYWHERE, user_id=users.grid, feedback=FEEDBACK)
    return alert_id


def _assert_reads_back(node: Node, alert_id: int) -> None:
    with node.alerts() as alerts:
        alert = alerts.get_alert(alert_id, scope=EVERYWHERE)
    notes = {action.action: action.note for action in alert.timeline}
    assert notes["sign"] == NOTE and notes["tick_step"] == REASON and notes["created"] == ""
    assert alert.feedback == FEEDBACK
    assert {step.key: step.reason for step in alert.procedure}["evacuate"] == REASON


class _Receiver(BaseHTTPRequestHandler):
    """A webhook receiver on loopback that keeps each body and its signature."""

    received: ClassVar[list[tuple[bytes, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((body, self.headers[SIGNATURE_HEADER]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _signed_delivery(node: Node) -> tuple[bytes, str]:
    """Deliver what is due; the last body the receiver got and its signature."""
    delivered, failed = node.alert_loop.webhook_worker.deliver_due()
    assert failed == 0 and delivered == len(_Receiver.received) >= 1
    body, signature = _Receiver.received[-1]
    _Receiver.received = []
    return body, signature


def _assert_signed_with_the_secret(body: bytes, signature: str) -> None:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)


def test_notes_and_the_webhook_secret_are_sealed_read_back_and_resealed_by_rotation(
    node_settings: Settings, clock: ManualClock, receiver: str
) -> None:
    with Node.open(node_settings, clock, feed=False) as node:
        load_place(node, now=clock.now())
        users = make_users(node, clock.now())
        with node.alerts() as alerts:
            alerts.webhooks.subscribe(receiver, SECRET)
        alert_id = _handle_a_fire_alarm(node, users)
        _assert_reads_back(node, alert_id)
        _assert_signed_with_the_secret(*_signed_delivery(node))
    database = node_settings.workspace / "zhian.db"
    assert _clear_cells(database) == []

    result = CliRunner().invoke(app, ["keys", "rotate", "-w", str(node_settings.workspace)])
    assert result.exit_code == 0, result.output
    for label in ("alert_actions.note_enc", "alerts.feedback_enc", "webhook_subscriptions"):
        assert label in result.output
    assert "Retired keys: k1" in result.output

    # Only the new key is left: what was not re-sealed under it would no longer open.
    clock.advance(timedelta(minutes=1))
    with Node.open(node_settings, clock, feed=False) as node:
        _assert_reads_back(node, alert_id)
        with node.alerts() as alerts:
            alerts.close(alert_id, scope=EVERYWHERE, user_id=users.command, outcome="false_alarm")
        _assert_signed_with_the_secret(*_signed_delivery(node))
