"""The pages' cache (#12): answers shared per scope for a moment, never across scopes, and
forgotten as soon as an alert moves or a request commits a change.

The cache keeps answers for a minute here, far longer than any test runs: what a page
shows after a change can only be right because the change dropped the cached answer.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import FAST_HASHER, PASSWORD, alarm_event, log_in, submit, wait_for_alert
from tests.web.test_devices_page import register
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

NEW_CAMERA = "33010000001190000077"  # 20 digits: a GA/T 1400 camera


@pytest.fixture(autouse=True)
def long_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # Read by the node fixture's load_settings (autouse fixtures are set up first).
    monkeypatch.setenv("ZHIAN_PAGES__FIGURES_CACHE_SECONDS", "60")


def counts(client: TestClient) -> tuple[str, str]:
    html = client.get("/workbench/_counts").text
    new = html.split('id="count-new">', 1)[1].split("<", 1)[0]
    still_open = html.split('id="count-open">', 1)[1].split("<", 1)[0]
    return new, still_open


def to_sign(html: str) -> str:
    """The 'to sign' list of a workbench or its to-dos partial."""
    if 'id="todo-sign"' not in html:
        return ""
    return html[html.index('id="todo-sign"') :].split("</table>", 1)[0]


def test_the_cache_is_on_for_these_tests(node: Node) -> None:
    assert node.settings.pages.figures_cache_seconds == 60


def test_an_alert_the_rules_raise_shows_at_once(
    client: TestClient, node: Node, clock: ManualClock, fire: AlertSummary
) -> None:
    log_in(client, "grid")
    assert counts(client) == ("1", "1")
    assert f'data-alert-id="{fire.id}"' in client.get("/alerts/_rows").text
    assert to_sign(client.get("/workbench/_todos").text) == ""

    # Raised by the rule engine, not by a web request: only its live message tells the
    # pages that their answers are stale.
    submit(node, alarm_event("tamper-2", clock.now(), kind="tamper", device_id="CAM1"))
    tamper = wait_for_alert(node, "alarm_tamper")
    assert counts(client) == ("2", "2")
    assert f'data-alert-id="{tamper.id}"' in client.get("/alerts/_rows").text
    assert f'data-alert-id="{tamper.id}"' in to_sign(client.get("/workbench/_todos").text)


def test_a_change_made_through_the_pages_shows_on_the_next_read(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "grid")
    assert f'data-alert-id="{tamper.id}"' in to_sign(client.get("/workbench/_todos").text)
    assert client.post(f"/alerts/{tamper.id}/actions/sign").status_code in (200, 303)
    assert f'data-alert-id="{tamper.id}"' not in to_sign(client.get("/workbench/_todos").text)


def test_answers_are_never_shared_across_jurisdictions(
    client: TestClient, fire: AlertSummary
) -> None:
    # A station officer of the alert's station fills the cache first; one of the same role
    # at the station beside it asks the same pages and must not be given that answer.
    log_in(client, "station")
    assert f'data-alert-id="{fire.id}"' in client.get("/alerts/_rows").text
    assert counts(client) == ("1", "1")
    log_in(client, "outsider")
    assert f'data-alert-id="{fire.id}"' not in client.get("/alerts/_rows").text
    assert f'data-alert-id="{fire.id}"' not in client.get("/alerts").text
    assert counts(client) == ("0", "0")
    log_in(client, "command")
    assert f'data-alert-id="{fire.id}"' in client.get("/alerts").text


def test_a_device_registered_on_the_devices_page_is_listed_at_once(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    # A change that sends no live message: the committed request itself drops the answers.
    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "integrator",
            PASSWORD,
            role="integrator",
            jurisdiction_id="J-STATION",
            display_name="测试·integrator",
            now=clock.now(),
        )
    log_in(client, "integrator")
    assert NEW_CAMERA not in client.get("/devices").text
    status, _location, text = register(client, id=NEW_CAMERA)
    assert status == 303, text
    assert NEW_CAMERA in client.get("/devices").text


@pytest.fixture
def few_todos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIAN_PAGES__TODOS_SHOWN", "1")


def test_long_todo_lists_show_the_most_urgent_and_count_the_rest(
    few_todos: None, node: Node, clock: ManualClock
) -> None:
    assert node.settings.pages.todos_shown == 1
    submit(
        node,
        alarm_event("tamper-a", clock.now(), kind="tamper", device_id="CAM1"),
        alarm_event("tamper-b", clock.now(), kind="tamper", device_id="DOOR1"),
    )
    wait_for_alert(node, "alarm_tamper")
    with TestClient(create_app(node), follow_redirects=False) as client:
        log_in(client, "grid")
        todos = client.get("/workbench/_todos").text
        assert to_sign(todos).count("data-alert-id=") == 1
        assert '<span class="muted">(2)</span>' in todos
        assert 'id="todo-sign-more"' in todos and "另有 1 项" in todos
        assert 'href="/workbench?todos=all"' in todos

        everything = client.get("/workbench?todos=all").text
        assert to_sign(everything).count("data-alert-id=") == 2
        assert 'id="todo-sign-more"' not in everything
        # The list the live feed reloads stays whole.
        assert 'hx-get="/workbench/_todos?todos=all"' in everything
