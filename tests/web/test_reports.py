"""Reports (报表中心): the Excel and PDF files open, carry the metrics layer's figures and a
Chinese font; the PDF page renders to an image with ink on it; the print page; scope."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.web.conftest import alarm_event, hold_still, log_in, submit, wait_for_alert
from zhian.access.scope import JurisdictionScope
from zhian.cases.schemas import CaseCreate, CaseStatus, CaseUpdate
from zhian.cases.service import CaseService
from zhian.cases.settings import CaseSettings
from zhian.kit.clock import ManualClock
from zhian.metrics.catalogue import METRICS_BY_NAME
from zhian.node import Node
from zhian.reports.content import format_change, format_value
from zhian.reports.settings import DEFAULT_FONT, ScheduledReport
from zhian.web.report_schedule import run_due_reports

needs_font = pytest.mark.skipif(not DEFAULT_FONT.is_file(), reason="fonts-noto-cjk is missing")


@pytest.fixture
def node_settings() -> dict[str, Any]:
    """Devices stay online across the days these tests skip: the counts are the alarms'."""
    return {"rules": {"offline_seconds": 30 * 24 * 3600}}


@pytest.fixture
def alarms(node: Node, clock: ManualClock) -> None:
    """One fire yesterday; a smoke and a tamper alarm today."""
    submit(node, alarm_event("fire-y", clock.now(), kind="fire"))
    wait_for_alert(node, "alarm_fire")
    clock.advance(timedelta(days=1))
    submit(node, alarm_event("smoke-t", clock.now(), kind="smoke"))
    submit(node, alarm_event("tamper-t", clock.now(), kind="tamper", device_id="CAM1"))
    wait_for_alert(node, "alarm_tamper")


def stats(client: TestClient, granularity: str = "day") -> dict[str, float | None]:
    report = client.get(f"/api/v1/stats?granularity={granularity}").json()
    return {f"{f['metric']}/{f['key'] or ''}": f["value"] for f in report["figures"]}


def test_the_daily_report_in_excel_carries_the_figures_of_the_metrics_layer(
    client: TestClient, alarms: None
) -> None:
    log_in(client, "command")
    response = client.get("/reports/daily.xlsx?lang=zh")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["报表"]
    assert sheet["A1"].value == "值班日报"
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}
    expected = stats(client)
    assert rows["预警数"][0] == expected["alerts/"] == 2
    assert rows["预警数"][1] == 100.0  # 环比: 2 against 1
    major = expected["alerts_by_tier/major"]
    assert rows["预警数（按级别） · 重大"][0] == major
    notable = [row for row in book["重大预警"].iter_rows(min_row=2, values_only=True)]
    assert len(notable) == major


@needs_font
def test_the_weekly_report_pdf_embeds_a_chinese_font_and_renders(
    client: TestClient, alarms: None, tmp_path: Path
) -> None:
    log_in(client, "command")
    response = client.get("/reports/weekly.pdf?lang=zh")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    # pypdf keeps the NULs of the font's two-byte codes: drop them with the spaces.
    text = re.sub(r"[\s\x00]+", "", reader.pages[0].extract_text())
    assert "治安态势周报" in text
    expected = stats(client, "week")
    assert expected["alerts/"] == 3 and "预警数3" in text
    fonts = [
        font.get_object()
        for resources in [reader.pages[0]["/Resources"]]
        for font in resources["/Font"].values()
    ]
    assert any("/FontFile2" in str(f) or "/DescendantFonts" in f for f in fonts)
    # Render the page and look at it: ink in the title's place, white elsewhere.
    image = pypdfium2.PdfDocument(response.content)[0].render(scale=1).to_pil().convert("L")
    image.save(tmp_path / "weekly.png")  # kept by pytest, for a person to look at
    title = image.crop((40, 40, 260, 75))
    assert title.getextrema()[0] < 100, "no title drawn"
    margin = image.crop((0, 0, 35, image.height))  # 15 mm ≈ 42 px at 72 dpi
    assert margin.getextrema()[0] > 200, "ink in the left margin"
    right = image.crop((image.width - 35, 0, image.width, image.height))
    assert right.getextrema()[0] > 200, "a table runs into the right margin"


def test_the_print_page_and_bad_input(client: TestClient, alarms: None) -> None:
    log_in(client, "command")
    page = client.get("/reports/monthly/print?lang=zh").text
    assert '<h1 id="report-title">治安态势月报</h1>' in page
    assert re.search(r'data-metric="alerts" data-key=""><td>[^<]+</td><td class="n value">3<', page)
    bad = client.get("/reports/yearly.xlsx")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "kind"
    assert client.get("/reports/daily.pdf?day=2026-02-30").json()["error"]["field"] == "day"
    listing = client.get("/reports?lang=zh").text
    assert 'name="kind" value="daily"' in listing and 'href="/reports?lang=zh"' in listing
    assert 'href="/reports/assessment/print?' in listing


