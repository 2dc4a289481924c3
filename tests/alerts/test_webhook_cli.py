"""`zhian webhooks add|list|remove`: http(s) receivers only, the secret from the
environment, event patterns expanded, changes audited; the worker then signs deliveries."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from typer.testing import CliRunner

from zhian.alerts.webhooks import SIGNATURE_HEADER, WebhookWorker, sign_body
from zhian.cli.main import app
from zhian.node import Node

from .factories import draft

runner = CliRunner()
SECRET = "s3cret-of-sixteen-chars"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def test_add_list_remove_and_a_signed_delivery(
    node: Node, start: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = str(node.settings.workspace)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    code, output = invoke(
        "webhooks", "add", "http://127.0.0.1:9/hook", "--secret-env", "HOOK_SECRET",
        "--events", "alert.*", "-w", workspace,
    )  # fmt: skip
    assert code == 0, output
    assert "alert.created, alert.updated, alert.transition" in output
    code, output = invoke("webhooks", "list", "-w", workspace)
    assert code == 0 and "http://127.0.0.1:9/hook" in output and "active" in output
    assert SECRET not in output

    received: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    with node.alerts() as alerts:
        alerts.raise_drafts([draft(start)])
    worker = WebhookWorker(
        node.alert_loop._webhooks,
        node.clock,
        node.settings.alerts,
        transport=httpx.MockTransport(receiver),
    )
    try:
        assert worker.deliver_due(start) == (1, 0)
    finally:
        worker.stop()
    [request] = received
    assert request.headers[SIGNATURE_HEADER] == sign_body(SECRET, request.content)

    code, output = invoke("webhooks", "remove", "1", "-w", workspace)
    assert code == 0, output
    assert "removed" in invoke("webhooks", "list", "-w", workspace)[1]
    with node.db.session() as session:
        actions = [
            e.action
            for e in node.governance.audit(session).search(record_type="webhook_subscription")
        ]
    assert sorted(actions) == ["webhook.remove", "webhook.subscribe"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["ftp://127.0.0.1/x", "--secret-env", "HOOK_SECRET"], "url"),
        (["http://127.0.0.1/x", "--secret-env", "NOT_SET_ANYWHERE"], "secret_env"),
        (["http://127.0.0.1/x", "--secret-env", "SHORT_SECRET"], "secret"),
        (["http://127.0.0.1/x", "--secret-env", "HOOK_SECRET", "--events", "nothing.*"], "events"),
        (
            ["http://127.0.0.1/x", "--secret-env", "HOOK_SECRET", "--events", "Alert Created"],
            "events",
        ),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(
    node: Node, monkeypatch: pytest.MonkeyPatch, args: list[str], field: str
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    monkeypatch.setenv("SHORT_SECRET", "short")
    code, output = invoke("webhooks", "add", *args, "-w", str(node.settings.workspace))
    assert code == 2 and f"{field}:" in output, output
    assert invoke("webhooks", "remove", "99", "-w", str(node.settings.workspace))[0] == 2
    code, output = invoke("webhooks", "list", "-w", str(node.settings.workspace))
    assert "127.0.0.1" not in output
