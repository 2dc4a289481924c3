"""The big screen's figures (/api/v1/screen) come from the metrics layer, keep to the
user's jurisdiction, and the page carries them for its first paint."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from zhian.alerts.schemas import AlertSummary


def test_the_screen_shows_todays_figures_of_the_metrics_layer(
    client: TestClient, fire: AlertSummary, tamper: AlertSummary
) -> None:
    log_in(client, "command")
    snapshot = client.get("/api/v1/screen").json()
    stats = client.get("/api/v1/stats?granularity=day").json()
    tiles = {tile["metric"]: tile for tile in snapshot["tiles"]}
    alerts = next(f for f in stats["figures"] if f["metric"] == "alerts" and f["key"] is None)
    assert tiles["alerts"]["value"] == alerts["value"] == 2
    assert {t["kind"] for t in snapshot["top_types"]} == {"alarm_fire", "alarm_tamper"}
    assert snapshot["trend"]["values"][-1] == 2 and len(snapshot["trend"]["values"]) == 14
    assert snapshot["devices"]["total"] == 4

    page = client.get("/screen?lang=zh")
    assert page.status_code == 200
    embedded = re.search(r'id="screen-snapshot">(.*?)</script>', page.text, re.S)
    assert embedded and json.loads(embedded.group(1))["tiles"][0]["value"] == 2
    assert "<nav" not in page.text  # a wall display: no menu


def test_the_screen_keeps_to_the_jurisdiction_and_the_roles(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "outsider")
    snapshot = client.get("/api/v1/screen").json()
    assert snapshot["tiles"][0]["value"] == 0 and snapshot["top_types"] == []
    log_in(client, "grid")
    assert client.get("/screen").status_code == 403
    assert client.get("/api/v1/screen").status_code == 403
