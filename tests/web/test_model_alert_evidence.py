"""Alert evidence laid out for reading: the title names the community, figures by name (no
raw keys), codes by name, places by name, the registry candidates link to their residents,
the parameters that applied link to the page where they are changed, in both languages."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from zhian.alerts.drafts import AlertDraft
from zhian.config import ModelSettings
from zhian.models.base import parameter_figures
from zhian.models.unregistered import UnregisteredResidentModel
from zhian.node import Node
from zhian.rules.crowd import CROWD_KIND
from zhian.rules.crowd_data import CrowdDataService, FlowPointIn

MODEL = UnregisteredResidentModel


def unregistered_alert(
    node: Node,
    *,
    community_id: str = "C1",
    unit_id: str = "C1-B1-U1",
    unit_name: str = "Building 1Unit 1",
    candidates: tuple[str, str] = ("R-330102-000123", "R-330102-004567"),
) -> int:
    """The draft the unregistered-resident model writes with face candidates (its figures
    and the runner's parameters link), at a unit named as the model names it."""
    at = node.clock.now()
    figures: dict[str, float | int | str] = {
        **parameter_figures(ModelSettings(), MODEL.parameters + MODEL.face_parameters),
        "nights": 9,
        "nights_list": ",".join(f"{at - timedelta(days=d):%m-%d}" for d in range(9, 0, -1)),
        "face_captures": 3,
        "candidate_1": candidates[0],
        "candidate_1_similarity": 0.912345,
        "candidate_2": candidates[1],
        "candidate_2_similarity": 0.87,
        "parameters_url": f"/models/communities/{community_id}",
    }
    draft = AlertDraft(
        rule=MODEL.name,
        kind="unregistered_resident",
        tier="minor",
        subject="face:tok_stranger",
        place_id=unit_id,
        community_id=community_id,
        place_name=unit_name,
        observed_at=at,
        explanation_zh=f"近14天中9天夜间出现于{unit_name}，未登记，请办理居住登记",
        explanation_en=f"Present overnight at {unit_name} on 9 of the last 14 nights",
        figures=figures,
    )
    with node.alerts() as alerts:
        (alert_id,) = alerts.raise_drafts([draft])
    return alert_id


def _figures(page: str) -> dict[str, str]:
    """The evidence table: figure key → the row's HTML."""
    table = re.search(r'<table class="evidence-figures" id="figures">(.*?)</table>', page, re.S)
    assert table, "no evidence figures table"
    return dict(re.findall(r'<tr data-figure="([^"]+)">(.*?)</tr>', table.group(1), re.S))


def test_a_model_alert_names_its_community_and_links_candidates_and_parameters(
    client: TestClient, node: Node
) -> None:
    alert_id = unregistered_alert(node)
    log_in(client, "station")
    for lang, candidate, parameter, link_text in (
        ("zh", "候选居民1", "参数：", "调整本社区模型参数"),
        ("en", "Candidate resident 1", "Parameter: ", "parameters"),
    ):
        page = client.get(f"/alerts/{alert_id}?lang={lang}")
        assert page.status_code == 200, page.text
        heading = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
        assert heading and "Garden Estate" in heading.group(1)  # the community by name
        rows = _figures(page.text)
        assert set(rows) >= {"candidate_1", "candidate_2", "parameters_url", "nights_list"}
        for key, row in rows.items():
            header = re.search(r"<th>(.*?)</th>", row, re.S)
            assert header and key not in header.group(1), f"raw key {key} shown"
        assert candidate in rows["candidate_1"]
        assert 'href="/residents/R-330102-000123"' in rows["candidate_1"]
        assert 'href="/residents/R-330102-004567"' in rows["candidate_2"]
        assert "0.91" in rows["candidate_1_similarity"]
        assert "0.912345" not in rows["candidate_1_similarity"]  # rounded for reading
        assert all(parameter in rows[k] for k in rows if k.startswith("param."))
        # The link reads as words, not as the path it opens.
        link = re.search(r'<a href="(/models/communities/C1)">(.*?)</a>', rows["parameters_url"])
        assert link and link_text in link.group(2).lower() and "/" not in link.group(2)


def crowd_warning(
    node: Node, *, community_id: str = "C1", zone_id: str = "Z-PLAZA", zone_name: str = "Plaza"
) -> int:
    """A crowd warning with the figures the crowd rule writes: its level by key, the flow
    points to close and the zones to divert to by id."""
    with node.db.session() as session:
        CrowdDataService(session).put_flow_points(
            [
                FlowPointIn(id="FP-N", name="北门限流点", zone_id=zone_id, capacity_per_minute=60),
                FlowPointIn(id="FP-S", name="South gate", zone_id=zone_id, capacity_per_minute=40),
            ]
        )
    draft = AlertDraft(
        rule="crowd",
        kind=CROWD_KIND,
        tier="general",
        subject=zone_id,
        place_id=zone_id,
        community_id=community_id,
        place_name=zone_name,
        observed_at=node.clock.now(),
        explanation_zh="广场人员聚集",
        explanation_en="Crowding on the plaza",
        figures={
            "occupancy": 1500,
            "density": 1.25,
            "level": "warning",
            "threshold": 1.5,
            "forecast_minutes": 20,
            "crossing_probability": 0.81,
            "officers_needed": 6,
            "close_points": "FP-N,FP-S",
            "divert_to": zone_id,
            "levels": "0.5/1/1.25/1.5/2",
        },
    )
    with node.alerts() as alerts:
        (alert_id,) = alerts.raise_drafts([draft])
    return alert_id


def test_a_crowd_warning_names_its_level_points_and_zones(client: TestClient, node: Node) -> None:
    alert_id = crowd_warning(node)
    log_in(client, "command")
    for lang, level, joined in (
        ("zh", "警戒", "北门限流点、South gate"),
        ("en", "warning", "北门限流点, South gate"),
    ):
        rows = _figures(client.get(f"/alerts/{alert_id}?lang={lang}").text)
        for key, row in rows.items():
            header = re.search(r"<th>(.*?)</th>", row, re.S)
            assert header and key not in header.group(1), f"raw key {key} shown"
        assert f"<td>{level}</td>" in rows["level"]
        # Places are data: named as registered, never translated.
        assert f'<td><span translate="no">{joined}</span></td>' in rows["close_points"]
        assert '<td><span translate="no">Plaza</span></td>' in rows["divert_to"]
        assert "FP-N" not in rows["close_points"]
