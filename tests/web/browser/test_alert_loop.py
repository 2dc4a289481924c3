"""The alert loop in a real browser: Debian's headless Chromium against a real node and server.

Log in, watch a fire alarm arrive live on the wall, sign it, hand it over (dispatch,
arrive, handle), close it as a false alarm and see the KPI change. Screenshots of the
workbench and of the alert detail, at desktop and phone width, go to `artifacts/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from argon2 import PasswordHasher

from tests.conftest import services_required
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.cli.demo import load_district
from zhian.config import load_settings
from zhian.node import Node
from zhian.sim import build_district
from zhian.web.app import create_app

CHROMIUM = os.environ.get("ZHIAN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

pytestmark = pytest.mark.slow


def _need(reason: str) -> None:
    """In CI a missing browser fails the run; on a workstation it skips."""
    if services_required():
        pytest.fail(f"the browser tests need {reason}")
    pytest.skip(reason)


@dataclass
class LiveServer:
    node: Node
    base_url: str
    smoke_sensor: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(tmp_path / "workspace", web={"secret_key": "s" * 40})
    district = build_district(seed=7, scale=0.05)
    # Master data first, then the running node: its rule engine reads the places at start.
    with Node.open(settings, feed=False) as loading:
        load_district(loading, district)
        top = next(r for r in district.tables["jurisdictions"] if r["level"] == "district")
        with loading.db.session() as session:
            AccessService(
                session, password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
            ).create_user(
                "command",
                PASSWORD,
                role="command_centre",
                jurisdiction_id=str(top["id"]),
                display_name="值班长 王敏",
                now=loading.clock.now(),
            )
    with Node.open(settings) as node:
        sensor = next(r for r in district.tables["devices"] if r["kind"] == "smoke_sensor")
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(node),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=2,
            )
        )
        thread = threading.Thread(target=server.run, name="zhian-test-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        try:
            yield LiveServer(node, f"http://127.0.0.1:{port}", str(sensor["id"]))
        finally:
            server.should_exit = True
            thread.join(timeout=15)


@pytest.fixture
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the playwright package (pip install playwright; no browser download)")
    if shutil.which(CHROMIUM) is None:
        _need(f"Chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _fire_alarm(node: Node, device_id: str) -> None:
    event = {
        "type": "alarm",
        "id": f"browser-fire-{time.time_ns()}",
        "device_id": device_id,
        "time": datetime.now(UTC).isoformat(),
        "kind": "fire",
        "level": 2,
        "detail": "3楼走廊",
    }
    result = node.intake.submit_raw(
        [json.dumps(event).encode()],
        source="native",
        sender_id=device_id,
        content_type="application/json",
    )
    assert result.accepted == 1, result.items


def _dispatch_elsewhere(node: Node, alert_id: int) -> None:
    with node.alerts() as alerts:
        user = next(
            u for u in AccessService(alerts.session).list_users() if u.username == "command"
        )
        alerts.dispatch(
            alert_id, scope=JurisdictionScope.unscoped(), user_id=user.id, note="另一工位派警"
        )


def _fits_the_width(page: object) -> bool:
    width: bool = page.evaluate(  # type: ignore[attr-defined]
        "document.documentElement.scrollWidth <= window.innerWidth + 1"
    )
    return width


def test_an_alarm_is_seen_live_signed_handled_closed_and_counted(
    live_server: LiveServer, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.base_url
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()

    # Sign in; the login form sends us on to the KPI page, which has no false alarms yet.
    page.goto(f"{base}/kpis")
    page.fill("#username", "command")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#kpi-false-alarms")).to_be_visible()
    expect(page.locator('#kpi-false-alarms tr[data-rule="alarm"]')).to_have_count(0)

    # The wall, connected to the live feed, with sound on (remembered by the browser).
    page.goto(f"{base}/alerts")
    expect(page.locator("#live-state.on")).to_have_text("实时")
    page.check("input[data-sound-toggle]")
    _fire_alarm(live_server.node, live_server.smoke_sensor)
    row = page.locator("#alert-rows tr[data-alert-id]").first
    expect(row).to_contain_text("火灾报警")  # arrived without a reload
    expect(page.locator("#toasts .toast")).to_contain_text("新预警")
    alert_id = row.get_attribute("data-alert-id")
    assert alert_id is not None

    # The workbench shows it as a to-do with a running countdown: desktop and phone.
    bench = context.new_page()
    bench.goto(f"{base}/workbench")
    todo = bench.locator(f'#todo-sign tr[data-alert-id="{alert_id}"]')
    expect(todo.locator(".countdown")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(bench.locator("#week-chart canvas")).to_have_count(1)
    bench.screenshot(path=str(ARTIFACTS / "workbench.png"), full_page=True)
    bench.set_viewport_size(PHONE)
    bench.wait_for_timeout(300)
    assert _fits_the_width(bench)
    bench.screenshot(path=str(ARTIFACTS / "workbench-phone.png"), full_page=True)
    bench.close()

    # One click signs it on the wall.
    row.locator("button.sign").click()
    expect(page.locator(f'#alert-rows tr[data-alert-id="{alert_id}"]')).to_contain_text("已签收")
    assert page.evaluate("localStorage.getItem('zhian.sound')") == "on"

    # Hand it over on the detail page: only the buttons of the current state are offered.
    page.goto(f"{base}/alerts/{alert_id}")
    expect(page.locator("#why")).to_contain_text("火灾报警")
    actions = page.locator("#actions button[data-action]")
    expect(actions).to_have_count(2)  # dispatch, close
    expect(page.locator("#assignee")).to_be_visible()  # the dispatch form's responder picker
    expect(page.locator("#live-state.on")).to_have_text("实时")
    # Dispatched from another desk: the open page follows the live feed, without a reload.
    _dispatch_elsewhere(live_server.node, int(alert_id))
    expect(page.locator("#alert-state")).to_contain_text("已派警")
    page.click("button[data-action=arrive]")
    expect(page.locator("#alert-state")).to_contain_text("已到场")
    page.locator('li[data-step="confirm"] button[value=tick]').click()
    expect(page.locator('li[data-step="confirm"]')).to_contain_text("已完成")
    page.fill("#feedback", "现场核实：厨房油烟触发，无火情")
    page.click("button[data-action=handle]")
    expect(page.locator("#alert-state")).to_contain_text("已处置")
    page.screenshot(path=str(ARTIFACTS / "alert-detail.png"), full_page=True)
    page.select_option("#outcome", "false_alarm")
    page.fill("#note-close", "误报，已告知物业")
    page.click("button[data-action=close]")
    expect(page.locator("#alert-state")).to_contain_text("误报")
    expect(actions).to_have_count(0)
    # What the officers typed is sealed at rest (#12) and shown whole on the page.
    expect(page.locator("#feedback-text")).to_have_text("现场核实：厨房油烟触发，无火情")
    expect(page.locator('#timeline li[data-action="close"]')).to_contain_text("误报，已告知物业")
    steps = page.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert [s for s in steps if s != "warned"][:7] == [
        "created",
        "sign",
        "dispatch",
        "arrive",
        "tick_step",
        "handle",
        "close",
    ]
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert _fits_the_width(page)
    page.screenshot(path=str(ARTIFACTS / "alert-detail-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)

    # The KPI moved: the alarm rule now has a false-alarm rate of 100 %.
    page.goto(f"{base}/kpis")
    expect(page.locator('#kpi-false-alarms tr[data-rule="alarm"]')).to_contain_text("100.0%")
    expect(page.locator('#kpi-tiers td[data-tier="major"]')).to_have_text("1")
    page.screenshot(path=str(ARTIFACTS / "kpis.png"), full_page=True)
    context.close()
