"""Patrol on the phone at 390×844 in headless Chromium: a check-in and a report with a
photo made through a network outage, queued on the phone, and each sent once when the
connection returns — the check-in kept at its point, the report an alert there."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.web.browser.test_alert_loop import (
    ARTIFACTS,
    PHONE,
    LiveServer,
    _fits_the_width,
    browser,  # noqa: F401 - the fixture
)
from tests.web.browser.test_phone_offline import HERE, _photo
from tests.web.browser.test_tips_phone import PASSWORD, tip_server  # noqa: F401 - the fixture
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.patrol.duty import UnitPosition, units_on_duty
from zhian.patrol.models import PatrolCheckin

pytestmark = pytest.mark.slow


def _checkins(server: LiveServer) -> int:
    with server.node.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(PatrolCheckin)) or 0)


def _patrol_alerts(server: LiveServer) -> list[int]:
    with server.node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(), page=1, per_page=50, scope=JurisdictionScope.unscoped()
        )
    return [alert.id for alert in page.items if alert.rule == "patrol"]


def _units(server: LiveServer) -> list[UnitPosition]:
    with server.node.db.session() as session:
        return units_on_duty(
            session, scope=JurisdictionScope.unscoped(), now=server.node.clock.now()
        )


def test_a_check_in_and_a_report_made_offline_are_sent_once(
    tip_server: LiveServer,  # noqa: F811 - the fixture imported above
    browser: object,  # noqa: F811 - the fixture imported above
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", geolocation=HERE, permissions=["geolocation"]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{tip_server.base_url}/phone")
    page.fill("#username", "community")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/phone**")
    patrol = page.locator("#phone-alert-patrol")
    expect(patrol).to_be_visible()
    assert _fits_the_width(page)

    context.set_offline(True)
    patrol.locator(".patrol-point").select_option("C1-B1")
    patrol.locator("button[data-patrol=checkin]").click()
    patrol.locator(".patrol-category").select_option("hazard")
    patrol.locator(".patrol-text").fill("3号楼消防通道堆放电动车")
    patrol.locator(".patrol-photos").set_input_files(
        files=[{"name": "lane.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    patrol.locator("button[data-patrol=report]").click()
    expect(page.locator("#phone-queue")).to_have_text("2")
    assert _checkins(tip_server) == 0 and _patrol_alerts(tip_server) == []
    page.screenshot(path=str(ARTIFACTS / "patrol-offline.png"), full_page=True)

    context.set_offline(False)
    expect(page.locator("#phone-queue")).to_have_text("0", timeout=30_000)
    assert _checkins(tip_server) == 1
    (alert_id,) = _patrol_alerts(tip_server)
    with tip_server.node.alerts() as alerts:
        alert = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert alert.kind == "patrol_hazard" and alert.place_id == "C1-B1"
    assert len(alert.evidence.images) == 1

    # On duty: the position reaches the dispatchers' map; off duty: it is gone.
    with page.expect_response("**/api/v1/patrol/duty") as on:
        page.locator("#patrol-duty").click()
    assert on.value.status == 204
    assert [(u.latitude, u.longitude) for u in _units(tip_server)] == [
        (HERE["latitude"], HERE["longitude"])
    ]
    with page.expect_response("**/api/v1/patrol/duty") as off:
        page.locator("#patrol-duty").click()
    assert off.value.status == 204 and _units(tip_server) == []
    context.close()
