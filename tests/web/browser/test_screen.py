"""The big screen (大屏) in a real browser at 1920×1080: dark, nothing scrolls, the map and
every panel drawn; a fire alarm updates the tiles and the map live, without a reload; a
lost connection shows "disconnected" and the screen reconnects on its own; figures left
stale say so, with their time in the configured zone. Screenshot: `artifacts/screen.png`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.web.browser.test_alert_loop import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    LiveServer,
    _fire_alarm,
    browser,
    live_server,
)
from tests.web.browser.test_map_archives import _sign_in
from zhian.access.scope import JurisdictionScope
from zhian.devices.models import Device
from zhian.node import Node
from zhian.registry.service import RegistryService

pytestmark = pytest.mark.slow
WALL = {"width": 1920, "height": 1080}
MINUTES = 36


def _crowds(node: Node) -> None:
    """The last half hour of the district's crowd zones, a reading a minute: the first zone
    filling fast (its forecast crosses the threshold), the others steady. The rule engine
    is paused while these minutes are replayed into it, then runs on."""
    with node.db.session() as session:
        zones = RegistryService(session).zones(scope=JurisdictionScope.unscoped())
        counters = {
            d.zone_id: d.id
            for d in session.query(Device).filter(Device.kind == "crowd_counter")
            if d.zone_id and d.id.endswith("-OCC")
        }
    plans = []
    for index, zone in enumerate(z for z in zones if z.id in counters):
        start, step = (0.5, 0.025) if index == 0 else (0.3 + 0.3 * index, 0.0)
        plans.append((zone, counters[zone.id], start, step))
    assert plans, "the district has counted crowd zones"
    engine = node.rule_engine
    engine.stop()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for minute in range(MINUTES, 0, -1):
        at = now - timedelta(minutes=minute) + timedelta(seconds=20)
        raw = [
            json.dumps({"type": "crowd", "id": f"screen-{zone.id}-{minute}", "device_id": device,
                        "time": at.isoformat(), "zone_id": zone.id,
                        "occupancy": round(zone.area_m2 * (start + step * (MINUTES - minute)))}
                       ).encode()
            for zone, device, start, step in plans
        ]  # fmt: skip
        result = node.intake.submit_raw(
            raw, source="native", sender_id=None, content_type="application/json"
        )
        assert result.accepted == len(raw), result.items
        engine.drain()
        engine.evaluate(at + timedelta(seconds=40))
    engine.start()


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
    _crowds(live_server.node)
    _sign_in(page, live_server.base_url, "/screen")
    expect(page.locator("#screen-map[data-ready='1']")).to_have_count(1)
    # Crowd density as heat over the zones, and the warned zone's forecast curve.
    expect(page.locator("#screen-map[data-heat-points]")).to_have_count(1)
    assert int(page.locator("#screen-map").get_attribute("data-heat-points") or 0) > 0
    heat = page.evaluate(
        "() => { const c = document.querySelector('canvas.leaflet-heatmap-layer');"
        " if (!c) return -1; const d = c.getContext('2d').getImageData(0, 0, c.width,"
        " c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++;"
        " return n; }"
    )
    assert heat > 0, "the heat layer drew nothing"
    expect(page.locator("#screen-crowd li[data-zone-id]").first).to_be_visible()
    expect(page.locator("#screen-crowd .crowd-curve canvas").first).to_be_visible()
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


def test_the_big_screen_says_when_its_figures_are_stale_in_the_configured_zone(
    live_server: LiveServer,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    """Offline for two minutes (the page's clock run forward): the header says the figures
    are stale and when they were last updated, in the configured zone (+08:00), not the
    zone of the browser's machine (New York here)."""
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport=WALL, locale="zh-CN", timezone_id="America/New_York")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.clock.install()
    before = datetime.now(UTC) + timedelta(hours=8)
    _sign_in(page, live_server.base_url, "/screen")
    expect(page.locator("#screen-live.on")).to_have_text("实时")
    updated = page.locator("#screen-updated")
    shown = updated.inner_text()
    after = datetime.now(UTC) + timedelta(hours=8)
    hour_minute = shown.rsplit(" ", 1)[1][:5]
    assert hour_minute in {f"{before:%H:%M}", f"{after:%H:%M}"}, shown

    context.set_offline(True)
    expect(page.locator("#screen-live")).to_have_text("连接中断")
    page.clock.fast_forward(120_000)
    # The staleness check runs every 5 s. An update may still land after the cut (a refresh
    # answered just before it, or a message on the stream the browser had open) and re-date
    # the figures, as it should: run the clock on until the check finds them old, and read
    # the class and the text in one step, so a later update cannot come between the two.
    stale_text = ""
    for _ in range(60):
        page.clock.fast_forward(5_000)
        state = page.evaluate(
            "() => { const e = document.getElementById('screen-updated');"
            " return [e.className, e.textContent]; }"
        )
        if "stale" in str(state[0]).split():
            stale_text = str(state[1])
            break
        page.wait_for_timeout(100)
    late = datetime.now(UTC) + timedelta(hours=8)
    assert stale_text.startswith("数据已过时 · 更新于 "), stale_text
    assert stale_text.rsplit(" ", 1)[1][:5] in {
        f"{moment:%H:%M}" for moment in (before, after, late)
    }, stale_text
    context.set_offline(False)
    expect(page.locator("#screen-live.on")).to_have_text("实时", timeout=20_000)
    assert errors == []
    context.close()
