"""The case library (案例库): write an entry with its lessons and links, find it by words,
tag, category and period, read it by role and jurisdiction; personal data and markup are
refused naming the field; every write is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from zhian.alerts.schemas import AlertSummary
from zhian.kit.clock import ManualClock
from zhian.node import Node


def entry_form(clock: ManualClock, **changes: Any) -> dict[str, str]:
    occurred = (clock.now() - timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M%z")
    form = {
        "title": "高层住宅楼道电动车起火的快速处置",
        "category": "fire",
        "summary": "烟感报警后五分钟内到场，疏散三层住户，未造成伤亡。",
        "what_happened": "凌晨楼道电动车充电起火，烟感报警，物业与网格员先到。",
        "what_worked": "物业保安先断电，网格员按楼层敲门疏散。",
        "lessons": "楼道禁止充电须常态巡查；夜间疏散需提前掌握独居老人住户。",
        "tags": "电动车 夜间, 疏散",
        "occurred_at": occurred,
        "alert_ids": "",
        "is_shared": "",
    }
    form.update({key: str(value) for key, value in changes.items()})
    return form


def audit_actions(node: Node, action: str) -> list[list[str]]:
    with node.db.session() as session:
        return [e.record_ids for e in node.governance.audit(session).search(action=action)]


def write(client: TestClient, form: dict[str, str]) -> Any:
    return client.post("/library", data=form)


def entry_id_of(response: Any) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[2].split("?")[0])


def test_an_officer_writes_an_entry_others_find_it_by_words_tag_category_and_period(
    client: TestClient, node: Node, clock: ManualClock, fire: AlertSummary
) -> None:
    log_in(client, "station")
    entry_id = entry_id_of(write(client, entry_form(clock, alert_ids=f"{fire.id}")))
    assert audit_actions(node, "case_study.create") == [[str(entry_id)]]

    page = client.get(f"/library/{entry_id}")
    assert page.status_code == 200
    assert "经验教训" in page.text  # Chinese by default
    assert "楼道禁止充电须常态巡查" in page.text
    assert f'href="/alerts/{fire.id}' in page.text
    assert "Lessons" in client.get(f"/library/{entry_id}?lang=en").text

    def found(query: str) -> list[str]:
        listing = client.get("/library?" + query)
        assert listing.status_code == 200, listing.text
        return [row for row in listing.text.split('data-entry-id="')[1:]]

    assert len(found("q=敲门")) == 1  # a word of "what worked"
    assert len(found("q=无此内容")) == 0
    assert len(found("tag=电动车")) == 1 and len(found("tag=疏散")) == 1
    assert len(found("tag=电动")) == 0  # a tag is matched whole
    assert len(found("category=fire")) == 1 and len(found("category=theft")) == 0
    day = (clock.now() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    assert len(found(f"from={day}")) == 1
    assert len(found(f"to={day}")) == 0
    assert client.get("/library?category=nonsense").status_code == 400

    # A grid worker of the station reads it; another station's officer neither lists nor
    # opens it; the grid worker may not write.
    log_in(client, "grid")
    assert client.get(f"/library/{entry_id}").status_code == 200
    assert write(client, entry_form(clock)).status_code == 403
    log_in(client, "outsider")
    assert client.get(f"/library/{entry_id}").status_code == 404
    assert 'data-entry-id="' not in client.get("/library").text
    client.cookies.clear()
    client.headers.pop("X-CSRF-Token", None)
    anonymous = client.get("/library")
    assert anonymous.status_code in (302, 303, 401)


def test_an_edit_is_kept_and_audited_and_a_foreign_link_is_refused(
    client: TestClient, node: Node, clock: ManualClock, fire: AlertSummary
) -> None:
    log_in(client, "station")
    entry_id = entry_id_of(write(client, entry_form(clock)))
    edit_page = client.get(f"/library/{entry_id}/edit")
    assert edit_page.status_code == 200 and "高层住宅楼道" in edit_page.text
    changed = client.post(
        f"/library/{entry_id}", data=entry_form(clock, title="电动车起火处置（修订）")
    )
    assert changed.status_code == 303, changed.text
    assert "电动车起火处置（修订）" in client.get(f"/library/{entry_id}").text
    assert audit_actions(node, "case_study.update") == [[str(entry_id)]]

    refused = client.post(f"/library/{entry_id}", data=entry_form(clock, alert_ids="999999"))
    assert refused.status_code == 400
    assert 'data-field="alert_ids"' in refused.text
    assert "（修订）" in client.get(f"/library/{entry_id}").text  # unchanged
    refused = client.post(f"/library/{entry_id}", data=entry_form(clock, incident_id="424242"))
    assert refused.status_code == 400 and 'data-field="incident_id"' in refused.text


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("lessons", "回访住户 13812345678 确认安全", "lessons"),
        ("summary", "户主身份证 110101199003071234 已核实", "summary"),
        ("what_happened", "车辆浙A12345违停堵塞消防通道", "what_happened"),
        ("title", "<script>alert(1)</script>", "title"),
        ("what_worked", "见 javascript:void(0)", "what_worked"),
        ("tags", "a<b", "tags"),
        ("category", "petitioners", "category"),
        ("summary", "", "summary"),
        ("occurred_at", "2099-01-01T00:00", "occurred_at"),
        ("occurred_at", "yesterday", "occurred_at"),
        ("alert_ids", "abc", "alert_ids"),
        ("jurisdiction_id", "J-OTHER", "jurisdiction_id"),
    ],
)
def test_personal_data_markup_and_bad_fields_are_refused_naming_the_field(
    client: TestClient, node: Node, clock: ManualClock, field: str, value: str, expected: str
) -> None:
    log_in(client, "station")
    refused = write(client, entry_form(clock, **{field: value}))
    assert refused.status_code in (400, 422), refused.text
    assert f'data-field="{expected}"' in refused.text
    assert audit_actions(node, "case_study.create") == []
    assert 'data-entry-id="' not in client.get("/library").text
