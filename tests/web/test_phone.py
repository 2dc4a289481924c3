"""The officer's phone: the page, the installable app's files, steps sent with an
idempotency key (a resend acts once), the position of an arrival and photos of a handling."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from tests.web.conftest import log_in
from zhian.alerts.schemas import AlertSummary
from zhian.node import Node

KEY = "0f8e3c52-1d7a-4b59-9f0e-5a3c2b1d4e6f"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 10)).save(out, format="JPEG")
    return out.getvalue()


def act(client: TestClient, alert_id: int, action: str, key: str | None = KEY, **body: object):  # type: ignore[no-untyped-def]
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(f"/api/v1/alerts/{alert_id}/{action}", json=body, headers=headers)


def test_the_phone_page_lists_my_alerts_with_the_steps_i_may_take(
    client: TestClient, tamper: AlertSummary
) -> None:
    log_in(client, "grid")
    page = client.get("/phone")
    assert page.status_code == 200
    assert f'id="phone-alert-{tamper.id}"' in page.text
    assert 'data-action="sign"' in page.text and 'data-action="dispatch"' not in page.text
    assert 'rel="manifest"' in page.text and "phone.js" in page.text
    assert 'href="/phone?lang=zh"' in page.text  # in the menu


def test_the_app_files_need_no_login_and_hold_no_data(client: TestClient) -> None:
    worker = client.get("/phone/sw.js")
    assert worker.status_code == 200 and "javascript" in worker.headers["content-type"]
    assert "caches.open" in worker.text
    manifest = client.get("/phone/manifest.webmanifest").json()
    assert manifest["start_url"] == "/phone" and manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).headers["content-type"] == "image/png"
    assert client.get("/phone").status_code in (303, 401)


def test_a_step_resent_with_its_key_is_taken_once(
    client: TestClient, node: Node, fire: AlertSummary
) -> None:
    log_in(client, "command")
    first = act(client, fire.id, "sign")
    assert first.status_code == 200 and first.json()["state"] == "signed"
    again = act(client, fire.id, "sign")
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert [step["action"] for step in again.json()["timeline"]].count("sign") == 1
    # A new key for the same step is a new request: refused by the state, not replayed.
    assert act(client, fire.id, "sign", key="another-key-123").status_code == 409
    # Another user's key is not this user's: no replay across users.
    log_in(client, "station")
    other = act(client, fire.id, "sign")
    assert other.status_code in (403, 409) and "idempotent-replayed" not in other.headers


def test_arrival_records_the_position_and_handling_takes_uploaded_photos(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    assert act(client, fire.id, "sign", key="k-sign-0001").status_code == 200
    assert act(client, fire.id, "dispatch", key="k-disp-0001").status_code == 200
    half = act(client, fire.id, "arrive", key="k-arr-00001", latitude=30.27)
    assert half.status_code == 400 and half.json()["error"]["field"] == "longitude"
    far = act(client, fire.id, "arrive", key="k-arr-00001", latitude=91, longitude=120)
    assert far.status_code in (400, 422)
    arrived = act(client, fire.id, "arrive", key="k-arr-00001", latitude=30.2701, longitude=120.15)
    assert arrived.status_code == 200
    (step,) = [s for s in arrived.json()["timeline"] if s["action"] == "arrive"]
    assert step["data"]["location"] == {"latitude": 30.2701, "longitude": 120.15}

    upload = client.post(
        f"/api/v1/alerts/{fire.id}/photos", content=jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    assert upload.status_code == 200, upload.text
    ref = upload.json()["ref"]
    not_image = client.post(
        f"/api/v1/alerts/{fire.id}/photos",
        content=b"<html></html>",
        headers={"Content-Type": "image/jpeg"},
    )
    assert not_image.status_code == 400
    wrong_type = client.post(
        f"/api/v1/alerts/{fire.id}/photos", content=jpeg(), headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    handled = act(
        client, fire.id, "handle", key="k-hand-0001", feedback="已扑灭", attachments=[ref]
    )
    assert handled.status_code == 200 and handled.json()["attachments"] == [ref]


def test_bad_keys_and_other_jurisdictions_are_refused(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    assert act(client, fire.id, "sign", key="bad key!").status_code in (400, 422)
    assert act(client, fire.id, "sign", key="short").status_code in (400, 422)
    log_in(client, "outsider")
    assert act(client, fire.id, "sign").status_code == 404
    photo = client.post(
        f"/api/v1/alerts/{fire.id}/photos", content=jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    assert photo.status_code == 404
    log_in(client, "analyst")
    assert (
        client.post(
            f"/api/v1/alerts/{fire.id}/photos",
            content=jpeg(),
            headers={"Content-Type": "image/jpeg"},
        ).status_code
        == 403
    )


def test_script_or_markup_in_a_handling_a_note_or_a_reason_is_refused_naming_the_field(
    client: TestClient, fire: AlertSummary
) -> None:
    log_in(client, "command")
    script = act(client, fire.id, "sign", key="k-sign-bad1", note="<script>alert(1)</script>")
    assert script.status_code == 400 and script.json()["error"]["field"] == "note"
    hidden = act(client, fire.id, "sign", key="k-sign-bad2", note="ok\u202egnp.exe")
    assert hidden.status_code == 400 and hidden.json()["error"]["field"] == "note"
    assert act(client, fire.id, "sign", key="k-sign-0002", note="已签收").status_code == 200
    assert act(client, fire.id, "dispatch", key="k-disp-0002").status_code == 200
    assert act(client, fire.id, "arrive", key="k-arr-00002").status_code == 200
    for feedback in ('<img src=x onerror="1">', "见 javascript:void(0)", "已处置 &#60;b&#62;"):
        bad = act(client, fire.id, "handle", key=None, feedback=feedback)
        assert bad.status_code == 400, feedback
        assert bad.json()["error"]["field"] == "feedback"
        assert "plain text" in bad.json()["error"]["message"]
    first_step = client.get(f"/api/v1/alerts/{fire.id}").json()["procedure"][0]["key"]
    skip = client.post(
        f"/api/v1/alerts/{fire.id}/steps/{first_step}",
        json={"skipped": True, "reason": "<b>不需要</b>"},
    )
    assert skip.status_code == 400 and skip.json()["error"]["field"] == "reason"
    detail = client.get(f"/api/v1/alerts/{fire.id}").json()
    assert detail["state"] == "on_site"  # nothing refused was taken
    assert all(step["status"] == "pending" for step in detail["procedure"])
    handled = act(client, fire.id, "handle", key="k-hand-0002", feedback="已扑灭，3 > 2 层无人")
    assert handled.status_code == 400  # '>' is markup's, even in a sentence
    assert act(client, fire.id, "handle", key="k-hand-0003", feedback="已扑灭").status_code == 200
