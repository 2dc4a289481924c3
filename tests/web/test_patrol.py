"""Patrol from the phone: a check-in at a patrol point (a building) near it, a report
that enters as an alert with cleaned photos, each resent safely with its idempotency key,
scoped to the user's jurisdiction, audited, and bad input refused by field."""

from __future__ import annotations

import io
from datetime import timedelta

from fastapi.testclient import TestClient
from PIL import Image

from tests.web.conftest import log_in
from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter
from zhian.kit.clock import ManualClock
from zhian.node import Node

POINT = "C1-B1"  # at 30.27, 120.15 in the test registry
NEAR = {"latitude": 30.2705, "longitude": 120.15}  # about 55 m north


def check_in(client: TestClient, key: str = "ck-000001", **body: object):  # type: ignore[no-untyped-def]
    payload = {"point_id": POINT, **NEAR, **body}
    return client.post("/api/v1/patrol/checkins", json=payload, headers={"Idempotency-Key": key})


def report(client: TestClient, key: str = "rp-000001", **body: object):  # type: ignore[no-untyped-def]
    payload = {"point_id": POINT, "category": "hazard", "text": "消防通道被杂物堵塞", **body}
    return client.post("/api/v1/patrol/reports", json=payload, headers={"Idempotency-Key": key})


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def audit_actions(node: Node) -> list[str]:
    with node.db.session() as session:
        entries = node.governance.audit(session).search(limit=1000)
    return [entry.action for entry in entries]


def patrol_alert_ids(node: Node) -> list[int]:
    with node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(), page=1, per_page=50, scope=JurisdictionScope.unscoped()
        )
    return [alert.id for alert in page.items if alert.rule == "patrol"]


def test_a_check_in_near_the_point_is_kept_once_and_audited(client: TestClient, node: Node) -> None:
    log_in(client, "grid")
    first = check_in(client)
    assert first.status_code == 201, first.text
    assert first.json()["point_id"] == POINT and first.json()["distance_m"] < 100
    again = check_in(client)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["checkin_id"] == first.json()["checkin_id"]
    assert check_in(client, key="ck-000002").json()["checkin_id"] != first.json()["checkin_id"]
    assert audit_actions(node).count("patrol.checkin") == 2


def test_a_check_in_far_from_the_point_or_outside_the_jurisdiction_is_refused(
    client: TestClient,
) -> None:
    log_in(client, "grid")
    far = check_in(client, latitude=30.28)  # about 1.1 km away
    assert far.status_code == 400 and far.json()["error"]["field"] == "latitude"
    unknown = check_in(client, point_id="NOWHERE")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "point_id"
    assert check_in(client, latitude=91).status_code in (400, 422)
    assert client.post("/api/v1/patrol/checkins", json={"point_id": POINT, **NEAR}).status_code in (
        400,
        422,
    )  # no idempotency key
    log_in(client, "outsider")
    assert check_in(client).status_code == 404
    log_in(client, "analyst")
    assert check_in(client).status_code == 403


def test_a_report_enters_as_an_alert_with_cleaned_photos_once(
    client: TestClient, node: Node
) -> None:
    log_in(client, "grid")
    original = jpeg_with_exif()
    upload = client.post(
        "/api/v1/patrol/photos", content=original, headers={"Content-Type": "image/jpeg"}
    )
    assert upload.status_code == 200, upload.text
    ref = upload.json()["ref"]
    stored = node.images.read(ref)
    assert b"PhoneMaker" in original and b"PhoneMaker" not in stored
    made = report(client, photos=[ref], **NEAR)
    assert made.status_code == 201, made.text
    alert_id = made.json()["alert_id"]
    again = report(client, photos=[ref], **NEAR)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"

    detail = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["rule"] == "patrol" and detail["kind"] == "patrol_hazard"
    assert detail["tier"] == "minor" and "消防通道" in detail["title_zh"]
    assert detail["place_id"] == POINT and detail["evidence"]["images"] == [ref]
    assert patrol_alert_ids(node) == [alert_id]
    assert audit_actions(node).count("patrol.report") == 1


