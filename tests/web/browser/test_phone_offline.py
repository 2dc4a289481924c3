"""The officer's phone at 390×844 in headless Chromium: an alert handled through a network
outage — signed, dispatched, arrived (with the phone's position), handled with a photo and
closed while offline, the app reopened from its service worker — and every step sent
once when the connection returns."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from tests.web.browser.test_alert_loop import (
    ARTIFACTS,
    PHONE,
    LiveServer,
    _fits_the_width,
    browser,  # noqa: F401 - the fixture
)
from tests.web.browser.test_tips_phone import PASSWORD, tip_server  # noqa: F401 - the fixture
from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import AlertDraft

HERE = {"latitude": 30.2702, "longitude": 120.1502}

pytestmark = pytest.mark.slow


def _raise_alert(server: LiveServer) -> int:
    draft = AlertDraft(
        rule="alarm",
        kind="alarm_tamper",
        tier="general",
        subject="DOOR1:tamper",
        place_id="C1-B1",
        observed_at=datetime.now(UTC),
        explanation_zh="1号楼单元门被撬",
        explanation_en="Unit door forced at building 1",
        community_id="C1",
        device_id="DOOR1",
    )
    with server.node.alerts() as alerts:
        (alert_id,) = alerts.raise_drafts([draft])
    return alert_id


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 30, 160)).save(out, format="JPEG")
    return out.getvalue()


def test_an_alert_handled_offline_is_sent_once_when_back_online(
    tip_server: LiveServer,  # noqa: F811 - the fixture imported above
    browser: object,  # noqa: F811 - the fixture imported above
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    alert_id = _raise_alert(tip_server)
    base = tip_server.base_url
    context = browser.new_context(
        viewport=PHONE, locale="zh-CN", geolocation=HERE, permissions=["geolocation"]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/phone")
    page.fill("#username", "community")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/phone**")
    card = page.locator(f"#phone-alert-{alert_id}")
    expect(card).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the service worker, which keeps the page for offline use
    expect(card).to_be_visible()
    assert _fits_the_width(page)

    # The network goes: every step is queued on the phone, none reaches the server.
    context.set_offline(True)
    expect(page.locator("#phone-offline")).to_be_visible()
    for action in ("sign", "dispatch", "arrive"):
        card.locator(f"button[data-action={action}]").click()
    card.locator(".phone-feedback").fill("门锁被撬，已通知物业更换，现场无人员受伤")
    card.locator(".phone-photos").set_input_files(
        files=[{"name": "door.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    card.locator("button[data-action=handle]").click()
    card.locator(".phone-outcome").select_option("resolved")
    card.locator("button[data-action=close]").click()
    expect(page.locator("#phone-queue")).to_have_text("5")
    with tip_server.node.alerts() as alerts:
        assert alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped()).state == "new"

    # Reopened while still offline: the service worker answers, the queue is still there.
    page.reload()
    expect(page.locator("#phone-queue")).to_have_text("5")
    page.screenshot(path=str(ARTIFACTS / "phone-offline.png"), full_page=True)

    # The network returns: the queue is sent, in order, once.
    context.set_offline(False)
    expect(page.locator("#phone-queue")).to_have_text("0", timeout=30_000)
    with tip_server.node.alerts() as alerts:
        alert = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert alert.state == "closed" and alert.outcome == "resolved"
    assert len(alert.attachments) == 1
    steps = [step.action for step in alert.timeline]
    for action in ("sign", "dispatch", "arrive", "handle", "close"):
        assert steps.count(action) == 1, steps
    (arrival,) = [step for step in alert.timeline if step.action == "arrive"]
    assert arrival.data["location"] == HERE
    assert all(
        step.data.get("idempotency_key")
        for step in alert.timeline
        if step.action in ("sign", "dispatch", "arrive", "handle", "close")
    )
    page.screenshot(path=str(ARTIFACTS / "phone-synced.png"), full_page=True)
    context.close()
