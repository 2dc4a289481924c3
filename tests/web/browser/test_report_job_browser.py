"""A report asked for on the report centre in a real browser: the button starts a job, the
job page polls its progress (htmx) without a reload and offers the file, which downloads
and opens as the daily report."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.web.browser.test_alert_loop import (  # noqa: F401 (fixtures)
    LiveServer,
    browser,
    live_server,
)
from tests.web.browser.test_map_archives import _sign_in

pytestmark = pytest.mark.slow


def test_the_excel_button_starts_a_job_the_page_follows_it_to_the_download(
    live_server: LiveServer,  # noqa: F811
    browser: object,  # noqa: F811
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)  # fmt: skip
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(page, live_server.base_url, "/reports?lang=zh")
    page.locator('tr[data-kind="daily"] form.report-job-form').nth(0).locator("button").click()
    page.wait_for_url("**/reports/jobs/*")
    job = page.locator("#report-job")
    expect(job).to_have_attribute("data-state", "done")  # followed by polling, no reload
    expect(job).to_have_attribute("data-progress", "100")
    with page.expect_download() as waiting:
        page.click("#report-job-download")
    download = waiting.value
    assert download.suggested_filename.startswith("zhian-daily-")
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert book.active is not None and book.active["A1"].value == "值班日报"
    assert errors == []
    context.close()
