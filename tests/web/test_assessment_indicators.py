"""The assessment's registry-task and satisfaction indicators from real records: model
findings confirmed and the registration drafts they leave (done on time or late), and
residents' ratings of their tips; the statistics API and the assessment agree."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import hold_still, log_in
from tests.web.test_registry_loop import _confirm, _raise
from tests.web.test_tips import code_of, form_token, send_tip, tip_row
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.models import RegistrationDraft


def stats_value(client: TestClient, metric: str, day: str) -> object:
    report = client.get(f"/api/v1/stats?granularity=day&day={day}").json()
    return next(f["value"] for f in report["figures"] if f["metric"] == metric and not f["key"])


def station_score(client: TestClient, indicator: str, day: str) -> dict[str, object]:
    units = client.get(f"/api/v1/assessment?granularity=day&day={day}").json()
    station = next(u for u in units if u["jurisdiction_id"] == "J-STATION")
    return dict(next(s for s in station["scores"] if s["indicator"] == indicator))


def test_registry_tasks_done_on_time_count_findings_and_drafts(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    hold_still(node)
    log_in(client, "station")
    first = _raise(node, "model.unregistered_resident", "card:tok_a", "C1-B1-U1")
    second = _raise(node, "model.unregistered_resident", "card:tok_b", "C1-B1-U1")
    for alert_id in (first, second):
        _confirm(client, alert_id)  # signed and on site at once: every deadline met
    created = clock.now()
    with node.db.session() as session:
        drafts = sorted(d.id for d in session.query(RegistrationDraft).all())
    assert len(drafts) == 2
    # One draft dismissed after two days (on time); the other left open past its 7 days.
    clock.advance(timedelta(days=2))
    log_in(client, "station")  # a new sign-in: the session of two days ago has lapsed
    dismissed = client.post(f"/registration-drafts/{drafts[0]}/dismiss",
                            data={"reason": "核实为临时访客，不需登记"})  # fmt: skip
    assert dismissed.status_code == 303, dismissed.text
    clock.advance(timedelta(days=6))

    log_in(client, "command")
    raised_day = created.strftime("%Y-%m-%d")
    due_day = (created + timedelta(days=7)).strftime("%Y-%m-%d")
    quiet_day = (created + timedelta(days=3)).strftime("%Y-%m-%d")
    # The day of the findings: their four deadlines (sign, on site) met.
    assert stats_value(client, "registry_tasks_completed", raised_day) == 100.0
    # The day the drafts fell due: one done in time, one still open.
    assert stats_value(client, "registry_tasks_completed", due_day) == 50.0
    assert stats_value(client, "registry_tasks_completed", quiet_day) is None
    score = station_score(client, "registry_tasks", due_day)
    assert (score["value"], score["score"]) == (50.0, round(100 * 50 / 90, 1))
    assert station_score(client, "registry_tasks", quiet_day)["score"] is None


def test_resident_satisfaction_is_the_share_of_tips_rated_four_or_five(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    resident = TestClient(client.app, follow_redirects=False)
    codes = [
        code_of(send_tip(resident, category="parking", description="车停在消防通道")),
        code_of(send_tip(resident, category="noise", description="夜里施工噪音很大")),
        code_of(send_tip(resident, category="facility", description="楼下路灯坏了三天")),
    ]
    log_in(client, "station")
    for code in codes:
        tip_id = tip_row(node, code).id
        closed = client.post(f"/tips/{tip_id}/close", data={"reason": "已通知物业处理"})
        assert closed.status_code == 303, closed.text
    token = form_token(resident)
    for code, stars in zip(codes, ("5", "4", "2"), strict=True):
        rated = resident.post(f"/tip/{code}/rating", data={"rating": stars, "csrf_token": token})
        assert rated.status_code == 303, rated.text

    log_in(client, "command")
    today = clock.now().strftime("%Y-%m-%d")
    expected = round(100 * 2 / 3, 1)  # two of three satisfied
    assert stats_value(client, "resident_satisfaction", today) == expected
    score = station_score(client, "resident_satisfaction", today)
    assert (score["value"], score["score"]) == (expected, round(100 * expected / 90, 1))
    yesterday = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%d")
    assert stats_value(client, "resident_satisfaction", yesterday) is None
    # Another station's officer: none of these ratings.
    log_in(client, "outsider")
    units = client.get(f"/api/v1/assessment?granularity=day&day={today}").json()
    other = next(s for s in units[0]["scores"] if s["indicator"] == "resident_satisfaction")
    assert other["value"] is None
