"""Search by face (以图搜图) in a real browser (headless Chromium against a real node): the
page refuses a search without a case reference (the refusal audited, nothing compared),
and with a case number and a reason finds the planted capture, most similar first.
Screenshots go to `artifacts/` (face-search-refused.png, face-search.png).
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import timedelta
from pathlib import Path

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

PROBE = [1.0] * 64 + [0.0] * 64
LIKE = [0.9] * 64 + [0.1] * 64


def _feature(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def _capture(node: Node, event_id: str = "face-browser-1", feature: str | None = None) -> str:
    """A face capture with a feature at one of the district's face cameras; its event id."""
    from sqlalchemy import select

    from zhian.devices.models import Device

    with node.db.session() as session:
        camera = session.scalars(
            select(Device).where(Device.kind == "face_camera").order_by(Device.id).limit(1)
        ).one()
        camera_id = camera.id
    event = {"type": "face", "id": event_id, "device_id": camera_id,
             "time": (node.clock.now() - timedelta(minutes=3)).isoformat(), "quality": 0.9,
             "feature": feature or _feature(LIKE)}  # fmt: skip
    result = node.intake.submit_raw([json.dumps(event).encode()], source="native",
                                    sender_id=None, content_type="application/json")  # fmt: skip
    assert result.accepted == 1, result.items
    assert node.feeder.wait_caught_up(timeout_seconds=20)
    return event_id


def _case(node: Node, case_number: str) -> None:
    """A case of the district (the command centre's jurisdiction): a face search needs one."""
    from zhian.access.scope import JurisdictionScope
    from zhian.access.service import AccessService
    from zhian.cases.schemas import CaseCreate
    from zhian.cases.service import CaseService

    with node.db.session() as session:
        command = next(u for u in AccessService(session).list_users() if u.username == "command")
        cases = CaseService(session, clock=node.clock, settings=node.settings.cases,
                            scope=JurisdictionScope.unscoped())  # fmt: skip
        case = CaseCreate(id=case_number, category="robbery", time_from=node.clock.now(),
                          latitude=30.27, longitude=120.15,
                          jurisdiction_id=command.jurisdiction_id)  # fmt: skip
        cases.create(case, user_id=None, source="test")


def _audited(node: Node, action: str) -> int:
    with node.db.session() as session:
        return len(node.governance.audit(session).search(action=action))


def test_a_face_search_is_refused_without_a_case_reference(
    live_server: LiveServer,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    event_id = _capture(live_server.node)
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.base_url}/face-search")
    page.fill("#username", "command")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#face-form")).to_be_visible()

    # No case number: refused, the field named, nothing compared, the refusal audited.
    page.fill("#face-feature", _feature(PROBE))
    page.fill("#face-reason", "robbery suspect")
    page.click("#face-go")
    expect(page.locator("#face-error")).to_have_attribute("data-field", "case_number")
    expect(page.locator("#face-results")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "face-search-refused.png"))
    assert _audited(live_server.node, "faces.search.refused") == 1
    assert _audited(live_server.node, "faces.search") == 0

    # A case number that names no case of the jurisdiction: refused the same way.
    page.fill("#face-case", "A2026-9999")
    page.click("#face-go")
    expect(page.locator("#face-error")).to_have_attribute("data-field", "case_number")
    expect(page.locator("#face-results")).to_have_count(0)
    assert _audited(live_server.node, "faces.search.refused") == 2

    # With a case of the jurisdiction and a reason: the capture, with its similarity, audited.
    _case(live_server.node, "A2026-0042")
    page.fill("#face-case", "A2026-0042")
    page.click("#face-go")
    row = page.locator(f"#face-results tr[data-event='{event_id}']")
    expect(row).to_have_count(1)
    assert float(row.get_attribute("data-similarity") or "0") > 0.9
    expect(page.locator("#face-error")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "face-search.png"))
    assert _audited(live_server.node, "faces.search") == 1
    assert not errors, errors
    context.close()


def test_a_face_search_by_photo_finds_the_person_and_refuses_a_photo_without_a_face(
    live_server: LiveServer,  # noqa: F811
    browser: object,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The astronaut's photo (scikit-image) uploaded on the Chinese page: refused without a
    case reference; with one, the six captures of her face, and no one else's, and the page
    says one face was found; a cat's photo is refused naming the photo, in Chinese."""
    from playwright.sync_api import Browser, expect

    from tests.search import photos
    from zhian.search.photo import MODEL_ID

    assert isinstance(browser, Browser)
    ARTIFACTS.mkdir(exist_ok=True)
    node = live_server.node
    node.settings.faces.capture_feature_model = MODEL_ID
    vectors = [(f"same-{name}", v) for name, v in photos.variant_features().items()]
    vectors += [(f"other-{i}", v) for i, v in enumerate(photos.other_people()[:5])]
    for event_id, vector in vectors:
        _capture(node, event_id, photos.feature(vector))
    face_photo, cat_photo = tmp_path / "face.jpg", tmp_path / "cat.png"
    face_photo.write_bytes(photos.jpeg(photos.astronaut()))
    cat_photo.write_bytes(photos.png(photos.no_face()))
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.base_url}/face-search")
    page.fill("#username", "command")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#face-form")).to_be_visible()

    page.set_input_files("#face-photo", str(face_photo))
    page.fill("#face-reason", "robbery suspect")
    page.click("#face-go")
    expect(page.locator("#face-error")).to_have_attribute("data-field", "case_number")
    assert _audited(node, "faces.search.refused") == 1

    _case(node, "A2026-0077")
    page.set_input_files("#face-photo", str(face_photo))
    page.fill("#face-case", "A2026-0077")
    page.click("#face-go")
    expect(page.locator("#face-photo-faces")).to_have_attribute("data-faces", "1")
    rows = page.locator("#face-results tr[data-event]")
    expect(rows).to_have_count(6)
    shown = {rows.nth(i).get_attribute("data-event") for i in range(6)}
    assert shown == {event_id for event_id, _ in vectors[:6]}
    page.screenshot(path=str(ARTIFACTS / "face-search-photo.png"))
    assert _audited(node, "faces.search") == 1

    page.set_input_files("#face-photo", str(cat_photo))
    page.click("#face-go")
    expect(page.locator("#face-error")).to_have_attribute("data-field", "photo")
    expect(page.locator("#face-error")).to_contain_text("照片中未找到人脸")
    page.screenshot(path=str(ARTIFACTS / "face-search-photo-no-face.png"))
    assert _audited(node, "faces.search.refused") == 2
    assert not errors, errors
    context.close()
