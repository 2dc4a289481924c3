"""A resident tip on a phone (390×844), in Debian's headless Chromium against a real server:
the resident reports smoke with their location and a photo, an officer triages it into an
alert, the alert is handled and closed, and the resident sees the outcome and rates it."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher
from PIL import Image

from tests.ingest.factories import load_master_data
from tests.web.browser.test_alert_loop import (
    ARTIFACTS,
    PHONE,
    LiveServer,
    _fits_the_width,
    _free_port,
    browser,  # noqa: F401 - the fixture
)
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.config import load_settings
from zhian.node import Node
from zhian.tips.repository import TipRepository
from zhian.web.app import create_app

PASSWORD = "correct horse battery"
# Garden Estate's Building 1 (tests/ingest/factories.py).
HERE = {"latitude": 30.2701, "longitude": 120.1501}

pytestmark = pytest.mark.slow


@pytest.fixture
def tip_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(tmp_path / "workspace", web={"secret_key": "s" * 40})
    with Node.open(settings) as node:
        load_master_data(node, now=node.clock.now())
        with node.db.session() as session:
            access = AccessService(
                session, password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
            )
            for username, role, name in (
                ("station", "station_officer", "民警 李强"),
                ("community", "community_officer", "社区民警 赵云"),
            ):
                access.create_user(
                    username,
                    PASSWORD,
                    role=role,
                    jurisdiction_id="J-STATION",
                    display_name=name,
                    now=node.clock.now(),
                )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(node), host="127.0.0.1", port=port, log_level="warning",
                timeout_graceful_shutdown=2,
            )
        )  # fmt: skip
        thread = threading.Thread(target=server.run, name="zhian-tip-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        try:
            yield LiveServer(node, f"http://127.0.0.1:{port}", "")
        finally:
            server.should_exit = True
            thread.join(timeout=15)


def _photo() -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    Image.new("RGB", (120, 90), (90, 90, 90)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _handle_and_close(node: Node, alert_id: int) -> None:
    with node.alerts() as alerts:
        everywhere = JurisdictionScope.unscoped()
        alerts.sign(alert_id, scope=everywhere, user_id=1)
        alerts.dispatch(alert_id, scope=everywhere, user_id=1)
        alerts.arrive(alert_id, scope=everywhere, user_id=1)
        alerts.handle(alert_id, scope=everywhere, user_id=1, feedback="电动车充电器过热，已断电")
        # The smoke procedure (as for a smoke alarm), then a major alert's command steps.
        for step in alerts.get_alert(alert_id, scope=everywhere).procedure:
            alerts.tick_step(
                alert_id, step.key, scope=everywhere, user_id=1, skipped=False, reason=""
            )
        alerts.close(alert_id, scope=everywhere, user_id=1, outcome="resolved")


def test_a_tip_from_the_phone_to_the_outcome(
    tip_server: LiveServer,
    browser: object,  # noqa: F811 - the fixture imported above
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    base = tip_server.base_url
    resident = browser.new_context(
        viewport=PHONE, locale="zh-CN", geolocation=HERE, permissions=["geolocation"]
    )
    resident.set_default_timeout(15_000)
    page = resident.new_page()

    # The form: a script in the text is refused with a clear error, and nothing is lost.
    page.goto(f"{base}/tip")
    assert _fits_the_width(page)
    page.select_option("#tip-category", "smoke")
    page.fill("#tip-description", "<script>alert(1)</script>")
    page.click("#tip-locate")
    expect(page.locator("#tip-latitude")).to_have_value("30.270100")
    page.click("#tip-submit")
    expect(page.locator("#tip-error")).to_contain_text("只接受纯文本")
    expect(page.locator("#tip-latitude")).to_have_value("30.270100")

    # Sent properly, with a photo: the follow-up code.
    page.fill("#tip-description", "3号楼楼道有烟味，像电线烧焦")
    page.set_input_files(
        "#tip-photos", files=[{"name": "smoke.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    page.click("#tip-submit")
    expect(page.locator("#tip-received")).to_be_visible()
    code = page.locator("#tip-code-value").inner_text().strip()
    assert len(code) == 10
    expect(page.locator("#tip-stage")).to_contain_text("已收到，待审核")
    assert _fits_the_width(page)
    page.screenshot(path=str(ARTIFACTS / "tip-received-phone.png"), full_page=True)

    # The officer triages it on a phone too: a major alert.
    officer = browser.new_context(viewport=PHONE, locale="zh-CN")
    officer.set_default_timeout(15_000)
    desk = officer.new_page()
    desk.goto(f"{base}/tips")
    desk.fill("#username", "station")
    desk.fill("#password", PASSWORD)
    desk.click("button[type=submit]")
    card = desk.locator("article[data-category=smoke]").first
    expect(card).to_contain_text("3号楼楼道有烟味")
    expect(card.locator(".tip-photos img")).to_have_count(1)
    assert _fits_the_width(desk)
    desk.screenshot(path=str(ARTIFACTS / "tip-triage-phone.png"), full_page=True)
    card.locator("select[name=tier]").select_option("major")
    card.locator(".tip-accept button").click()
    desk.wait_for_url("**/alerts/*")
    alert_id = int(desk.url.split("/alerts/")[1].split("?")[0])
    expect(desk.locator("#why")).to_contain_text("群众随手拍")
    # The alert names the category and place, not the resident's words: the officer taps
    # through to the tip's page (an audited read) to read them.
    expect(desk.locator("h1")).not_to_contain_text("电线烧焦")
    expect(desk.locator("#why")).not_to_contain_text("电线烧焦")
    desk.click("#tip-link")
    expect(desk.locator("#tip-description")).to_contain_text("3号楼楼道有烟味")
    assert _fits_the_width(desk)

    # The resident follows it with the code: being handled, then handled with the outcome.
    page.goto(f"{base}/tip")
    page.fill("#tip-code", code.lower())
    page.click("#tip-lookup button")
    expect(page.locator("#tip-stage")).to_contain_text("已受理，正在处置")
    _handle_and_close(tip_server.node, alert_id)
    page.reload()
    expect(page.locator("#tip-stage")).to_contain_text("已处置")
    expect(page.locator("#tip-outcome")).to_contain_text("已解决")
    page.locator("#tip-rate input[value='4']").check()
    page.click("#tip-rate-send")
    expect(page.locator("#tip-rated")).to_contain_text("感谢")
    expect(page.locator("#tip-rating")).to_contain_text("4")
    assert _fits_the_width(page)
    page.screenshot(path=str(ARTIFACTS / "tip-outcome-phone.png"), full_page=True)
    resident.close()
    officer.close()


def test_the_place_is_tapped_on_the_map_at_phone_size_and_the_location_still_works(
    tip_server: LiveServer,
    browser: object,  # noqa: F811 - the fixture imported above
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    base = tip_server.base_url
    resident = browser.new_context(
        viewport=PHONE, locale="zh-CN", geolocation=HERE, permissions=["geolocation"],
        has_touch=True, is_mobile=True,
    )  # fmt: skip
    resident.set_default_timeout(15_000)
    page = resident.new_page()
    page.goto(f"{base}/tip")
    holder = page.locator("#tip-map")
    expect(holder).to_be_visible()
    expect(page.locator("#tip-map .leaflet-tooltip").first).to_be_visible()  # a community
    box = holder.bounding_box()
    assert box is not None and box["width"] <= PHONE["width"] and box["height"] >= 200
    assert _fits_the_width(page)

    # The phone's location first, then a tap on the map moves the place to the tapped point
    # (the map opens centred on the node's communities).
    page.click("#tip-locate")
    expect(page.locator("#tip-latitude")).to_have_value("30.270100")
    centre = page.evaluate(
        "JSON.parse(document.getElementById('tip-map-config').textContent).centre"
    )
    page.evaluate("document.getElementById('tip-map').scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)  # the pan to the located point
    map_box = holder.bounding_box()
    assert map_box is not None
    # 100 px above the map's centre (the located point), clear of the marker and labels.
    page.touchscreen.tap(map_box["x"] + map_box["width"] / 2, map_box["y"] + 30)
    expect(page.locator("#tip-locate-state")).to_contain_text("已在地图上选定位置")
    tapped = (
        float(page.locator("#tip-latitude").input_value()),
        float(page.locator("#tip-longitude").input_value()),
    )
    # North of the located point (30.2701, 120.1501), on its meridian: the map had panned
    # to it; at zoom 16 a pixel is about 2.3 m, so the tap is some 230 m north.
    assert tapped[0] > HERE["latitude"] + 0.001 and abs(tapped[1] - HERE["longitude"]) < 0.0002
    assert page.locator("#tip-datum").input_value() == "wgs84"
    assert centre  # the map's start, from the node's communities
    page.screenshot(path=str(ARTIFACTS / "tip-map-phone.png"), full_page=True)

    page.select_option("#tip-category", "parking")
    page.fill("#tip-description", "消防通道有车辆长期占用")
    page.click("#tip-submit")
    expect(page.locator("#tip-received")).to_be_visible()
    code = page.locator("#tip-code-value").inner_text().strip()
    with tip_server.node.db.session() as session:
        tip = TipRepository(session).by_code(code)
        assert tip is not None
        assert abs(tip.latitude - tapped[0]) < 1e-6 and abs(tip.longitude - tapped[1]) < 1e-6
