"""The big screen's figures (/api/v1/screen) come from the metrics layer, keep to the
user's jurisdiction, and the page carries them for its first paint."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.rules.test_crowd import PASSWORD, _feed, crowd_node  # noqa: F401 (fixture)
from tests.web.conftest import log_in
from tests.web.session import sign_in
from zhian.alerts.schemas import AlertSummary
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.sim import TZ
from zhian.web.app import create_app


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


def test_warned_zones_carry_their_forecast_curve_and_the_threshold(
    crowd_node: Node,  # noqa: F811
    clock: ManualClock,
) -> None:
    # 0.6 persons/m², then rising 0.02 persons/m² a minute: the forecast warns before 1.5.
    _feed(crowd_node, clock, [720] * 10 + [720 + 24 * m for m in range(1, 26)])
    with TestClient(create_app(crowd_node), follow_redirects=False) as client:
        sign_in(client, "command", PASSWORD)
        snapshot = client.get("/api/v1/screen").json()
    [view] = [v for v in crowd_node.crowd.snapshot().zones if v.zone_id == "Z-PLAZA"]
    assert view.forecast is not None and (view.level >= 2 or view.forecast_warning)
    [zone] = snapshot["crowd"]
    assert zone["zone_id"] == "Z-PLAZA" and snapshot["crowd_threshold"] == 1.5
    curve = zone["curve"]
    horizon = len(view.forecast.path)
    measured = [d for d in curve["measured"] if d is not None]
    forecast = curve["forecast"][-horizon:]
    assert len(curve["labels"]) == len(measured) + horizon
    # The crowd rule's own figures, as densities over the zone's 1,200 m².
    assert measured[-1] == round(view.history[-1][1] / 1200, 3)
    assert forecast == [round(mean / 1200, 3) for mean, _sd in view.forecast.path]
    assert forecast[-1] > measured[-1]  # still rising
    # The forecast line starts at the last measured point; labels read local minutes.
    assert curve["forecast"][len(measured) - 1] == measured[-1]
    last = view.history[-1][0].astimezone(TZ)
    assert curve["labels"][len(measured) - 1] == last.strftime("%H:%M")