def test_reports_keep_to_the_users_jurisdiction(client: TestClient, alarms: None) -> None:
    log_in(client, "outsider")
    book = load_workbook(io.BytesIO(client.get("/reports/daily.xlsx").content))
    rows = {row[0]: row[1:] for row in book.active.iter_rows(values_only=True) if row and row[0]}
    assert rows["预警数"][0] == 0
    assert client.get("/reports/daily.pdf?jurisdiction=J-STATION").status_code == 400
    log_in(client, "grid")
    assert client.get("/reports/daily.xlsx").status_code == 403
    assert client.get("/reports").status_code == 403


def test_scheduled_reports_land_in_the_archive_once_and_in_scope(
    client: TestClient, node: Node, clock: ManualClock, alarms: None
) -> None:
    node.settings.reports.scheduled = [
        ScheduledReport(kind="daily", jurisdiction_id="J-STATION", formats=["xlsx"])
    ]
    clock.advance(timedelta(days=1))  # the day of the two alarms is now complete
    assert run_due_reports(node, clock.now()) == 1
    assert run_due_reports(node, clock.now()) == 0  # kept once
    log_in(client, "command")
    listing = client.get("/reports?lang=zh").text
    found = re.search(r'<tr data-archive-id="(\d+)">(.*?)</tr>', listing, re.S)
    assert found and "值班日报" in found.group(2)
    day = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert day in found.group(2)
    download = client.get(f"/reports/archive/{found.group(1)}")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.content))
    rows = {row[0]: row[1:] for row in book.active.iter_rows(values_only=True) if row and row[0]}
    expected = client.get(f"/api/v1/stats?jurisdiction=J-STATION&day={day}").json()
    alerts = next(f for f in expected["figures"] if f["metric"] == "alerts" and not f["key"])
    assert rows["预警数"][0] == alerts["value"] == 2
    log_in(client, "outsider")
    assert client.get(f"/reports/archive/{found.group(1)}").status_code == 404
    assert 'data-archive-id="' not in client.get("/reports").text


