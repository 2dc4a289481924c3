"""Resident tips (随手拍) through the public pages and triage: a tip from the form to the
resident seeing the outcome, and every kind of bad input the public can send."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy import text as text_query

from tests.web.conftest import log_in
from zhian.access.models import User
from zhian.access.scope import JurisdictionScope
from zhian.alerts.procedures import MAJOR_STEPS
from zhian.alerts.schemas import AlertFilter
from zhian.ingest.images import SEALED_MARK
from zhian.maps.coords import distance_m, wgs84_to_gcj02
from zhian.node import Node
from zhian.tips.models import Tip

_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# Garden Estate's Building 1 (tests/ingest/factories.py) and a point ~40 m from it.
NEAR_B1 = ("30.27030", "120.15010")
PHONE = "13812345678"
GPS_LATITUDE_TAG = 0x8825  # the GPS IFD of EXIF

COMMAND_STEPS = tuple(step.key for step in MAJOR_STEPS)


def photo_with_gps(fmt: str = "JPEG") -> bytes:
    """A small photo carrying a camera make and a GPS position in its EXIF."""
    image = Image.new("RGB", (64, 48), (200, 60, 40))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0110] = "Model-XY-123"  # Model
    exif[GPS_LATITUDE_TAG] = {1: "N", 2: (30.0, 16.0, 12.0)}
    out = io.BytesIO()
    image.save(out, format=fmt, exif=exif)
    return out.getvalue()


def form_token(client: TestClient) -> str:
    page = client.get("/tip")
    assert page.status_code == 200
    found = _FORM_TOKEN.search(page.text)
    assert found, "the public tip form carries no CSRF token"
    return found.group(1)


def send_tip(
    client: TestClient,
    *,
    description: str = "楼道里有烟味，像是电线烧焦",
    category: str = "smoke",
    place: tuple[str, str] = NEAR_B1,
    contact: str = "",
    photos: list[tuple[str, bytes, str]] | None = None,
    token: str | None = None,
) -> object:
    data = {
        "csrf_token": token or form_token(client),
        "category": category,
        "description": description,
        "latitude": place[0],
        "longitude": place[1],
        "contact": contact,
    }
    files = [("photos", photo) for photo in (photos or [])]
    return client.post("/tip", data=data, files=files or None)


def code_of(response: object) -> str:
    location = response.headers["location"]  # type: ignore[attr-defined]
    found = re.match(r"^/tip/([A-Z0-9]+)\?", location)
    assert found, location
    return found.group(1)


def tip_row(node: Node, code: str) -> Tip:
    with node.db.session() as session:
        tip = session.scalars(select(Tip).where(Tip.code == code)).one()
        session.expunge(tip)
        return tip


def test_the_form_needs_no_account_and_speaks_chinese_first(client: TestClient) -> None:
    page = client.get("/tip")
    assert page.status_code == 200
    assert "随手拍" in page.text and "使用手机定位" in page.text
    assert "Use my location" in client.get("/tip?lang=en").text
    assert page.headers["cache-control"] == "no-store"


def test_a_tip_is_kept_with_photos_stripped_and_sealed_and_contact_protected(
    client: TestClient, node: Node
) -> None:
    original = photo_with_gps()
    assert b"SecretCam" in original
    response = send_tip(client, contact=PHONE, photos=[("a.jpg", original, "image/jpeg")])
    assert response.status_code == 303, response.text
    code = code_of(response)
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and code in page.text and "已收到，待审核" in page.text

    tip = tip_row(node, code)
    assert tip.status == "pending" and tip.building_id == "C1-B1" and tip.community_id == "C1"
    assert tip.jurisdiction_id == "J-STATION"
    assert tip.contact_masked == "138****5678" and tip.contact_token.startswith("tok_")
    assert tip.contact_enc is not None and PHONE.encode() not in tip.contact_enc
    (ref,) = tip.photos
    stored = node.images.path_of(ref).read_bytes()
    assert stored[0] == SEALED_MARK and b"SecretCam" not in stored
    clear = node.images.read(ref)
    assert b"SecretCam" not in clear and b"Model-XY" not in clear
    with Image.open(io.BytesIO(clear)) as kept:
        assert kept.size == (64, 48) and not kept.getexif()
        assert "exif" not in kept.info


def test_the_description_is_sealed_at_rest_and_shown_to_triage_with_the_read_audited(
    client: TestClient, node: Node
) -> None:
    text = "3号楼王五家门口堆满纸箱，电话13900001111"
    code = code_of(send_tip(client, description=text))
    # No column of the row holds the text: only its sealed copy, for this tip's code.
    with node.db.engine.connect() as connection:
        row = connection.execute(
            text_query("SELECT * FROM tips WHERE code = :code"), {"code": code}
        ).one()
    for value in row:
        raw = value.encode() if isinstance(value, str) else value
        assert not isinstance(raw, bytes) or "王五".encode() not in raw, row
    tip = tip_row(node, code)
    sealer = node.governance.require_sealer()
    assert sealer.open("tips", "description_enc", code, tip.description_enc) == text

    # The resident holding the code reads it back; the officer of the place reads it in
    # triage, and that read is audited naming the tip.
    assert text in client.get(f"/tip/{code}").text
    log_in(client, "station")
    queue = client.get("/tips")
    assert queue.status_code == 200 and text in queue.text
    # Its place by name, as the alert names it, not the registry's code.
    assert "Garden Estate Building 1" in queue.text and "C1-B1" not in queue.text
    with node.db.session() as session:
        [entry] = node.governance.audit(session).search(action="tip.view")
    assert entry.record_ids == [str(tip.id)] and entry.record_type == "tip"
    # Raised as an alert, the resident's words stay sealed: the alert's title names the
    # category and the place; its page links to the tip, whose every read is audited.
    accepted = client.post(f"/tips/{tip.id}/accept", data={"tier": "minor"})
    assert accepted.status_code == 303, accepted.text
    alert_page = client.get(accepted.headers["location"]).text
    assert "王五" not in alert_page and "13900001111" not in alert_page
    # Triaged, the tip is listed by category and place, its words not opened again.
    triaged = client.get("/tips").text
    assert f'href="/tips/{tip.id}?lang=zh"' in triaged and "王五" not in triaged
    assert f'href="/tips/{tip.id}?lang=zh"' in alert_page
    alert_id = int(accepted.headers["location"].split("/")[2].split("?")[0])
    with node.alerts() as alerts:
        alert = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
    assert alert.title_zh == "群众随手拍：冒烟 / 异味（Garden Estate Building 1）", alert.title_zh
    assert alert.title_en == "Resident tip: Smoke or smell of burning at Garden Estate Building 1"
    assert "王五" not in alert.title_en + json.dumps(alert.evidence.model_dump(mode="json"))
    with node.db.engine.connect() as connection:  # nor in any alert column at rest
        for row in connection.execute(text_query("SELECT * FROM alerts")):
            assert "王五" not in " ".join(str(value) for value in row)

    # The minor alert's grid worker, who may not triage, reads the words on the tip page.
    log_in(client, "grid")
    one = client.get(f"/tips/{tip.id}")
    assert one.status_code == 200 and text in one.text
    assert "Garden Estate Building 1" in one.text and "C1-B1" not in one.text
    with node.db.session() as session:
        reads = node.governance.audit(session).search(action="tip.view")
    assert [read.record_ids for read in reads] == [[str(tip.id)]] * 2
    # Outside the jurisdiction, the tip is not there; a read refused is not audited.
    log_in(client, "outsider")
    assert client.get(f"/tips/{tip.id}").status_code == 404
    with node.db.session() as session:
        assert len(node.governance.audit(session).search(action="tip.view")) == 2


def test_a_png_keeps_no_text_chunks(client: TestClient, node: Node) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "taken at home, 5th floor")
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 255)).save(out, format="PNG", pnginfo=info)
    response = send_tip(client, photos=[("a.png", out.getvalue(), "image/png")])
    assert response.status_code == 303, response.text
    (ref,) = tip_row(node, code_of(response)).photos
    assert ref.endswith(".png") and b"5th floor" not in node.images.read(ref)


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"description": "<script>alert(1)</script>"}, 400, "description"),
        ({"description": "见 <b>这里</b>"}, 400, "description"),
        ({"description": "javascript:alert(1)"}, 400, "description"),
        ({"description": "   "}, 400, "description"),
        ({"description": "x" * 1001}, 400, "description"),
        ({"description": "有人\u202e闹事"}, 400, "description"),
        ({"category": "petitioner"}, 400, "category"),
        ({"place": ("north", "120.15")}, 400, "latitude"),
        ({"place": ("30.27", "181")}, 400, "longitude"),
        ({"contact": "call me <maybe>"}, 400, "contact"),
        ({"contact": "12345"}, 400, "contact"),
    ],
)
def test_bad_text_is_refused_naming_the_field(
    client: TestClient, node: Node, changes: dict[str, object], status: int, field: str
) -> None:
    response = send_tip(client, **changes)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert f'data-field="{field}"' in response.text
    assert "<script>alert(1)</script>" not in response.text  # echoed escaped, never live
    with node.db.session() as session:
        assert session.scalars(select(Tip)).all() == []


def test_script_in_the_description_reads_as_a_clear_error_in_both_languages(
    client: TestClient,
) -> None:
    response = send_tip(client, description="<img src=x onerror=alert(1)>")
    assert "只接受纯文本" in response.text
    response = client.post(
        "/tip?lang=en",
        data={
            "csrf_token": form_token(client),
            "category": "smoke",
            "description": "<b>x</b>",
            "latitude": "30.27",
            "longitude": "120.15",
        },
    )
    assert response.status_code == 400 and "must be plain text" in response.text


def test_photos_that_are_too_large_not_images_or_too_many_are_refused(
    client: TestClient, node: Node
) -> None:
    node.settings.tips.max_photo_bytes = 4096
    noisy = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(noisy, format="PNG")
    assert len(noisy.getvalue()) > 4096
    too_big = send_tip(client, photos=[("big.png", noisy.getvalue(), "image/png")])
    assert too_big.status_code == 413 and 'data-field="photos"' in too_big.text
    not_image = send_tip(client, photos=[("x.jpg", b"<html>not a photo</html>", "image/jpeg")])
    assert not_image.status_code == 400 and "JPEG" in not_image.text
    small = photo_with_gps()
    many = send_tip(client, photos=[(f"{i}.jpg", small, "image/jpeg") for i in range(4)])
    assert many.status_code == 400 and 'data-field="photos"' in many.text
    with node.db.session() as session:
        assert session.scalars(select(Tip)).all() == []


def test_a_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    form_token(client)  # the visitor has a pre-session, but the form lost its token
    response = client.post(
        "/tip",
        data={"category": "smoke", "description": "x", "latitude": "30.27", "longitude": "120"},
    )
    assert response.status_code == 403


def test_a_flood_from_one_address_is_refused_with_retry_after(client: TestClient) -> None:
    token = form_token(client)
    for number in range(5):
        sent = send_tip(client, description=f"报告 {number}", place=("30.2", "120.0"), token=token)
        assert sent.status_code == 303, sent.text
    refused = send_tip(client, description="再来一条", token=token)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert 'data-field="address"' in refused.text and "提交过于频繁" in refused.text


def test_unknown_and_malformed_codes_are_404_and_lookups_are_limited(
    client: TestClient, node: Node
) -> None:
    assert client.get("/tip/ABCDEFGHJK").status_code == 404
    assert client.get("/tip/<script>").status_code == 404
    lookup = client.get("/tip/lookup?code=abcd-efgh-jk")
    assert lookup.status_code == 303 and lookup.headers["location"].startswith("/tip/ABCDEFGHJK")
    node.settings.tips.lookups_per_code_per_hour = 3
    client.app.state.tip_limits = None  # type: ignore[attr-defined]
    code = code_of(send_tip(client))
    for _ in range(3):
        assert client.get(f"/tip/{code}").status_code == 200
    limited = client.get(f"/tip/{code}")
    assert limited.status_code == 429 and "retry-after" in limited.headers


def test_triage_needs_the_permission_and_stays_in_the_jurisdiction(
    client: TestClient, node: Node
) -> None:
    code = code_of(send_tip(client))
    tip_id = tip_row(node, code).id
    assert client.get("/tips").status_code in (303, 401)  # no session: to the login page
    log_in(client, "grid")
    assert client.get("/tips").status_code == 403
    log_in(client, "outsider")
    queue = client.get("/tips")
    assert queue.status_code == 200 and f'id="tip-{tip_id}"' not in queue.text
    assert client.post(f"/tips/{tip_id}/accept", data={"tier": "major"}).status_code == 404
    assert client.get(f"/tips/{tip_id}/photos/1").status_code == 404
    log_in(client, "station")
    queue = client.get("/tips")
    assert f'id="tip-{tip_id}"' in queue.text and "随手拍审核" in queue.text
    assert 'href="/tips?lang=zh"' in queue.text  # in the station officer's menu


def test_from_tip_to_alert_to_outcome_and_rating(client: TestClient, node: Node) -> None:
    resident = TestClient(client.app, follow_redirects=False)
    first = code_of(send_tip(resident, photos=[("a.jpg", photo_with_gps(), "image/jpeg")]))
    second_response = send_tip(resident, description="同一栋楼也闻到烟味")
    assert "duplicate=1" in second_response.headers["location"]
    second = code_of(second_response)
    tip_id = tip_row(node, first).id
    assert tip_row(node, second).duplicate_of == tip_id

    log_in(client, "station")
    photo = client.get(f"/tips/{tip_id}/photos/1")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    with node.db.session() as session:  # every read of a resident's photo is audited
        [read] = node.governance.audit(session).search(action="tip.photo_view")
    assert read.record_type == "tip" and read.record_ids == [str(tip_id)]
    with node.db.session() as session:
        station = session.scalars(select(User).where(User.username == "station")).one()
    assert read.details == {"photo": 1} and read.actor_id == str(station.id)
    assert client.get(f"/tips/{tip_id}/photos/2").status_code == 404
    with node.db.session() as session:  # a photo that is not there is not a read
        assert len(node.governance.audit(session).search(action="tip.photo_view")) == 1
    assert client.post(f"/tips/{tip_id}/accept", data={"tier": "severe"}).status_code == 400
    accepted = client.post(f"/tips/{tip_id}/accept", data={"tier": "major"})
    assert accepted.status_code == 303, accepted.text
    alert_id = int(accepted.headers["location"].split("/")[2].split("?")[0])
    assert client.post(f"/tips/{tip_id}/accept", data={"tier": "major"}).status_code == 409
    detail = client.get(accepted.headers["location"])
    assert detail.status_code == 200 and "群众随手拍" in detail.text

    with node.alerts() as alerts:
        alert = alerts.get_alert(alert_id, scope=JurisdictionScope.unscoped())
        assert alert.rule == "tip" and alert.tier == "major" and alert.count == 2
        assert alert.owner_role == "command_centre" and alert.jurisdiction_id == "J-STATION"
        assert alert.place_id == "C1-B1"
        # As a smoke alarm, then the command centre's steps of a major alert.
        assert [step.key for step in alert.procedure] == ["confirm", "contact", *COMMAND_STEPS]
    assert tip_row(node, second).alert_id == alert_id  # the duplicate joined the alert

    status = resident.get(f"/tip/{first}")
    assert 'data-stage="handling"' in status.text and "tip-rate" not in status.text
    assert resident.post(f"/tip/{first}/rating", data={"rating": "5"}).status_code == 403
    token = _FORM_TOKEN.search(resident.get("/tip").text).group(1)  # type: ignore[union-attr]
    early = resident.post(f"/tip/{first}/rating", data={"rating": "5", "csrf_token": token})
    assert early.status_code == 409

    with node.alerts() as alerts:
        everywhere = JurisdictionScope.unscoped()
        alerts.sign(alert_id, scope=everywhere, user_id=1)
        alerts.dispatch(alert_id, scope=everywhere, user_id=1)
        alerts.arrive(alert_id, scope=everywhere, user_id=1)
        alerts.handle(alert_id, scope=everywhere, user_id=1, feedback="楼内电线短路，已断电")
        for step in ("confirm", "contact", *COMMAND_STEPS):  # smoke's procedure, major's steps
            alerts.tick_step(alert_id, step, scope=everywhere, user_id=1, skipped=False, reason="")
        alerts.close(alert_id, scope=everywhere, user_id=1, outcome="resolved")
    status = resident.get(f"/tip/{first}")
    assert 'data-stage="handled"' in status.text and 'data-outcome="resolved"' in status.text
    assert "已处置" in status.text and "tip-rate" in status.text
    bad = resident.post(f"/tip/{first}/rating", data={"rating": "9", "csrf_token": token})
    assert bad.status_code == 400 and 'data-field="rating"' in bad.text
    rated = resident.post(f"/tip/{first}/rating", data={"rating": "4", "csrf_token": token})
    assert rated.status_code == 303
    assert "4 星" in resident.get(rated.headers["location"]).text
    again = resident.post(f"/tip/{first}/rating", data={"rating": "1", "csrf_token": token})
    assert again.status_code == 409
    queue = client.get("/tips")
    assert 'data-rated="1"' in queue.text and 'data-mean="4.0"' in queue.text


def test_a_tip_closed_at_triage_shows_the_reason_to_the_resident(
    client: TestClient, node: Node
) -> None:
    resident = TestClient(client.app, follow_redirects=False)
    code = code_of(send_tip(resident, category="parking", description="车停在消防通道"))
    tip_id = tip_row(node, code).id
    log_in(client, "station")
    refused = client.post(f"/tips/{tip_id}/close", data={"reason": "<i>no</i>"})
    assert refused.status_code == 400 and 'data-field="reason"' in refused.text
    assert client.post(f"/tips/{tip_id}/close", data={"reason": ""}).status_code == 400
    # The code alone opens the reason: it may name no one (plate, phone, ID number).
    for named in ("车主13900001111已移车", "浙A12345已驶离"):
        refused = client.post(f"/tips/{tip_id}/close", data={"reason": named})
        assert refused.status_code == 400 and 'data-field="reason"' in refused.text
        assert (
            "13900001111" not in refused.text and "不能写入身份证号、手机号或车牌号" in refused.text
        )
    closed = client.post(f"/tips/{tip_id}/close", data={"reason": "已通知物业移车，车辆已驶离"})
    assert closed.status_code == 303
    status = resident.get(f"/tip/{code}")
    assert 'data-stage="closed"' in status.text and "已通知物业移车" in status.text
    with node.alerts() as alerts:
        page = alerts.list_alerts(
            AlertFilter(), page=1, per_page=50, scope=JurisdictionScope.unscoped()
        )
        assert all(item.rule != "tip" for item in page.items)


def test_a_place_picked_on_gcj02_tiles_is_kept_in_wgs84_and_the_form_carries_the_map(
    client: TestClient, node: Node
) -> None:
    form = client.get("/tip")
    assert 'id="tip-map"' in form.text and 'id="tip-map-config"' in form.text
    assert "vendor/leaflet/leaflet.js" in form.text and "或在地图上点选位置" in form.text
    config = json.loads(form.text.split('id="tip-map-config">')[1].split("</script>")[0])
    assert config["datum"] == "wgs84" and config["communities"]  # a start and landmarks
    assert client.get("/tip/tiles/1/0/0").status_code == 404  # no MBTiles on this node

    wgs = (30.2703, 120.1501)
    gcj = wgs84_to_gcj02(*wgs)
    assert distance_m(wgs, gcj) > 100  # the offset the conversion must undo
    token = form_token(client)
    sent = client.post(
        "/tip",
        data={"csrf_token": token, "category": "smoke", "description": "楼道有烟",
              "latitude": f"{gcj[0]:.6f}", "longitude": f"{gcj[1]:.6f}", "datum": "gcj02"},
    )  # fmt: skip
    assert sent.status_code == 303, sent.text
    tip = tip_row(node, code_of(sent))
    assert distance_m((tip.latitude, tip.longitude), wgs) < 1.0
    assert tip.building_id == "C1-B1"
    bad = client.post(
        "/tip",
        data={"csrf_token": token, "category": "smoke", "description": "楼道有烟",
              "latitude": "30.27", "longitude": "120.15", "datum": "baidu"},
    )  # fmt: skip
    assert bad.status_code == 400 and 'data-field="datum"' in bad.text
