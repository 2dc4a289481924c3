"""Reports generated on demand in the background (a job, its progress, then the file),
archived reports delivered by webhook (signed, retried, only to subscriptions naming
`report.archived`), and old archive files pruned by the setting."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.web.conftest import alarm_event, hold_still, log_in, submit, wait_for_alert
from zhian.access.scope import JurisdictionScope
from zhian.alerts.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, WebhookWorker, sign_body
from zhian.cli.main import app as cli
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.reports.settings import ScheduledReport
from zhian.web.report_schedule import prune_reports, run_due_reports
from zhian.web.report_views import situation_report

SECRET = "report-hook-secret-0123"


@pytest.fixture
def node_settings() -> dict[str, Any]:
    """Devices stay online across the days these tests skip: the counts are the alarms'.
    The node's own webhook worker waits: the test delivers, to its own receiver."""
    return {
        "rules": {"offline_seconds": 30 * 24 * 3600},
        "alerts": {"webhook_poll_seconds": 3600},
    }


@pytest.fixture
def alarms(node: Node, clock: ManualClock) -> None:
    """One fire yesterday; a smoke and a tamper alarm today."""
    submit(node, alarm_event("fire-y", clock.now(), kind="fire"))
    wait_for_alert(node, "alarm_fire")
    clock.advance(timedelta(days=1))
    submit(node, alarm_event("smoke-t", clock.now(), kind="smoke"))
    submit(node, alarm_event("tamper-t", clock.now(), kind="tamper", device_id="CAM1"))
    wait_for_alert(node, "alarm_tamper")
    # The store holds them too: figures read from it (the data reporting rate) lag intake
    # until the feeder has caught up, and a job and the API must read the same.
    assert node.feeder.wait_caught_up(timeout_seconds=30)


