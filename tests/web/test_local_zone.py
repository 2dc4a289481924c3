"""Pages count their days in the configured zone (`pages.utc_offset_minutes`), not a fixed
+08:00: the workbench's week table and chart axis, the statistics and their trend axis, the
reports and the big screen's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from tests.web.conftest import FAST_HASHER, PASSWORD
from tests.web.session import sign_in
from zhian.access.service import AccessService
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app


@pytest.fixture
def utc_client(tmp_path: Path) -> Iterator[TestClient]:
    """A node showing UTC, at 18:00 UTC on 19 November: already the 20th in Beijing."""
    clock = ManualClock(datetime(2026, 11, 19, 18, 0, tzinfo=UTC))
    settings = load_settings(
        tmp_path / "ws", web={"secret_key": "k" * 40}, pages={"utc_offset_minutes": 0}
    )
    with Node.open(settings, clock) as node:
        load_master_data(node, now=clock.now())
        with node.db.session() as session:
            AccessService(session, password_hasher=FAST_HASHER).create_user(
                "command",
                PASSWORD,
                role="command_centre",
                jurisdiction_id="J-CITY",
                display_name="测试",
                now=clock.now(),
            )
        with TestClient(create_app(node), follow_redirects=False) as client:
            sign_in(client, "command", PASSWORD)
            yield client


def test_the_week_ends_on_the_local_day(utc_client: TestClient) -> None:
    page = utc_client.get("/workbench").text
    header = page.split('id="week-table"', 1)[1].split("</tr>", 1)[0]
    assert header.rstrip().endswith("<th>11-19</th>"), header
    assert '"11-20"' not in page.split('id="week-chart-data"', 1)[1].split("</script>", 1)[0]


def test_statistics_reports_and_the_screen_use_the_local_day(utc_client: TestClient) -> None:
    """18:00 UTC on the 19th, shown in UTC: the day is the 19th on the statistics API and
    its trend axis, in the daily report and on the big screen's clock (not Beijing's 20th)."""
    stats = utc_client.get("/api/v1/stats?granularity=day").json()
    assert stats["period"] == "2026-11-19" and stats["start"].startswith("2026-11-19T00:00")
    page = utc_client.get("/stats?granularity=day").text
    axis = page.split('id="stats-trend-data"', 1)[1].split("</script>", 1)[0]
    assert '"2026-11-19"]' in axis and '"2026-11-20"' not in axis
    report = utc_client.get("/reports/daily/print?lang=en").text
    assert "2026-11-19 00:00 – 2026-11-20 00:00" in report
    assert utc_client.get("/api/v1/screen").json()["generated_local"] == "18:00:00"
