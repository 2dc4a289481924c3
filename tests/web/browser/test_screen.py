"""The big screen (大屏) in a real browser at 1920×1080: dark, nothing scrolls, the map and
every panel drawn; a fire alarm updates the tiles and the map live, without a reload; a
lost connection shows "disconnected" and the screen reconnects on its own. Screenshot:
`artifacts/screen.png`."""

from __future__ import annotations

import pytest

from tests.web.browser.test_alert_loop import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    LiveServer,
    _fire_alarm,
    browser,
    live_server,
)
from tests.web.browser.test_map_archives import _sign_in

pytestmark = pytest.mark.slow
WALL = {"width": 1920, "height": 1080}


def test_the_big_screen_fits_updates_live_and_reconnects(
    live_server: LiveServer,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=WALL, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, live_server.base_url, "/screen")
    expect(page.locator("#screen-map[data-ready='1']")).to_have_count(1)
    expect(page.locator("#screen-live.on")).to_have_text("实时")

    fits = page.evaluate(
        "() => { const e = document.documentElement;"
        " return e.scrollHeight <= innerHeight && e.scrollWidth <= innerWidth; }"
    )
    assert fits, "the big screen scrolls at 1920×1080"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(11, 20, 36)"
    for panel in ("#screen-trend", "#screen-types", "#screen-devices", "#screen-crowd"):
        expect(page.locator(panel)).to_be_visible()
    assert page.locator(".tile").count() == 5

    alerts_tile = page.locator('.tile[data-metric="alerts"] .tile-value')
    before = int(alerts_tile.inner_text())
    dots = page.locator(".screen-alert").count()
    _fire_alarm(live_server.node, live_server.smoke_sensor)
    expect(alerts_tile).to_have_text(str(before + 1))
    expect(page.locator(".screen-alert")).to_have_count(dots + 1)
    expect(page.locator('#screen-types li[data-kind="alarm_fire"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "screen.png"))

    # The connection drops: the screen says so; it comes back on its own.
    context.set_offline(True)
    expect(page.locator("#screen-live")).to_have_text("连接中断")
    context.set_offline(False)
    expect(page.locator("#screen-live.on")).to_have_text("实时", timeout=20_000)
    assert errors == []
    context.close()
