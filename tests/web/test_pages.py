"""The pages of the alert loop: login guard, language, scope, roles, buttons by state."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.web.conftest import FAST_HASHER, PASSWORD, log_in
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertSummary
from zhian.node import Node
from zhian.web.i18n import TEXT

PAGES = ["/workbench", "/alerts", "/devices", "/kpis", "/status", "/"]


def offered_actions(html: str) -> list[str]:
    """The lifecycle buttons a page shows, in page order."""
    return re.findall(r'<button[^>]*data-action="(\w+)"', html)


def test_anonymous_visitors_are_sent_to_the_login(client: TestClient, fire: AlertSummary) -> None:
    for path in [*PAGES, f"/alerts/{fire.id}", "/alerts/_rows", "/workbench/_todos"]:
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    for path in ["/api/v1/alerts", f"/api/v1/alerts/{fire.id}", "/api/v1/live", "/api/v1/kpis"]:
        assert client.get(path).status_code == 401, path
    signed = client.post(f"/alerts/{fire.id}/actions/sign")
    assert signed.status_code == 303 and signed.headers["location"].startswith("/login")


def test_every_page_renders_in_chinese_for_a_signed_in_user(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    expected = {
        "/workbench": "民警工作台",
        "/alerts": "预警墙",
        f"/alerts/{fire.id}": "预警原因",
        "/devices": "设备状态",
        "/kpis": "考核指标",
        "/status": "接入统计",
    }
    for path, heading in expected.items():
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
        assert '<html lang="zh-CN">' in page.text
        assert heading in page.text, path
        assert 'sse-connect="/api/v1/live"' in page.text  # every page follows the live feed
        assert "/static/vendor/htmx/htmx.min.js" in page.text
        assert "http://" not in page.text and "https://" not in page.text, path  # no CDN


def test_static_assets_are_served_from_the_package(client: TestClient) -> None:
    for path in [
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/htmx-ext-sse/sse.min.js",
        "/static/vendor/echarts/echarts.common.min.js",
        "/static/vendor/leaflet-heat/leaflet-heat.js",
        "/static/app.js",
        "/static/app.css",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert len(response.content) > 500, path


def test_english_is_chosen_by_query_and_remembered_in_a_cookie(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    english = client.get("/workbench?lang=en")
    assert '<html lang="en">' in english.text and "Officer workbench" in english.text
    assert "zhian_lang=en" in english.headers["set-cookie"]
    later = client.get(f"/alerts/{fire.id}")  # no ?lang: the cookie speaks
    assert "Why" in later.text and "预警原因" not in later.text
    assert "Fire alarm" in later.text or "fire alarm" in later.text
    assert 'href="/alerts?lang=en"' in later.text  # the menu keeps the language
    back = client.get("/alerts?lang=zh")
    assert "预警墙" in back.text and "zhian_lang=zh" in back.headers["set-cookie"]
    assert "Alert wall" not in client.get("/alerts").text


def test_the_translation_table_is_complete() -> None:
    assert TEXT["zh"].keys() == TEXT["en"].keys()
    assert all(TEXT["zh"].values()) and all(TEXT["en"].values())


def test_buttons_follow_the_state_through_the_whole_loop(
    client: TestClient, node: Node, fire: AlertSummary
) -> None:
    log_in(client, "command")
    url = f"/alerts/{fire.id}"
    assert offered_actions(client.get(url).text) == ["sign", "close"]

    steps = [
        ("sign", {}, ["dispatch", "close"]),
        ("dispatch", {}, ["arrive", "close"]),
        ("arrive", {}, ["handle", "close"]),
    ]
    for action, form, then in steps:
        done = client.post(f"{url}/actions/{action}", data={"note": f"{action} ok", **form})
        assert done.status_code == 303 and done.headers["location"] == url
        assert offered_actions(client.get(url).text) == then, action

    photo = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(photo, format="JPEG")
    handled = client.post(
        f"{url}/actions/handle",
        data={"feedback": "现场确认为误触", "note": ""},
        files={"attachments": ("scene.jpg", photo.getvalue(), "image/jpeg")},
    )
    assert handled.status_code == 303, handled.text[-2000:]
    page = client.get(url).text
    assert offered_actions(page) == ["close"]
    assert "现场确认为误触" in page
    ref = re.search(r"/api/v1/alerts/\d+/images/(img:[0-9a-f]{64}\.jpg)", page)
    assert ref is not None
    image = client.get(f"/api/v1/alerts/{fire.id}/images/{ref.group(1)}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert f"images/{ref.group(1)}?size=thumb" in page  # the page shows thumbnails
    small = client.get(f"/api/v1/alerts/{fire.id}/images/{ref.group(1)}", params={"size": "thumb"})
    assert small.status_code == 200 and small.content.startswith(b"\xff\xd8\xff")
    odd = client.get(f"/api/v1/alerts/{fire.id}/images/{ref.group(1)}", params={"size": "huge"})
    assert odd.status_code == 422
    assert 'value="resolved"' not in page  # the fire checklist is still open

    closed = client.post(f"{url}/actions/close", data={"outcome": "false_alarm"})
    assert closed.status_code == 303
    page = client.get(url).text
    assert offered_actions(page) == []
    assert "已结项 · 误报" in page
    timeline = re.findall(r'<li class="[^"]*" data-action="(\w+)">', page)
    assert timeline[:6] == ["created", "sign", "dispatch", "arrive", "handle", "close"]
    assert "测试·command" in page and "sign ok" in page


def test_an_illegal_step_is_refused_with_the_state_named(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    response = client.post(f"/alerts/{fire.id}/actions/arrive", data={})
    assert response.status_code == 409
    assert 'id="action-error"' in response.text and "state" in response.text
    unknown = client.post(f"/alerts/{fire.id}/actions/explode", data={})
    assert unknown.status_code == 400 and "action" in unknown.text
    bad_outcome = client.post(f"/alerts/{fire.id}/actions/close", data={"outcome": "maybe"})
    assert bad_outcome.status_code == 400 and "outcome" in bad_outcome.text


def test_procedure_steps_are_ticked_or_skipped_with_a_reason(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    url = f"/alerts/{fire.id}"
    assert client.post(f"{url}/steps/confirm", data={"decision": "tick"}).status_code == 303
    no_reason = client.post(f"{url}/steps/call_119", data={"decision": "skip", "reason": ""})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    skipped = client.post(
        f"{url}/steps/call_119", data={"decision": "skip", "reason": "消防已在现场"}
    )
    assert skipped.status_code == 303
    page = client.get(url).text
    assert page.count("已完成") >= 1 and "已跳过" in page and "消防已在现场" in page
    # A fire is major: the command centre's steps follow the fire's, named with their role.
    assert page.count('data-role="command_centre"') == 3 and "指挥中心接报" in page


def test_roles_below_the_owner_see_no_buttons_and_are_refused(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "grid")  # a grid worker: below the command centre that owns a fire
    page = client.get(f"/alerts/{fire.id}")
    assert page.status_code == 200 and offered_actions(page.text) == []
    refused = client.post(f"/alerts/{fire.id}/actions/sign", data={})
    assert refused.status_code == 403 and "role" in refused.text
    assert offered_actions(client.get(f"/alerts/{tamper.id}").text) == ["sign", "close"]

    log_in(client, "analyst")  # reads, never acts
    assert offered_actions(client.get(f"/alerts/{tamper.id}").text) == []
    assert client.post(f"/alerts/{tamper.id}/actions/sign").status_code == 403


def test_alerts_outside_the_jurisdiction_are_not_disclosed(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "outsider")
    assert client.get(f"/alerts/{fire.id}").status_code == 404
    assert client.post(f"/alerts/{fire.id}/actions/sign").status_code == 404
    assert client.get(f"/api/v1/alerts/{fire.id}").status_code == 404
    wall = client.get("/alerts").text
    assert f'data-alert-id="{fire.id}"' not in wall and 'id="alert-total">0<' in wall
    assert client.get("/api/v1/alerts").json()["total"] == 0
    assert client.get("/kpis?jurisdiction=J-STATION").status_code == 400


def test_the_wall_filters_and_signs_in_one_click(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "station")
    wall = client.get("/alerts").text
    assert f'data-alert-id="{fire.id}"' in wall and f'data-alert-id="{tamper.id}"' in wall
    major = client.get("/alerts?tier=major").text
    assert f'data-alert-id="{fire.id}"' in major and f'data-alert-id="{tamper.id}"' not in major
    by_kind = client.get("/alerts/_rows?kind=alarm_tamper").text
    assert by_kind.startswith('<tbody id="alert-rows"') and 'hx-trigger="sse:alert' in by_kind
    assert f'data-alert-id="{tamper.id}"' in by_kind and f'data-alert-id="{fire.id}"' not in by_kind
    future = client.get("/alerts?since=2030-01-01T00:00").text
    assert 'id="alert-total">0<' in future

    bad = client.get("/alerts?tier=huge")
    assert bad.status_code == 400 and 'id="filter-error"' in bad.text and "tier" in bad.text
    bad_time = client.get("/alerts?since=yesterday")
    assert bad_time.status_code == 400 and "since" in bad_time.text

    # A station officer may sign the minor tamper alert right on the wall (htmx row swap).
    row = client.post(f"/alerts/{tamper.id}/actions/sign", headers={"HX-Request": "true"})
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr")
    assert "已签收" in row.text and 'class="sign"' not in row.text
    again = client.post(f"/alerts/{tamper.id}/actions/sign", headers={"HX-Request": "true"})
    assert again.status_code == 409 and 'role="alert"' in again.text


def test_workbench_lists_my_todos_with_countdowns_and_counts(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "grid")
    page = client.get("/workbench").text
    todo = page[page.index('id="todo-sign"') :]
    assert f'data-alert-id="{tamper.id}"' in todo and f'data-alert-id="{fire.id}"' not in page
    assert 'data-deadline="' in todo  # the countdown of the sign deadline
    assert 'id="count-new">2<' in page and 'id="count-open">2<' in page
    assert 'data-chart="week-chart-data"' in page
    counts = client.get("/workbench/_counts").text
    assert counts.startswith('<div id="counts"') and 'id="count-open">2<' in counts

    log_in(client, "command")
    todos = client.get("/api/v1/todos").json()
    assert [item["alert"]["id"] for item in todos] == [fire.id]
    assert todos[0]["action"] == "sign" and todos[0]["due_at"]


def test_kpis_show_the_false_alarm_rate_after_closing(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    before = client.get("/kpis").text
    assert 'id="kpi-false-alarms"' in before and 'data-rule="alarm"' not in before
    client.post(f"/alerts/{fire.id}/actions/close", data={"outcome": "false_alarm"})
    after = client.get("/kpis?days=7").text
    rule_row = re.search(r'<tr data-rule="alarm"><td>[^<]*</td><td>([\d.]+)%</td>', after)
    assert rule_row is not None and rule_row.group(1) == "100.0"
    assert re.search(r'<td data-tier="major">1</td>', after)
    station = client.get("/kpis?jurisdiction=J-STATION")
    assert station.status_code == 200
    report = client.get("/api/v1/kpis?jurisdiction=J-STATION").json()
    assert report["false_alarm_rate_by_rule"] == {"alarm": 1.0}


def test_devices_page_lists_communities_and_open_faults(client: TestClient) -> None:
    log_in(client, "station")
    page = client.get("/devices")
    assert page.status_code == 200
    assert 'data-community="C1"' in page.text and "Garden Estate" in page.text
    assert 'id="community-devices"' in page.text


@pytest.mark.parametrize(
    ("username", "expected"),
    [("command", 200), ("analyst", 200), ("grid", 200)],
)
def test_alert_json_api_reads_for_every_signed_in_role(
    client: TestClient, fire: AlertSummary, username: str, expected: int
) -> None:
    log_in(client, username)
    listing = client.get("/api/v1/alerts", params={"tier": "major"})
    assert listing.status_code == expected
    assert [item["id"] for item in listing.json()["items"]] == [fire.id]
    detail = client.get(f"/api/v1/alerts/{fire.id}").json()
    assert detail["evidence"]["explanation_zh"] and detail["actions"][0] == "sign"


def test_alert_json_api_acts_with_role_and_state_checks(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "grid")
    refused = client.post(f"/api/v1/alerts/{fire.id}/sign", json={})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "role"
    log_in(client, "command")
    signed = client.post(f"/api/v1/alerts/{fire.id}/sign", json={"note": "收到"})
    assert signed.status_code == 200 and signed.json()["state"] == "signed"
    conflict = client.post(f"/api/v1/alerts/{fire.id}/handle", json={"feedback": "x"})
    assert conflict.status_code == 409 and conflict.json()["error"]["field"] == "state"
    unknown_image = client.post(
        f"/api/v1/alerts/{fire.id}/dispatch", json={"attachments": ["img:" + "0" * 64 + ".jpg"]}
    )
    assert unknown_image.status_code == 400
    assert unknown_image.json()["error"]["field"] == "attachments"
    step = client.post(f"/api/v1/alerts/{fire.id}/steps/confirm", json={"skipped": False})
    assert step.status_code == 200
    assert step.json()["procedure"][0]["status"] == "ticked"
    foreign = client.get(f"/api/v1/alerts/{fire.id}/images/img:{'a' * 64}.jpg")
    assert foreign.status_code == 400 and foreign.json()["error"]["field"] == "ref"


def test_the_start_page_is_the_workbench_for_alert_users_and_the_status_for_others(
    client: TestClient, node: Node
) -> None:
    with node.db.session() as session:
        AccessService(session, password_hasher=FAST_HASHER).create_user(
            "admin", PASSWORD, role="admin", jurisdiction_id=None, now=node.clock.now()
        )
    log_in(client, "command")
    start = client.get("/?lang=en")
    assert start.status_code == 303 and start.headers["location"] == "/workbench?lang=en"
    # Signing in goes to "/", so an officer lands on the workbench.
    landed = client.get("/", follow_redirects=True)
    assert "民警工作台" in landed.text and str(landed.url).endswith("/workbench")
    log_in(client, "admin")
    status = client.get("/", follow_redirects=True)
    assert str(status.url).endswith("/status") and "接入统计" in status.text
    assert 'href="/status?lang=zh" class="active"' in status.text
    assert client.get("/workbench").status_code == 403  # why admins do not land there


def test_the_wall_opens_on_open_alerts_and_shows_closed_ones_on_request(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "station")
    assert client.post(f"/alerts/{tamper.id}/actions/close", data={"outcome": "false_alarm"})
    wall = client.get("/alerts").text
    assert f'data-alert-id="{fire.id}"' in wall and f'data-alert-id="{tamper.id}"' not in wall
    assert '<option value="1" selected>' in wall  # the filter says what is shown
    rows = client.get("/alerts/_rows").text  # the live reload keeps to open alerts too
    assert f'data-alert-id="{tamper.id}"' not in rows and "open=1" in rows
    everything = client.get("/alerts?open=all").text
    assert (
        f'data-alert-id="{tamper.id}"' in everything and f'data-alert-id="{fire.id}"' in everything
    )
    closed = client.get("/alerts?open=0").text
    assert f'data-alert-id="{tamper.id}"' in closed and f'data-alert-id="{fire.id}"' not in closed


def test_closing_offers_no_preselected_outcome(client: TestClient, fire: AlertSummary) -> None:
    log_in(client, "command")
    assert client.post(f"/alerts/{fire.id}/actions/sign").status_code == 303
    page = client.get(f"/alerts/{fire.id}").text
    select = page[page.index('<select id="outcome"') :].split("</select>", 1)[0]
    options = re.findall(r"<option [^>]*>", select)
    assert options[0] == '<option value="" selected disabled>'
    assert all("selected" not in option for option in options[1:])
    chosen_nothing = client.post(f"/alerts/{fire.id}/actions/close", data={"outcome": ""})
    assert chosen_nothing.status_code == 400 and "outcome" in chosen_nothing.text


def test_the_analysts_workbench_lists_no_alert_to_sign(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "analyst")  # reads every alert of the city, signs none
    page = client.get("/workbench").text
    assert 'data-alert-id="' not in page and TEXT["zh"]["todo_empty"] in page
    assert 'id="live-state"' in page  # follows the live feed, as it may


def test_an_alert_image_that_cannot_be_shown_is_a_page_in_chinese_for_a_browser(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    url = f"/api/v1/alerts/{fire.id}/images/missing.jpg"
    opened = client.get(url, headers={"Accept": "text/html,application/xhtml+xml"})
    assert opened.status_code == 400 and "此预警没有这张图片" in opened.text
    assert 'data-field="ref"' in opened.text and "<nav" in opened.text
    api = client.get(url)  # a program: the JSON envelope as before
    assert api.status_code == 400 and api.json()["error"]["field"] == "ref"