def test_bad_reports_are_refused_by_field(client: TestClient) -> None:
    log_in(client, "grid")
    script = report(client, text="<script>alert(1)</script>")
    assert script.status_code == 400 and script.json()["error"]["field"] == "text"
    assert report(client, category="spying").json()["error"]["field"] == "category"
    assert report(client, text="  ").json()["error"]["field"] == "text"
    fake = report(client, photos=["img:" + "0" * 64 + ".jpg"])
    assert fake.status_code == 400 and fake.json()["error"]["field"] == "photos"
    half = report(client, latitude=30.27)
    assert half.status_code == 400 and half.json()["error"]["field"] == "longitude"
    not_image = client.post(
        "/api/v1/patrol/photos", content=b"not an image", headers={"Content-Type": "image/jpeg"}
    )
    assert not_image.status_code == 400 and not_image.json()["error"]["field"] == "photos"
    log_in(client, "outsider")
    assert report(client, key="rp-other01").status_code == 404


def test_the_phone_page_offers_patrol_to_those_who_handle_alerts(client: TestClient) -> None:
    log_in(client, "grid")
    page = client.get("/phone")
    assert page.status_code == 200
    assert 'id="phone-alert-patrol"' in page.text
    assert f'<option value="{POINT}">' in page.text
    assert 'data-patrol="checkin"' in page.text and 'data-patrol="report"' in page.text
    assert "安全隐患" in page.text
    assert "Safety hazard" in client.get("/phone?lang=en").text
    assert 'id="patrol-duty"' in page.text
    assert 'data-layer="units"' not in client.get("/map").text  # may not dispatch
    log_in(client, "station")
    assert 'data-layer="units"' in client.get("/map").text
    log_in(client, "outsider")  # a station with no buildings: no point to patrol
    assert 'id="phone-alert-patrol"' not in client.get("/phone").text
    log_in(client, "analyst")  # sees alerts, handles none
    analyst_page = client.get("/phone")
    assert analyst_page.status_code == 200 and 'id="phone-alert-patrol"' not in analyst_page.text


def units(client: TestClient) -> list[str]:
    answer = client.get("/api/v1/patrol/units")
    assert answer.status_code == 200, answer.text
    return [feature["properties"]["name"] for feature in answer.json()["features"]]


def duty(client: TestClient, on_duty: bool, **body: object):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/patrol/duty", json={"on_duty": on_duty, **body})


def test_units_are_on_the_dispatchers_map_only_while_on_duty_and_fresh(
    client: TestClient, clock: ManualClock
) -> None:
    log_in(client, "grid")
    assert duty(client, True).json()["error"]["field"] == "latitude"
    assert duty(client, True, **NEAR).status_code == 204
    assert client.get("/api/v1/patrol/units").status_code == 403  # may not dispatch
    log_in(client, "station")
    assert units(client) == ["测试·grid"]
    log_in(client, "outsider")  # another station's jurisdiction
    assert units(client) == []

    log_in(client, "grid")
    assert duty(client, False).status_code == 204
    log_in(client, "station")
    assert units(client) == []

    log_in(client, "grid")
    assert duty(client, True, **NEAR).status_code == 204
    clock.advance(timedelta(minutes=11))  # the phone stopped reporting
    log_in(client, "station")
    assert units(client) == []


def test_the_check_ins_page_lists_who_checked_in_where_and_when_by_scope(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "grid")
    assert check_in(client, key="ck-grid-01").status_code == 201
    clock.advance(timedelta(hours=2))
    assert check_in(client, key="ck-grid-02").status_code == 201
    log_in(client, "station")
    assert check_in(client, key="ck-station-1").status_code == 201

    def rows(query: str = "") -> list[str]:
        page = client.get("/patrol/checkins?" + query)
        assert page.status_code == 200, page.text
        return [part.split(">")[0] for part in page.text.split("<tr data-checkin-id=")[1:]]

    page = client.get("/patrol/checkins")
    assert "巡逻打卡记录" in page.text and "测试·grid" in page.text and "测试·station" in page.text
    assert len(rows()) == 3
    grid_id = page.text.split(">测试·grid</option>")[0].rsplit('value="', 1)[1].split('"')[0]
    assert len(rows(f"user={grid_id}")) == 2
    since = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert len(rows(f"from={since}")) == 2  # the grid worker's second and the officer's
    assert len(rows(f"user={grid_id}&from={since}")) == 1
    assert len(rows("point=C1-B2")) == 0
    bad = client.get("/patrol/checkins?from=soon")
    assert bad.status_code == 400 and 'data-field="from"' in bad.text
    assert "Patrol check-ins" in client.get("/patrol/checkins?lang=en").text
    assert "patrol.checkins_view" in audit_actions(node)

    log_in(client, "outsider")
    assert rows() == []
    log_in(client, "grid")  # a patrol member does not read the others' check-ins
    assert client.get("/patrol/checkins").status_code == 403
