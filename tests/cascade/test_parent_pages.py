"""The parent's workbench, alert wall, devices and KPI pages roll up the children's data
per jurisdiction of a chosen level, with the children's link table, within the user's
scope and only for those who may see child nodes (docs/cascade.md "Parent pages")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import CHILD_ID, PASSWORD, issue_token
from tests.web.session import sign_in
from zhian.cascade.wire import CONTENT_TYPE, ENCODER, AlertChange, ChildBatch, OnlineSummary
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

PAGES = ("/workbench", "/alerts", "/devices", "/kpis")


def _change(
    action_id: int, alert_id: int, action: str, to_state: str | None, clock: ManualClock
) -> AlertChange:
    return AlertChange(
        action_id=action_id,
        alert_id=alert_id,
        action=action,
        from_state=None,
        to_state=to_state,
        at=clock.now() - timedelta(minutes=10 - action_id),
        rule="alarm",
        kind="alarm_fire",
        tier="major",
        title_zh="火警",
        title_en="Fire alarm",
        community_id="C1",
        jurisdiction_id="J-STATION",
        device_id=None,
    )


def _deliver(client: TestClient, credential: str, clock: ManualClock) -> None:
    """The child reports: alert 1 open and past its deadline, alert 2 closed, alert 3
    open in time; its doors in C1 are 3 of 4 online."""
    _post(
        client,
        credential,
        ChildBatch(
            node_id=CHILD_ID,
            sent_at=clock.now(),
            alert_changes=[
                _change(1, 1, "raised", "new", clock),
                _change(2, 2, "raised", "new", clock),
                _change(3, 1, "breached", None, clock),
                _change(4, 2, "closed", "closed", clock),
                _change(5, 3, "raised", "new", clock),
                _change(6, 3, "signed", "signed", clock),
            ],
            online=[
                OnlineSummary(1, clock.now() - timedelta(hours=1), "C1", "door", 4, 1),
                OnlineSummary(2, clock.now(), "C1", "door", 4, 3),
            ],
        ),
    )


def _post(client: TestClient, credential: str, batch: ChildBatch) -> None:
    answer = client.post(
        "/api/v1/cascade/batches",
        content=ENCODER.encode(batch),
        headers={"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE},
    )
    assert answer.status_code == 200, answer.text


def _row(page: str, jurisdiction: str) -> dict[str, str]:
    """The roll-up figures of one jurisdiction's row."""
    match = re.search(rf'<tr data-jurisdiction="{jurisdiction}">(.*?)</tr>', page, re.S)
    assert match, f"no roll-up row for {jurisdiction}"
    cells = re.findall(r'data-figure="(\w+)"[^>]*>(.*?)</td>', match.group(1), re.S)
    return {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in cells}


def test_every_parent_page_rolls_up_the_children_by_level_within_scope(
    parent: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        _deliver(client, credential, clock)
        sign_in(client, "command", PASSWORD)
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 200, (path, page.text)
            # The children's own level first: the stations.
            station = _row(page.text, "J-STATION")
            assert (station["online"], station["open"], station["overdue"]) == (
                "75.0%",
                "2",
                "1",
            ), path
            assert _row(page.text, "J-OTHER")["open"] == "0"
            assert f'<tr data-node="{CHILD_ID}">' in page.text

        city = client.get("/kpis?level=city").text
        assert _row(city, "J-CITY")["open"] == "2"
        assert 'data-jurisdiction="J-STATION"' not in city
        assert "City" in client.get("/devices?level=city&lang=en").text

        wrong = client.get("/alerts?level=planet").text
        assert 'id="child-level-error"' in wrong and "level" in wrong
        assert _row(wrong, "J-STATION")["open"] == "2"


def test_a_childs_delivery_shows_on_the_parent_pages_at_once_not_when_the_cache_expires(
    parent: Node, clock: ManualClock
) -> None:
    assert parent.settings.pages.figures_cache_seconds > 0  # the pages keep their figures
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        sign_in(client, "command", PASSWORD)
        _deliver(client, credential, clock)
        for path in PAGES:
            assert _row(client.get(path).text, "J-STATION")["open"] == "2", path
        # The child closes alert 3 and raises alerts 4 and 5: every page shows it at once.
        changes = [
            _change(7, 3, "closed", "closed", clock),
            _change(8, 4, "raised", "new", clock),
            _change(9, 5, "raised", "new", clock),
        ]
        _post(client, credential, ChildBatch(CHILD_ID, clock.now(), alert_changes=changes))
        for path in PAGES:
            assert _row(client.get(path).text, "J-STATION")["open"] == "3", path


def test_who_may_see_children_but_not_alerts_sees_the_roll_up_without_alert_counts(
    parent: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        _deliver(client, credential, clock)
        sign_in(client, "installer", PASSWORD)
        page = client.get("/devices")
        assert page.status_code == 200, page.text
        assert _row(page.text, "J-STATION")["online"] == "75.0%"
        assert 'data-figure="open"' not in page.text
        assert 'data-figure="overdue"' not in page.text


@pytest.mark.parametrize("username", ["outsider", "grid"])
def test_users_outside_the_children_or_without_the_permission_see_no_roll_up(
    parent: Node, clock: ManualClock, username: str
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        _deliver(client, credential, clock)
        sign_in(client, username, PASSWORD)
        page = client.get("/workbench")
        assert page.status_code == 200
        assert 'id="child-rollup"' not in page.text
        assert CHILD_ID not in page.text


def _child_alert_rows(page: str) -> list[tuple[str, str]]:
    """(alert id, state cell text) of the wall's children's-alerts section, in order."""
    section = re.search(r'<section[^>]*id="child-alerts">(.*?)</section>', page, re.S)
    if section is None:
        return []
    rows = re.findall(
        r'<tr data-node="[^"]+" data-alert="(\d+)".*?data-figure="state">(.*?)</td>',
        section.group(1),
        re.S,
    )
    return [(alert, re.sub(r"<[^>]+>", "", state).strip()) for alert, state in rows]


def test_the_alert_wall_lists_the_childrens_open_alerts_by_scope(
    parent: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    with TestClient(create_app(parent)) as client:
        _deliver(client, credential, clock)
        sign_in(client, "command", PASSWORD)
        wall = client.get("/alerts?lang=en").text
        # Alert 2 is closed; 3 changed last; 1 breached its deadline.
        assert _child_alert_rows(wall) == [("3", "Signed"), ("1", "New Overdue")]
        assert "Fire alarm" in wall
        # A grid worker of the children's station reads alerts: sees them, without the roll-up.
        sign_in(client, "grid", PASSWORD)
        wall = client.get("/alerts?lang=en").text
        assert [alert for alert, _ in _child_alert_rows(wall)] == ["3", "1"]
        assert 'id="child-rollup"' not in wall
        sign_in(client, "outsider", PASSWORD)
        assert _child_alert_rows(client.get("/alerts").text) == []
