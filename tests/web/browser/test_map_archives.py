"""The map and the archives in a real browser (headless Chromium against a real node).

Layers toggle; a fire alarm appears live on the map and pulses; a click opens it; the
drill-down goes one level down and back; the community, building, house and vehicle
archives link to each other and show residents and plates masked. Screenshots go to
`artifacts/` (map.png, map-drill.png, archive-house.png, archive-community.png).
"""

from __future__ import annotations

import pytest

from tests.web.browser.test_alert_loop import (  # noqa: F401 (fixtures)
    ARTIFACTS,
    DESKTOP,
    PASSWORD,
    LiveServer,
    _fire_alarm,
    browser,
    live_server,
)

pytestmark = pytest.mark.slow


def _sign_in(page: object, base: str, target: str) -> None:
    page.goto(f"{base}{target}")  # type: ignore[attr-defined]
    page.fill("#username", "command")  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


def test_map_layers_live_alert_and_drill_down(live_server: LiveServer, browser: object) -> None:  # noqa: F811
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.base_url
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, base, "/map")
    expect(page.locator("#map[data-ready='1']")).to_have_count(1)
    expect(page.locator("#live-state.on")).to_have_text("实时")
    names = page.locator("#map-layers input[data-layer]").evaluate_all(
        "boxes => boxes.map(box => box.dataset.layer)"
    )
    # Every layer this user may see: areas, buildings, devices, alerts, crowd, the case
    # analytics' hotspots and patrol points (#16) and patrol units on duty (#19).
    assert sorted(names) == sorted(
        ["areas", "buildings", "devices", "alerts", "zones", "hotspots", "patrols", "units"]
    )
    assert page.locator("#map").get_attribute("data-base") == "geometry"  # no tiles: own geometry

    # Devices draw as dots or clusters; unticking the layer removes them, ticking restores.
    devices = page.locator(".leaflet-marker-pane .map-dot, .leaflet-marker-pane .marker-cluster")
    expect(devices.first).to_be_visible()
    page.uncheck("input[data-layer=devices]")
    expect(devices).to_have_count(0)
    page.check("input[data-layer=devices]")
    expect(devices.first).to_be_visible()
    areas = page.locator("path[data-area]")
    expect(areas.first).to_be_attached()
    page.uncheck("input[data-layer=areas]")
    expect(areas).to_have_count(0)
    page.check("input[data-layer=areas]")
    expect(areas.first).to_be_attached()

    # A fire alarm arrives through the live feed: a pulsing marker and a row in the side list.
    _fire_alarm(live_server.node, live_server.smoke_sensor)
    marker = page.locator(".map-alert.pulse")
    expect(marker).to_have_count(1)
    row = page.locator("#map-list li[data-alert-id]").first
    expect(row).to_contain_text("火灾报警")
    alert_id = row.get_attribute("data-alert-id")
    page.screenshot(path=str(ARTIFACTS / "map.png"))

    # The drill-down: a click on an area filters the side list and offers to go down.
    trail_before = page.locator("#map-trail > *").count()
    first_area = areas.first
    area_id = first_area.get_attribute("data-area")
    # Its centre may lie under a device marker: dispatch the click on the outline itself.
    first_area.dispatch_event("click")
    expect(page.locator("#map-filter")).not_to_be_empty()
    drill = page.locator(".leaflet-popup button.map-drill")
    if drill.count():
        drill.click()
        expect(page.locator("#map-trail > *")).to_have_count(trail_before + 1)
        expect(page.locator("#map")).to_have_attribute("data-parent", area_id or "")
        page.screenshot(path=str(ARTIFACTS / "map-drill.png"))
        page.locator("#map-trail a").last.click()
        expect(page.locator("#map-trail > *")).to_have_count(trail_before)
    else:  # a community: its archive is offered instead
        expect(page.locator(".leaflet-popup a[href^='/archives/communities/']")).to_be_visible()

    # A click on the alert opens it.
    page.locator("#map-filter-clear").click()
    page.keyboard.press("Escape")  # no popup left open over the marker
    # The map may still be moving after the drill-down: click the marker element itself.
    page.locator(f".map-alert[data-alert-id='{alert_id}']").dispatch_event("click")
    expect(page.locator(".leaflet-popup [data-responders]")).to_contain_text("签收")
    page.screenshot(path=str(ARTIFACTS / "map-popup.png"))
    page.locator(".leaflet-popup a.map-open-alert").click()
    expect(page).to_have_url(f"{base}/alerts/{alert_id}?lang=zh")
    expect(page.locator("#why")).to_contain_text("火灾报警")
    assert not errors, errors
    context.close()


def test_archives_link_and_mask(live_server: LiveServer, browser: object) -> None:  # noqa: F811
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    base = live_server.base_url
    node = live_server.node
    with node.db.session() as session:
        from sqlalchemy import select

        from zhian.registry.models import Building, Community, House, Resident, Unit, Vehicle

        resident = session.scalars(
            select(Resident).join(Vehicle, Vehicle.owner_id == Resident.id).limit(1)
        ).one()
        house = session.get_one(House, resident.house_id)
        building = session.get_one(Building, session.get_one(Unit, house.unit_id).building_id)
        community = session.get_one(Community, building.community_id)
        vehicle = session.scalars(select(Vehicle).where(Vehicle.owner_id == resident.id)).first()
        assert vehicle is not None
        sealed_plate = vehicle.plate_enc
        house_id, community_id, vehicle_id = house.id, community.id, vehicle.id
        building_id, resident_id, sealed_name = building.id, resident.id, resident.name_enc
    sealer = node.governance.require_sealer()
    clear_name = (
        sealer.open("residents", "name_enc", resident_id, sealed_name) if sealed_name else None
    )
    assert sealed_plate is not None
    plate = sealer.open("vehicles", "plate_enc", vehicle_id, sealed_plate)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    _sign_in(page, base, f"/archives/communities/{community_id}")
    expect(page.locator("#arc-community")).to_be_visible()
    expect(page.locator("#arc-residents")).not_to_be_empty()
    expect(page.locator("#arc-devices tr[data-device]").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "archive-community.png"), full_page=True)
    # Community › building › house, by the links.
    page.locator(f"#arc-buildings a[href^='/archives/buildings/{building_id}']").click()
    expect(page.locator("#arc-building")).to_be_visible()
    page.locator(f"#arc-houses tr[data-house='{house_id}'] a").click()
    expect(page.locator("#arc-house")).to_be_visible()
    shown = page.locator(f"#arc-house-residents li[data-resident='{resident_id}']")
    expect(shown).to_contain_text("*")  # masked
    if clear_name:
        assert clear_name not in page.content()
    assert plate not in page.content()
    page.screenshot(path=str(ARTIFACTS / "archive-house.png"), full_page=True)
    # The vehicle: plate and owner masked; the owner links to the resident's page.
    page.locator("#arc-house-vehicles a").first.click()
    expect(page.locator("#arc-vehicle")).to_be_visible()
    expect(page.locator("#arc-plate")).to_contain_text("*")
    assert plate not in page.content()
    expect(page.locator("#arc-owner")).to_contain_text("*")
    page.locator("#arc-owner a").click()
    expect(page.locator("#res-place")).to_be_visible()
    # English on request.
    page.goto(f"{base}/archives/vehicles/{vehicle_id}?lang=en")
    expect(page.locator("h1")).to_contain_text("Vehicle archive")
    context.close()
