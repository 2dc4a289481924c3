"""Restricted places in a real browser: from a community's parameters page, add a rule at a
vehicle gate (a wrong hour is refused naming the field, what was typed kept), change its
hours and remove it; the Chinese pages show no untranslated English of the form."""

from __future__ import annotations

import pytest

from tests.web.browser.test_alert_loop import (  # noqa: F401 (fixtures)
    LiveServer,
    browser,
    live_server,
)
from tests.web.browser.test_map_archives import _sign_in
from zhian.sim import build_district
from zhian.web.restriction_views import RESTRICTION_TEXT

pytestmark = pytest.mark.slow


def test_a_restricted_place_is_added_changed_and_removed_on_the_page(
    live_server: LiveServer,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    district = build_district(seed=7, scale=0.05)  # the live server's district
    gate = next(
        str(d["id"])
        for d in district.tables["devices"]
        if d["kind"] == "vehicle_gate" and d["community_id"] == "C01"
    )
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, live_server.base_url, "/models/communities/C01?lang=zh")
    expect(page.locator("#restrictions-none")).to_be_visible()

    page.click("#restriction-add")
    page.wait_for_url("**/restrictions/new")
    english = [en for zh, en in RESTRICTION_TEXT.values() if zh != en and "{" not in en]
    body = page.inner_text("body")
    assert not [text for text in english if text in body], "untranslated English on the form"
    page.fill("#r-name", "护林通道")
    page.select_option("#r-device", gate)
    page.check('input[name="allowed_owners"][value="community"]')
    page.fill("#r-from", "25")
    page.fill("#r-until", "5")
    page.click("#restriction-form button[type=submit]")
    refused = page.locator('.error[data-field="allowed_from_hour"]')
    expect(refused).to_contain_text("许可开始时刻")
    expect(page.locator("#r-name")).to_have_value("护林通道")  # what was typed is kept

    page.fill("#r-from", "6")
    page.fill("#r-until", "20")
    page.click("#restriction-form button[type=submit]")
    page.wait_for_url("**/models/communities/C01?restriction_saved=*")
    row = page.locator('tr[data-restriction="C01-R1"]')
    expect(row).to_contain_text("护林通道")
    expect(row).to_contain_text("6:00–20:00")
    expect(page.locator("#restriction-saved")).to_be_visible()

    row.get_by_role("link", name="修改").click()
    page.wait_for_url("**/restrictions/C01-R1")
    expect(page.locator('input[name="allowed_owners"][value="community"]')).to_be_checked()
    page.fill("#r-until", "22")
    page.click("#restriction-form button[type=submit]")
    page.wait_for_url("**/models/communities/C01?restriction_saved=*")
    expect(page.locator('tr[data-restriction="C01-R1"]')).to_contain_text("6:00–22:00")

    page.locator('tr[data-restriction="C01-R1"]').get_by_role("button", name="删除").click()
    page.wait_for_url("**/models/communities/C01?restriction_removed=1*")
    expect(page.locator("#restriction-removed")).to_be_visible()
    expect(page.locator("#restrictions-none")).to_be_visible()
    assert errors == []
    context.close()
