"""Assessment (考核评价): scores from the metrics layer against configured targets, ranks,
drill-down to the figures, and audited edits of weights and targets by the command centre."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.web.conftest import hold_still, log_in
from zhian.alerts.schemas import AlertSummary
from zhian.audit.service import AuditService
from zhian.kit.clock import ManualClock
from zhian.node import Node


def score_of(units: list[dict[str, object]], unit: str) -> dict[str, object]:
    return next(u for u in units if u["jurisdiction_id"] == unit)


def test_units_are_scored_ranked_and_drilled_into(
    client: TestClient, node: Node, clock: ManualClock, fire: AlertSummary
) -> None:
    hold_still(node)  # no online sample between the API and the page below
    clock.advance(timedelta(minutes=10))
    log_in(client, "command")
    assert client.post(f"/alerts/{fire.id}/actions/sign", data={}).status_code in (200, 303)
    client.post(f"/alerts/{fire.id}/actions/close", data={"outcome": "false_alarm"})

    units = client.get("/api/v1/assessment?granularity=day").json()
    assert [u["jurisdiction_id"] for u in units] == ["J-STATION", "J-OTHER"]
    station = score_of(units, "J-STATION")
    scores = {s["indicator"]: s for s in station["scores"]}  # type: ignore[union-attr]
    # Signed after 10 minutes against a 5-minute target: half marks.
    assert (scores["sign_time"]["value"], scores["sign_time"]["score"]) == (10.0, 50.0)
    # Every closed alert a false alarm (100 %) against a 10 % target.
    assert (scores["false_alarm_rate"]["value"], scores["false_alarm_rate"]["score"]) == (
        100.0,
        10.0,
    )
    # The rule engine samples the devices on its own: whatever the rate, its score follows it.
    online = scores["online_rate"]
    if online["value"] is not None:
        full = online["value"] >= 98
        assert online["score"] == (100.0 if full else round(100 * online["value"] / 98, 1))
    weights = {
        "sign_time": 25,
        "on_time_handling": 30,
        "online_rate": 25,
        "false_alarm_rate": 20,
        "data_reporting": 10,
        "registry_tasks": 10,
        "resident_satisfaction": 10,
    }
    had = [(weights[n], s["score"]) for n, s in scores.items() if s["score"] is not None]
    expected = round(sum(w * v for w, v in had) / sum(w for w, _ in had), 1)
    assert station["total"] == expected and station["rank"] == 1
    other = score_of(units, "J-OTHER")
    assert other["total"] is None and other["rank"] is None  # nothing to score

    page = client.get("/assessment?granularity=day&lang=zh").text
    row = re.search(r'<tr data-unit="J-STATION">(.*?)</tr>', page, re.S)
    assert row and f"<b>{expected:.1f}</b>" in row.group(1)
    link = re.search(r'data-indicator="sign_time"><a href="([^"]+)"', row.group(1))
    assert link and "metric=median_sign_minutes" in unescape(link.group(1))
    drilled = client.get(unescape(link.group(1)))
    assert drilled.status_code == 200 and 'data-metric="median_sign_minutes"' in drilled.text


def test_editing_an_indicator_is_audited_and_changes_the_score(
    client: TestClient, node: Node
) -> None:
    log_in(client, "station")  # may see, may not edit
    assert client.get("/assessment").status_code == 200
    assert 'name="weight"' not in client.get("/assessment").text
    refused = client.post("/assessment/indicators/sign_time", data={"weight": "1", "target": "1"})
    assert refused.status_code == 403

    log_in(client, "command")
    bad = client.post("/assessment/indicators/sign_time", data={"weight": "x", "target": "3"})
    assert bad.status_code == 400 and 'data-field="weight"' in bad.text
    bad = client.post("/assessment/indicators/sign_time", data={"weight": "500", "target": "3"})
    assert bad.status_code == 400
    missing = client.post("/assessment/indicators/nonsense", data={"weight": "1", "target": "1"})
    assert missing.status_code == 404
    done = client.post("/assessment/indicators/sign_time", data={"weight": "40", "target": "3"})
    assert done.status_code == 303
    page = client.get("/assessment?lang=zh").text
    row = re.search(r'<tr data-indicator="sign_time">(.*?)</tr>', page, re.S)
    assert row and 'value="40.0"' in row.group(1) and "已修改" in row.group(1)
    with node.db.session() as session:
        entries = AuditService(session, clock=node.clock).search(
            record_type="assessment_indicator", record_id="sign_time"
        )
    assert [(e.action, dict(e.details)) for e in entries] == [
        ("assessment.indicator_update", {"weight": [25.0, 40.0], "target": [5.0, 3.0]})
    ]


def test_scores_keep_to_the_users_jurisdiction(client: TestClient) -> None:
    log_in(client, "outsider")
    units = client.get("/api/v1/assessment").json()
    assert [u["jurisdiction_id"] for u in units] == ["J-OTHER"]
    assert client.get("/api/v1/assessment?jurisdiction=J-STATION").status_code == 400
    log_in(client, "grid")
    assert client.get("/assessment").status_code == 403


def test_the_assessment_report_carries_the_scores_in_excel_and_pdf(
    client: TestClient, node: Node, clock: ManualClock, fire: AlertSummary
) -> None:
    # The rule engine records device online samples on its own timer; stopped here so the
    # API and the report read the same samples (a sample between them changed the total).
    hold_still(node)
    clock.advance(timedelta(minutes=10))
    log_in(client, "command")
    client.post(f"/alerts/{fire.id}/actions/sign", data={})
    units = client.get("/api/v1/assessment").json()  # the month, as the report
    response = client.get("/reports/assessment.xlsx?lang=zh")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["考核"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "考核评价报表"
    assert rows[1][:3] == ("排名", "单位", "总分") and "签收用时（分钟）" in str(rows[1][3])
    station = score_of(units, "J-STATION")
    by_unit = {row[1]: row for row in rows[2:]}
    assert by_unit["North Station"][0] == station["rank"] == 1
    assert by_unit["North Station"][2] == station["total"]
    assert by_unit["North Station"][3] == station["scores"][0]["score"] == 50.0  # type: ignore[index]
    pdf = client.get("/reports/assessment.pdf?lang=zh")
    assert pdf.status_code == 200
    text = re.sub(r"[\s\x00]+", "", PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text())
    assert "考核评价报表" in text and "NorthStation" in text


def test_the_assessment_report_as_a_print_page(
    client: TestClient, node: Node, clock: ManualClock, fire: AlertSummary
) -> None:
    hold_still(node)  # the API and the page read the same online samples
    clock.advance(timedelta(minutes=10))
    log_in(client, "command")
    client.post(f"/alerts/{fire.id}/actions/sign", data={})
    units = client.get("/api/v1/assessment").json()  # the month, as the report
    page = client.get("/reports/assessment/print?lang=zh")
    assert page.status_code == 200
    assert '<h1 id="report-title">考核评价报表</h1>' in page.text
    row = re.search(r'<tr data-unit="J-STATION">(.*?)</tr>', page.text, re.S)
    assert row, "the station's row"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    station = score_of(units, "J-STATION")
    assert cells[0] == str(station["rank"]) and cells[1] == "North Station"
    assert cells[2] == f"{station['total']:.1f}"
    assert cells[3] == "50.0"  # sign time: 10 minutes against 5
    assert "签收用时（分钟）" in page.text and "<nav" not in page.text
    log_in(client, "outsider")
    refused = client.get("/reports/assessment/print?jurisdiction=J-STATION")
    assert refused.status_code == 400
