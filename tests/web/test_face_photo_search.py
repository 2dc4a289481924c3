"""Search by face photo (以图搜图): a real photo's embedding, computed in the node, finds the
captures of that person (features of other crops, scales and light of the same face) ranked
above other people's; refused and audited without a case reference, for a photo without a
face, for a file that is not an image and when the cameras' features are of another model;
the audit entry names the probe as a photo, its model and faces, never the photo."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.search import photos
from tests.web.session import sign_in
from tests.web.test_face_search import _audit
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from tests.web.test_search import node as search_node  # noqa: F401 (fixture)
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.search.photo import MODEL_ID
from zhian.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CASE = "A2026-0042"
OTHERS = 20


@pytest.fixture
def client(
    search_node: Node,  # noqa: F811
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """CAM1's captures: the astronaut's face six times (`same-*`), twenty other people."""
    monkeypatch.setattr(search_node.settings.faces, "capture_feature_model", MODEL_ID)
    vectors = [(f"same-{name}", v) for name, v in photos.variant_features().items()]
    vectors += [(f"other-{i}", v) for i, v in enumerate(photos.other_people()[:OTHERS])]
    events = [
        {"type": "face", "id": event_id, "device_id": "CAM1",
         "time": (clock.now() - timedelta(minutes=i + 1)).isoformat(), "quality": 0.9,
         "feature": photos.feature(vector)}
        for i, (event_id, vector) in enumerate(vectors)
    ]  # fmt: skip
    result = search_node.intake.submit_raw([json.dumps(e).encode() for e in events],
                                           source="native", sender_id=None,
                                           content_type="application/json")  # fmt: skip
    assert result.accepted == len(events), result.items
    while search_node.feeder.feed_once():
        pass
    with TestClient(create_app(search_node), follow_redirects=False) as test_client:
        sign_in(test_client, "station", PASSWORD)
        created = test_client.post("/api/v1/cases", json={
            "id": CASE, "category": "robbery",
            "time_from": (clock.now() - timedelta(hours=5)).isoformat(),
            "latitude": 30.27, "longitude": 120.15, "jurisdiction_id": "J-STATION",
        })  # fmt: skip
        assert created.status_code == 201, created.text
        yield test_client


def _api(client: TestClient, data: bytes, **body: object) -> tuple[int, dict[str, object]]:
    photo = base64.b64encode(data).decode("ascii")
    answer = client.post("/api/v1/faces/search-by-photo", json={"photo": photo, **body})
    return answer.status_code, answer.json()


def test_a_photo_finds_the_persons_captures_above_everyone_else_and_is_audited(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    status, body = _api(client, photos.jpeg(photos.astronaut()), case_number=CASE,
                        reason="robbery suspect", top_k=10)  # fmt: skip
    assert status == 200, body
    assert body["compared"] == 6 + OTHERS
    found = [m["event_id"] for m in body["matches"]]  # type: ignore[attr-defined]
    # Precision and recall at the default threshold: all six captures, no one else.
    assert sorted(found) == sorted(f"same-{n}" for n in photos.variant_features()), found
    assert body["photo"] == {
        "model": MODEL_ID,
        "faces": body["photo"]["faces"],  # type: ignore[index]
        "face_used": 1,
        "largest_used": False,
    }
    # With every capture ranked, the person's come before all the others.
    status, ranked = _api(client, photos.png(photos.astronaut()), case_number=CASE,
                          reason="robbery suspect", top_k=50, min_similarity=-1)  # fmt: skip
    order = [m["event_id"] for m in ranked["matches"]]  # type: ignore[attr-defined]
    assert len(order) == 6 + OTHERS and all(e.startswith("same-") for e in order[:6])
    entries = _audit(search_node, "faces.search")
    assert len(entries) == 2
    first = entries[0] if entries[0].details["top_k"] == 10 else entries[1]  # type: ignore[attr-defined]
    assert first.case_number == CASE  # type: ignore[attr-defined]
    details = first.details  # type: ignore[attr-defined]
    assert details["probe"] == "photo" and details["model"] == MODEL_ID
    assert details["faces_found"] == 1 and details["face_used"] == 1
    assert details["compared"] == 6 + OTHERS
    assert sorted(first.record_ids) == sorted(f"CAM1/{e}" for e in found)  # type: ignore[attr-defined]
    # The photo is not kept: nothing of it in the audit entry, no image stored.
    assert not any(isinstance(v, str) and len(v) > 200 for v in details.values())


@pytest.mark.parametrize(
    ("form", "data", "status", "field"),
    [
        ({"reason": "robbery suspect"}, "face", 400, "case_number"),
        ({"case_number": CASE}, "face", 400, "case_number"),
        ({"case_number": "A2026-9999", "reason": "robbery suspect"}, "face", 404, "case_number"),
        ({"case_number": CASE, "reason": "robbery suspect"}, "cat", 400, "photo"),
        ({"case_number": CASE, "reason": "robbery suspect"}, "text", 400, "photo"),
        ({"case_number": CASE, "reason": "robbery suspect", "face": 2}, "face", 400, "face"),
    ],
)
def test_a_refused_search_by_photo_names_the_field_and_is_audited(
    client: TestClient,
    search_node: Node,  # noqa: F811
    form: dict[str, object],
    data: str,
    status: int,
    field: str,
) -> None:
    payload = {
        "face": photos.png(photos.astronaut()),
        "cat": photos.png(photos.no_face()),
        "text": b"not a photo at all",
    }[data]
    answer, body = _api(client, payload, **form)
    assert answer == status, body
    assert body["error"]["field"] == field  # type: ignore[index]
    assert "matches" not in body
    assert len(_audit(search_node, "faces.search.refused")) == 1
    assert _audit(search_node, "faces.search") == []


def test_a_photo_is_refused_when_the_cameras_features_are_of_another_model(
    client: TestClient,
    search_node: Node,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_node.settings.faces, "capture_feature_model", "")
    status, body = _api(client, photos.png(photos.astronaut()), case_number=CASE,
                        reason="robbery suspect")  # fmt: skip
    assert status == 400 and body["error"]["field"] == "photo"  # type: ignore[index]
    assert MODEL_ID in body["error"]["message"]  # type: ignore[index]
    assert "capture_feature_model" in body["error"]["message"]  # type: ignore[index]
    assert len(_audit(search_node, "faces.search.refused")) == 1


def test_the_page_searches_by_photo_and_says_which_face_was_used(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    token = CSRF.search(client.get("/face-search?lang=en").text)
    assert token is not None
    answer = client.post(
        "/face-search?lang=en",
        data={"csrf_token": token.group(1), "case_number": CASE, "reason": "robbery suspect"},
        files={"photo": ("two.png", photos.png(photos.two_faces()), "image/png")},
    )
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert 'data-faces="2" data-chosen="1"' in page
    assert "2 face(s) found in the photo (largest first); face 1 was used." in page
    assert 'data-event="same-crop"' in page and 'data-event="other-0"' not in page
    answer = client.post(
        "/face-search?lang=en",
        data={
            "csrf_token": token.group(1),
            "case_number": CASE,
            "reason": "robbery suspect",
            "feature": "AAAA",
        },
        files={"photo": ("two.png", photos.png(photos.two_faces()), "image/png")},
    )
    assert answer.status_code == 400 and 'data-field="photo"' in answer.text
    (entry,) = _audit(search_node, "faces.search")
    assert entry.details["faces_found"] == 2  # type: ignore[attr-defined]


def test_a_photo_too_large_or_not_base64_is_refused_naming_the_photo(
    client: TestClient,
    search_node: Node,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_node.settings.images, "max_bytes", 4096)
    status, body = _api(client, photos.png(photos.astronaut()), case_number=CASE,
                        reason="robbery suspect")  # fmt: skip
    assert status == 413 and body["error"]["field"] == "photo"  # type: ignore[index]
    answer = client.post("/api/v1/faces/search-by-photo", json={
        "photo": "not base64!", "case_number": CASE, "reason": "robbery suspect"})  # fmt: skip
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "photo"
    assert len(_audit(search_node, "faces.search.refused")) == 2
