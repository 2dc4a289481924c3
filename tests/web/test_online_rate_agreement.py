"""The devices page and the KPI page show one online rate for the same area and hour (the
metrics layer's definition), where they used to disagree (33–50 % against 100 %)."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from zhian.alerts.drafts import OnlineSample
from zhian.kit.clock import ManualClock
from zhian.node import Node

_TAG = re.compile(r"<[^>]+>")


def shown(html: str, element_id: str) -> str:
    """The text of the element with `element_id` (a figure: `<b>` or `<span>`)."""
    found = re.search(rf'id="{element_id}">(.*?)</(?:b|span)>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return _TAG.sub("", found.group(1)).strip()


def record(node: Node, clock: ManualClock) -> None:
    """A bad night (a third of the doors up 20 hours ago), then a better last hour: the last
    door sample of the hour (2 of 3) counts, not the earlier one in the same hour (3 of 3)."""
    now = clock.now()
    with node.alerts() as alerts:
        alerts.record_samples(
            [
                OnlineSample(now - timedelta(hours=20), "C1", "door", total=3, online=1),
                OnlineSample(now - timedelta(hours=20), "C1", "face_camera", total=1, online=0),
                OnlineSample(now - timedelta(minutes=30), "C1", "door", total=3, online=3),
                OnlineSample(now - timedelta(minutes=30), "C1", "face_camera", total=1, online=1),
                OnlineSample(now - timedelta(minutes=10), "C1", "door", total=3, online=2),
            ]
        )


def test_devices_and_kpi_pages_show_the_same_online_rate(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    record(node, clock)
    log_in(client, "station")
    devices = client.get("/devices").text
    kpis = client.get("/kpis").text
    # Last hour: door 2/3 (its last sample) + face camera 1/1 = 3/4.
    assert shown(devices, "devices-online-rate") == "75.0%"
    assert shown(kpis, "kpi-online") == "75.0%"
    row = re.search(r'data-community="C1">(.*?)</tr>', devices, re.S)
    assert row and "3 / 4" in row.group(1) and "75.0%" in row.group(1)
    # Over the 30 days: device-hours online ÷ device-hours = (1 + 3) / (4 + 4).
    assert shown(kpis, "kpi-online-period") == "50.0%"
    report = client.get("/api/v1/kpis").json()
    assert report["device_online_rate_pct"] == 50.0


def test_an_area_without_samples_shows_no_figure_on_either_page(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    record(node, clock)
    log_in(client, "outsider")  # the station beside: no community, no sample
    assert shown(client.get("/devices?lang=zh").text, "devices-online-rate") == "暂无数据"
    assert shown(client.get("/kpis?lang=zh").text, "kpi-online") == "暂无数据"
