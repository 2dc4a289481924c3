"""Search and passage records in a real browser (headless Chromium against a real node).

A plate typed with one character misread finds the vehicle (marked as a possible
misread), the exact plate opens its archive; the passage page refuses a plate search
without a case number, finds the plate's passages with one, and exports them to CSV.
Screenshots go to `artifacts/` (search.png, passages.png).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from tests.web.browser.test_alert_loop import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    DESKTOP,
    PASSWORD,
    LiveServer,
    browser,
    live_server,
)
from zhian.node import Node

pytestmark = pytest.mark.slow


def _vehicle_with_passages(node: Node) -> tuple[str, str]:
    """A registered vehicle (its id and clear plate) and three passages at a gate."""
    from sqlalchemy import select

    from zhian.devices.models import Device
    from zhian.registry.models import Vehicle

    with node.db.session() as session:
        vehicle = session.scalars(select(Vehicle).order_by(Vehicle.id).limit(1)).one()
        gate = session.scalars(
            select(Device).where(Device.kind == "vehicle_gate").order_by(Device.id).limit(1)
        ).one()
        vehicle_id, sealed, gate_id = vehicle.id, vehicle.plate_enc, gate.id
    assert sealed is not None
    plate = node.governance.require_sealer().open("vehicles", "plate_enc", vehicle_id, sealed)
    now = node.clock.now()
    events = [
        {
            "type": "vehicle",
            "id": f"search-browser-{n}",
            "device_id": gate_id,
            "time": (now - timedelta(minutes=10 * n + 1)).isoformat(),
            "plate": plate,
            "plate_color": "blue",
            "vehicle_class": "car",
            "direction": "in" if n % 2 else "out",
        }
        for n in range(3)
    ]
    result = node.intake.submit_raw(
        [json.dumps(e).encode() for e in events],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == 3, result.items
    assert node.feeder.wait_caught_up(timeout_seconds=20)
    return vehicle_id, plate


def _misread(plate: str) -> str:
    last = plate[-2]
    return plate[:-2] + ("8" if last != "8" else "3") + plate[-1]


def test_search_round_trip_and_passage_export(live_server: LiveServer, browser: object) -> None:  # noqa: F811
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.base_url
    vehicle_id, plate = _vehicle_with_passages(live_server.node)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base}/search")
    page.fill("#username", "command")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("nav a[href^='/search']")).to_have_count(1)

    # A misread plate: the vehicle, marked as a possible misread; the plate stays masked.
    page.fill("#search-q", _misread(plate))
    page.click("#search-go")
    hit = page.locator(f"li[data-hit='{vehicle_id}']")
    expect(hit).to_have_attribute("data-exact", "no")
    expect(hit).to_contain_text("疑似误识")
    page.screenshot(path=str(ARTIFACTS / "search.png"))
    assert plate not in page.locator("#search-results").inner_text()

    # The exact plate, then its archive.
    page.fill("#search-q", plate)
    page.click("#search-go")
    expect(page.locator(f"li[data-hit='{vehicle_id}']")).to_have_attribute("data-exact", "yes")
    page.locator(f"li[data-hit='{vehicle_id}'] a").click()
    expect(page.locator("#arc-vehicle")).to_have_attribute("data-vehicle", vehicle_id)

    # Passages by plate: refused without a case number, found with one, exported.
    page.goto(f"{base}/passages")
    page.fill("#pas-plate", plate)
    page.click("#pas-go")
    expect(page.locator("#pas-error")).to_have_attribute("data-field", "case_number")
    page.fill("#pas-case", "A2026-0042")
    page.fill("#pas-reason", "theft inquiry")
    page.click("#pas-go")
    rows = page.locator("#pas-results tr[data-event]")
    expect(rows).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "passages.png"))
    with page.expect_download() as download_info:
        page.click("#pas-export-csv")
    download = download_info.value
    path = download.path()
    assert path is not None
    text = path.read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "type" and len(table) == 4
    assert plate not in text
    assert not errors, errors
    context.close()