def finished(client: TestClient, job_id: int) -> dict[str, Any]:
    """Poll the job as the page does until it is done or failed (at most a minute)."""
    deadline = time.monotonic() + 60
    while True:
        status: dict[str, Any] = client.get(f"/api/v1/reports/jobs/{job_id}").json()
        assert 0 <= status["progress"] <= 100
        if status["state"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def rows_of(content: bytes) -> dict[str, tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row and row[0]}


def test_a_report_generated_in_the_background_from_the_page(
    client: TestClient, alarms: None
) -> None:
    log_in(client, "command")
    listing = client.get("/reports?lang=zh").text
    assert 'action="/reports/jobs?lang=zh"' in listing and 'name="format" value="xlsx"' in listing
    asked = client.post("/reports/jobs?lang=zh", data={"kind": "daily", "format": "xlsx"})
    assert asked.status_code == 303
    found = re.match(r"^/reports/jobs/(\d+)\?lang=zh$", asked.headers["location"])
    assert found
    job_id = int(found.group(1))
    page = client.get(asked.headers["location"]).text
    assert f'data-job-id="{job_id}"' in page and "<progress" in page
    status = finished(client, job_id)
    assert (status["state"], status["progress"]) == ("done", 100), status
    assert status["download_url"] == f"/reports/jobs/{job_id}/download"
    # Done: the fragment stops polling and offers the file.
    fragment = client.get(f"/reports/jobs/{job_id}/progress?lang=zh").text
    assert 'data-state="done"' in fragment and "hx-trigger" not in fragment
    assert 'id="report-job-download"' in fragment
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
    stats = client.get("/api/v1/stats?granularity=day").json()
    alerts = next(f for f in stats["figures"] if f["metric"] == "alerts" and not f["key"])
    assert rows_of(download.content)["预警数"][0] == alerts["value"] == 2


def test_the_api_starts_a_job_and_only_its_owner_reads_it(
    client: TestClient, node: Node, alarms: None
) -> None:
    # The rule engine records device online samples on its own timer; stopped so the job's
    # workbook and the API below read the same samples (a sample between them changed the
    # station's total: 52.6 against 13.2).
    hold_still(node)
    log_in(client, "command")
    answer = client.post("/api/v1/reports/jobs", json={"kind": "assessment", "format": "xlsx"})
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["state"] in ("queued", "running", "done")
    assert job["status_url"] == f"/api/v1/reports/jobs/{job['id']}"
    status = finished(client, job["id"])
    assert status["state"] == "done", status
    book = load_workbook(io.BytesIO(client.get(status["download_url"]).content))
    units = client.get("/api/v1/assessment").json()
    by_unit = {row[1]: row for row in book["考核"].iter_rows(min_row=3, values_only=True)}
    station = next(u for u in units if u["jurisdiction_id"] == "J-STATION")
    assert by_unit["North Station"][2] == station["total"]

    log_in(client, "station")  # another user: not their job
    assert client.get(f"/api/v1/reports/jobs/{job['id']}").status_code == 404
    assert client.get(f"/reports/jobs/{job['id']}/download").status_code == 404
    log_in(client, "grid")
    daily = {"kind": "daily", "format": "xlsx"}
    assert client.post("/api/v1/reports/jobs", json=daily).status_code == 403


def test_bad_requests_name_the_field_and_a_failure_is_kept_on_the_job(
    client: TestClient, node: Node
) -> None:
    log_in(client, "command")
    for body, field in (
        ({"kind": "yearly", "format": "xlsx"}, "kind"),
        ({"kind": "daily", "format": "xlsx", "day": "2026-02-30"}, "day"),
        ({"kind": "daily", "format": "xlsx", "jurisdiction": "J-NOWHERE"}, "jurisdiction"),
    ):
        refused = client.post("/api/v1/reports/jobs", json=body)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == field
    doc = client.post("/api/v1/reports/jobs", json={"kind": "daily", "format": "doc"})
    assert doc.status_code == 422
    page = client.post("/reports/jobs", data={"kind": "daily", "format": "doc"})
    assert page.status_code == 400
    log_in(client, "outsider")
    body = {"kind": "daily", "format": "xlsx", "jurisdiction": "J-STATION"}
    outside = client.post("/api/v1/reports/jobs", json=body)
    assert outside.status_code == 400 and outside.json()["error"]["field"] == "jurisdiction"

    node.settings.reports.font_path = node.settings.workspace / "no-such-font.ttf"
    job = client.post("/api/v1/reports/jobs", json={"kind": "daily", "format": "pdf"}).json()
    status = finished(client, job["id"])
    assert status["state"] == "failed" and "reports.font_path" in (status["error"] or "")
    assert status["download_url"] is None
    assert client.get(f"/reports/jobs/{job['id']}/download").status_code == 409


def test_progress_moves_forward_to_the_end(node: Node, clock: ManualClock) -> None:
    heard: list[float] = []
    with node.db.session() as session:
        everywhere = JurisdictionScope.unscoped()
        report = situation_report(node, session, everywhere, "weekly", None, None, lang="zh",
                                  now=clock.now(), progress=heard.append)  # fmt: skip
    assert report.sections and len(heard) >= 4
    assert heard == sorted(heard) and heard[-1] == 1.0 and heard[0] > 0


def test_archived_reports_go_by_webhook_signed_retried_and_old_files_are_pruned(
    client: TestClient,
    node: Node,
    clock: ManualClock,
    alarms: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace = str(node.settings.workspace)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    runner = CliRunner()
    for host, events in (
        ("reports.example", ["--events", "report.archived"]),
        ("alerts.example", ["--events", "alert.*"]),
        ("all.example", []),  # every message: but not report files
    ):
        added = runner.invoke(cli, ["webhooks", "add", f"http://{host}/hook", "--secret-env",
                                    "HOOK_SECRET", *events, "-w", workspace])  # fmt: skip
        assert added.exit_code == 0, added.output
    node.settings.reports.scheduled = [
        ScheduledReport(kind="daily", jurisdiction_id="J-STATION", formats=["xlsx"]),
        ScheduledReport(kind="assessment", jurisdiction_id="J-CITY", formats=["xlsx"]),
    ]
    clock.advance(timedelta(days=40))  # yesterday and last month are complete
    assert run_due_reports(node, clock.now()) == 2

    received: list[httpx.Request] = []
    failed_once: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["type"] != "report.archived":
            return httpx.Response(204)  # the alarms' own messages
        received.append(request)
        if not failed_once:  # the first report delivery meets a failing receiver
            failed_once.append(request.headers[DELIVERY_HEADER])
            return httpx.Response(500)
        return httpx.Response(204)

    worker = WebhookWorker(node.alert_loop._webhooks, node.clock, node.settings.alerts,
                           transport=httpx.MockTransport(receiver))  # fmt: skip
    try:
        worker.deliver_due(clock.now())
        assert len(received) == 2  # one failed, one delivered
        worker.deliver_due(clock.now())
        assert len(received) == 2  # the failed one is not due again yet (back-off)
        worker.deliver_due(clock.now() + timedelta(minutes=1))
    finally:
        worker.stop()
    assert len(received) == 3
    assert {r.url.host for r in received} == {"reports.example"}
    assert received[2].headers[DELIVERY_HEADER] == failed_once[0]  # the same delivery again
    assert received[0].content == received[2].content

    log_in(client, "command")
    listing = client.get("/reports?lang=zh").text
    assert len(re.findall(r'<tr data-archive-id="(\d+)">', listing)) == 2
    assert "考核评价报表" in listing
    kinds = set()
    for request in received:
        assert request.headers[SIGNATURE_HEADER] == sign_body(SECRET, request.content)
        message = json.loads(request.content)
        data = message["data"]
        content = base64.b64decode(data["content_base64"])
        assert hashlib.sha256(content).hexdigest() == data["sha256"]
        assert client.get(f"/reports/archive/{data['archive_id']}").content == content
        kinds.add(data["kind"])
    assert kinds == {"daily", "assessment"}

    # Pruning: nothing while keep_days is 0; then files of periods older than the setting.
    assert prune_reports(node, clock.now()) == (0, 0)
    node.settings.reports.archive_keep_days = 35
    assert prune_reports(node, clock.now()) == (1, 0)  # last month's, not yesterday's
    remaining = re.findall(r'<tr data-archive-id="(\d+)">', client.get("/reports").text)
    assert len(remaining) == 1


def test_report_jobs_are_pruned_after_their_hours(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "command")
    job = client.post("/api/v1/reports/jobs", json={"kind": "daily", "format": "xlsx"}).json()
    assert finished(client, job["id"])["state"] == "done"
    assert prune_reports(node, clock.now()) == (0, 0)
    assert prune_reports(node, clock.now() + timedelta(hours=25)) == (0, 1)
    assert client.get(f"/api/v1/reports/jobs/{job['id']}").status_code == 404
