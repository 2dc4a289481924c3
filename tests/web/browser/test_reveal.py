"""Masking and audited reveal in a real browser, on the demo's residents (issue #13).

The resident page shows the identity masked; the command centre reveals one field by
stating a case number and a reason, sees that field in the clear once (and no other), and
the reveal is in the audit log with its purpose; read again, the page is masked. At phone
width the form fits without a horizontal scrollbar.
"""

from __future__ import annotations

from tests.web.browser.test_alert_loop import (
    DESKTOP,
    PASSWORD,
    PHONE,
    LiveServer,
    _fits_the_width,
    browser,
    live_server,
)
from zhian.sim import build_district
from zhian.sim.identities import synthetic_identity

__all__ = ["browser", "live_server"]  # the fixtures, shared with the alert-loop test

CASE_NUMBER = "A2026-0113"


def _first_resident() -> tuple[str, dict[str, str]]:
    """The first resident of the district the live server loads, with its identity."""
    district = build_district(seed=7, scale=0.05)
    row = district.tables["residents"][0]
    return str(row["id"]), synthetic_identity(0, str(row["id"]), int(str(row["birth_year"])))


def test_a_resident_is_masked_and_one_field_revealed_with_a_purpose(
    live_server: LiveServer, browser: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    resident_id, identity = _first_resident()
    base = live_server.base_url
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{base}/residents/{resident_id}")
    page.fill("#username", "command")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    identity_card = page.locator("#res-identity")
    expect(identity_card).to_be_visible()
    for clear in identity.values():
        expect(page.locator("body")).not_to_contain_text(clear)
    id_row = identity_card.locator('tr[data-field="id_number"]')
    masked = identity["id_number"][:4] + "*" * 10 + identity["id_number"][-4:]
    expect(id_row.locator("td.masked")).to_have_text(masked)

    page.set_viewport_size(PHONE)
    assert _fits_the_width(page), "the resident page scrolls sideways at phone width"
    page.set_viewport_size(DESKTOP)

    id_row.locator('input[name="case_number"]').fill(CASE_NUMBER)
    id_row.locator('input[name="reason"]').fill("核查出入记录")
    id_row.locator('button[type="submit"]').click()
    expect(page.locator("#res-clear-value")).to_have_text(identity["id_number"])
    expect(page.locator("body")).not_to_contain_text(identity["phone"])  # only the field asked

    with live_server.node.db.session() as session:
        entries = live_server.node.governance.audit(session).search(
            action="resident.reveal", record_id=resident_id
        )
    assert [(e.case_number, e.details["field"]) for e in entries] == [(CASE_NUMBER, "id_number")]
    assert identity["id_number"] not in str(entries[0].details)

    page.goto(f"{base}/residents/{resident_id}")  # read again: masked again
    expect(page.locator("#res-identity")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(identity["id_number"])
    context.close()