def test_the_situation_report_lists_the_cases_of_the_period_in_scope(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    """The weekly report's cases: the period's cases of the area, unsolved first, with no
    address; a case of the station beside or of the week before is not in it."""
    now = clock.now()
    with node.db.session() as session:
        cases = CaseService(
            session, clock=clock, settings=CaseSettings(), scope=JurisdictionScope.unscoped()
        )
        for case_id, jurisdiction, began in (
            ("CASE-SOLVED", "J-STATION", now - timedelta(hours=2)),
            ("CASE-OPEN", "J-STATION", now - timedelta(hours=3)),
            ("CASE-BESIDE", "J-OTHER", now - timedelta(hours=1)),
            ("CASE-OLD", "J-STATION", now - timedelta(days=8)),
        ):
            cases.create(
                CaseCreate(id=case_id, category="burglary", time_from=began, latitude=30.27,
                           longitude=120.15, jurisdiction_id=jurisdiction, address="幸福路1号"),
                user_id=1, source="test",
            )  # fmt: skip
        cases.update("CASE-SOLVED", CaseUpdate(status=CaseStatus.CLOSED, is_solved=True), user_id=1)
        session.commit()
    log_in(client, "station")
    book = load_workbook(io.BytesIO(client.get("/reports/weekly.xlsx?lang=zh").content))
    listed = list(book["本期案件"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in listed] == ["CASE-OPEN", "CASE-SOLVED"]
    assert listed[0][3:] == ("已受理", "否") and listed[1][3:] == ("已结案", "是")
    figures = {row[0]: row[1] for row in book["报表"].iter_rows(values_only=True) if row[0]}
    category = next(label for label in figures if str(label).startswith("案件数 · "))
    assert figures[category] == len(listed)
    assert not any("幸福路" in str(cell) for row in listed for cell in row)
    page = client.get("/reports/weekly/print?lang=en").text
    section = page.split('id="report-cases"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-case-id="([^"]+)"', section) == ["CASE-OPEN", "CASE-SOLVED"]
    assert "reported" in section and "solved" in section and "幸福路" not in section
    log_in(client, "outsider")
    book = load_workbook(io.BytesIO(client.get("/reports/weekly.xlsx").content))
    listed = list(book["本期案件"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in listed] == ["CASE-BESIDE"]


def figure_rows(sheet: Any) -> list[tuple[Any, ...]]:
    """The figure rows of a report sheet: those after a section's column heads."""
    rows, collecting = [], False
    for row in sheet.iter_rows(values_only=True):
        if row[:4] == ("指标", "数值", "环比(%)", "同比(%)"):
            collecting = True
        elif all(cell is None for cell in row):
            collecting = False
        elif collecting:
            rows.append(row[:4])
    return rows


@needs_font
@pytest.mark.parametrize(("kind", "granularity"), [("daily", "day"), ("weekly", "week")])
def test_every_figure_in_the_files_is_the_metrics_layers(
    client: TestClient, node: Node, alarms: None, kind: str, granularity: str
) -> None:
    """Each row of the Excel sheet and of the PDF, value, 环比 and 同比, is the figure
    /api/v1/stats gives for the same area and period (the print page names each row)."""
    hold_still(node)  # no online sample between the API and the files
    assert node.feeder.wait_caught_up(timeout_seconds=10)  # the store holds the alarms
    log_in(client, "station")
    api = client.get(f"/api/v1/stats?granularity={granularity}").json()
    expected = {(f["metric"], f["key"] or ""): f for f in api["figures"]}
    page = client.get(f"/reports/{kind}/print?lang=zh").text
    named = re.findall(r'<tr data-metric="([^"]+)" data-key="([^"]*)">', page)
    assert len(named) > 15
    book = load_workbook(io.BytesIO(client.get(f"/reports/{kind}.xlsx?lang=zh").content))
    rows = figure_rows(book["报表"])
    pdf = PdfReader(io.BytesIO(client.get(f"/reports/{kind}.pdf?lang=zh").content))
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in pdf.pages))
    for (label, value, previous, year), (metric, key) in zip(rows, named, strict=True):
        figure = expected[(metric, key)]
        wanted = (figure["value"], figure["change_previous_pct"], figure["change_year_pct"])
        assert (value, previous, year) == wanted, (metric, key)
        printed = (
            str(label)
            + format_value(figure["value"], METRICS_BY_NAME[metric].unit.value)
            + format_change(figure["change_previous_pct"])
            + format_change(figure["change_year_pct"])
        )
        assert re.sub(r"\s+", "", printed) in text, (metric, key, printed)
    assert any(value for _label, value, _p, _y in rows), "some figure is not zero"


def test_what_changed_leads_the_report(client: TestClient, node: Node, alarms: None) -> None:
    """The first section (主要变化) holds the figures that moved most against the previous
    period: |环比| of 10 % or more, largest first, at most five, each figure once."""
    hold_still(node)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "station")
    api = client.get("/api/v1/stats?granularity=day").json()
    change = {(f["metric"], f["key"] or ""): f["change_previous_pct"] for f in api["figures"]}
    page = client.get("/reports/daily/print?lang=zh").text
    sections = page.split("<section>")[1:]
    assert "<h2>主要变化</h2>" in sections[0]
    named = r'<tr data-metric="([^"]+)" data-key="([^"]*)">'
    shown = re.findall(named, sections[0])
    below = dict.fromkeys(found for s in sections[1:] for found in re.findall(named, s))
    moved = [f for f in below if change[f] is not None and abs(change[f]) >= 10]
    moved.sort(key=lambda f: -abs(change[f] or 0.0))
    assert shown == moved[:5] and ("alerts", "") in shown  # 2 alerts against 1: +100 %
    book = load_workbook(io.BytesIO(client.get("/reports/daily.xlsx?lang=en").content))
    labels = [row[0] for row in book.active.iter_rows(values_only=True)]
    assert labels.index("What changed") < labels.index("Alerts today")


def test_the_situation_reports_carry_trends_of_the_metrics_layer(
    client: TestClient, node: Node, alarms: None
) -> None:
    """The weekly report's trends: alerts, cases, handling, devices and passages over six
    weeks, each the figures /api/v1/stats/trend gives; the daily report has none."""
    hold_still(node)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    log_in(client, "station")
    book = load_workbook(io.BytesIO(client.get("/reports/weekly.xlsx?lang=zh").content))
    sheet = list(book["趋势"].iter_rows(values_only=True))
    periods, rows = sheet[0][1:], {row[0]: list(row[1:]) for row in sheet[1:]}
    assert len(periods) == 6 and rows["预警数"][-1] == 3
    page = client.get("/reports/weekly/print?lang=zh").text
    for metric, title in (("alerts", "预警数"), ("overdue_rate", "超时率"), ("passages", "通行量")):
        trend = client.get(f"/api/v1/stats/trend?metric={metric}&granularity=week&periods=6")
        points = trend.json()
        assert [p["period"] for p in points] == list(periods)
        assert [p["value"] for p in points] == rows[title], metric
        assert f'<tr data-trend="{metric}">' in page
    assert (
        "趋势"
        not in load_workbook(
            io.BytesIO(client.get("/reports/daily.xlsx?lang=zh").content)
        ).sheetnames
    )
