"""Search by face (以图搜图): refused (and audited) without a case number, or with one that
is not a case of the user's jurisdiction; with one, the captures of the jurisdiction within
the face retention, most similar first, masked, the search audited with how many captures
were compared."""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.web.session import sign_in
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from tests.web.test_search import node as search_node  # noqa: F401 (fixture)
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PROBE = [1.0] * 64 + [0.0] * 64
LIKE = [0.9] * 64 + [0.1] * 64
UNLIKE = [0.0] * 64 + [1.0] * 64
OTHER_CASE = "B2026-0007"


def _feature(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


@pytest.fixture
def client(search_node: Node, clock: ManualClock) -> Iterator[TestClient]:  # noqa: F811
    events = [
        {
            "type": "face",
            "id": event_id,
            "device_id": "CAM1",
            "time": (clock.now() - timedelta(minutes=minutes)).isoformat(),
            "quality": 0.9,
            "feature": _feature(values),
        }
        for event_id, minutes, values in (("f-like", 5, LIKE), ("f-unlike", 4, UNLIKE))
    ]
    result = search_node.intake.submit_raw(
        [json.dumps(e).encode() for e in events],
        source="native",
        sender_id=None,
        content_type="application/json",
    )
    assert result.accepted == 2, result.items
    while search_node.feeder.feed_once():
        pass
    with TestClient(create_app(search_node), follow_redirects=False) as test_client:
        for user, case_number, jurisdiction in (
            ("station", "A2026-0042", "J-STATION"),
            ("outsider", OTHER_CASE, "J-OTHER"),
        ):
            sign_in(test_client, user, PASSWORD)
            created = test_client.post("/api/v1/cases", json={
                "id": case_number, "category": "robbery",
                "time_from": (clock.now() - timedelta(hours=5)).isoformat(),
                "latitude": 30.27, "longitude": 120.15, "jurisdiction_id": jurisdiction,
            })  # fmt: skip
            assert created.status_code == 201, created.text
        test_client.cookies.clear()
        test_client.headers.pop("X-CSRF-Token", None)
        yield test_client


def _search(client: TestClient, **form: str) -> tuple[int, str]:
    token = CSRF.search(client.get("/face-search").text)
    assert token is not None
    answer = client.post("/face-search", data={"csrf_token": token.group(1), **form})
    return answer.status_code, answer.text


def _audit(node: Node, action: str) -> list[object]:
    with node.db.session() as session:
        return list(node.governance.audit(session).search(action=action))


def test_a_face_search_without_a_case_number_is_refused_and_audited(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    status, page = _search(client, feature=_feature(PROBE), reason="looking")
    assert status == 400 and 'id="face-error" data-field="case_number"' in page
    assert len(_audit(search_node, "faces.search.refused")) == 1
    assert _audit(search_node, "faces.search") == []


def test_the_most_similar_capture_comes_first_and_the_search_is_audited(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    status, page = _search(
        client,
        feature=_feature(PROBE),
        case_number="A2026-0042",
        reason="robbery suspect",
        min_similarity="0.5",
    )
    assert status == 200, page
    assert 'data-compared="2"' in page
    assert 'data-event="f-like"' in page and 'data-event="f-unlike"' not in page
    assert 'href="/events/CAM1/f-like?lang=zh"' in page
    (entry,) = _audit(search_node, "faces.search")
    assert entry.case_number == "A2026-0042"  # type: ignore[attr-defined]
    assert entry.details["compared"] == 2  # type: ignore[attr-defined]
    assert entry.record_ids == ["CAM1/f-like"]  # type: ignore[attr-defined]


def test_a_bad_feature_names_the_field(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    status, page = _search(
        client, feature="not base64!", case_number="A2026-0042", reason="test run"
    )
    assert status == 400 and 'data-field="feature"' in page


def test_other_roles_and_jurisdictions(client: TestClient) -> None:
    sign_in(client, "grid", PASSWORD)
    assert client.get("/face-search").status_code == 403
    sign_in(client, "outsider", PASSWORD)
    status, page = _search(
        client, feature=_feature(PROBE), case_number=OTHER_CASE, reason="robbery suspect"
    )
    assert status == 200 and 'data-compared="0"' in page


def _api(client: TestClient, **body: object) -> tuple[int, dict[str, object]]:
    answer = client.post("/api/v1/faces/search", json=body)
    return answer.status_code, answer.json()


def test_the_api_refuses_a_search_without_a_case_number_and_audits_it(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    status, body = _api(client, feature=_feature(PROBE), reason="robbery suspect")
    assert status == 400 and body["error"]["field"] == "case_number"  # type: ignore[index]
    status, body = _api(client, feature=_feature(PROBE), case_number="A2026-0042")
    assert status == 400 and body["error"]["field"] == "case_number"  # type: ignore[index]
    assert len(_audit(search_node, "faces.search.refused")) == 2
    assert _audit(search_node, "faces.search") == []
    status, body = _api(client, feature="not base64!", case_number="A2026-0042",
                        reason="robbery suspect")  # fmt: skip
    assert status == 400 and body["error"]["field"] == "feature"  # type: ignore[index]
    status, _ = _api(client, feature=_feature(PROBE), case_number="A2026-0042",
                     reason="robbery suspect", top_k=51)  # fmt: skip
    assert status == 422


def test_the_api_answers_the_top_captures_with_their_similarity_and_audits(
    client: TestClient,
    search_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    status, body = _api(client, feature=_feature(PROBE), case_number="A2026-0042",
                        reason="robbery suspect", top_k=2, min_similarity=-1)  # fmt: skip
    assert status == 200, body
    assert body["compared"] == 2 and body["case_number"] == "A2026-0042"
    matches = body["matches"]
    assert isinstance(matches, list)
    assert [m["event_id"] for m in matches] == ["f-like", "f-unlike"]
    expected = sum(p * q for p, q in zip(PROBE, LIKE, strict=True)) / (
        sum(p * p for p in PROBE) ** 0.5 * sum(q * q for q in LIKE) ** 0.5
    )
    assert matches[0]["similarity"] == pytest.approx(expected, abs=1e-3)
    assert matches[1]["similarity"] == pytest.approx(0.0, abs=1e-3)
    assert matches[0]["page"] == "/events/CAM1/f-like"
    status, top = _api(client, feature=_feature(PROBE), case_number="A2026-0042",
                       reason="robbery suspect", top_k=1, min_similarity=-1)  # fmt: skip
    assert [m["event_id"] for m in top["matches"]] == ["f-like"]  # type: ignore[union-attr]
    entries = _audit(search_node, "faces.search")
    [first] = [e for e in entries if e.details["top_k"] == 2]  # type: ignore[attr-defined]
    assert len(entries) == 2 and first.case_number == "A2026-0042"  # type: ignore[attr-defined]
    assert first.record_ids == ["CAM1/f-like", "CAM1/f-unlike"]  # type: ignore[attr-defined]


def test_the_api_needs_the_permission_and_keeps_to_the_jurisdiction(client: TestClient) -> None:
    sign_in(client, "grid", PASSWORD)
    status, _ = _api(client, feature=_feature(PROBE), case_number="A2026-0042",
                     reason="robbery suspect")  # fmt: skip
    assert status == 403
    sign_in(client, "outsider", PASSWORD)
    status, body = _api(client, feature=_feature(PROBE), case_number=OTHER_CASE,
                        reason="robbery suspect", min_similarity=-1)  # fmt: skip
    assert status == 200 and body["compared"] == 0 and body["matches"] == []


@pytest.mark.parametrize("case_number", ["A2026-9999", OTHER_CASE])
def test_a_case_unknown_or_of_another_jurisdiction_is_refused_and_audited(
    client: TestClient,
    search_node: Node,  # noqa: F811
    case_number: str,
) -> None:
    """A well-formed case number is not enough: the case must be one the user's
    jurisdiction holds (as for a trajectory search), on the page and through the API."""
    sign_in(client, "station", PASSWORD)
    status, page = _search(client, feature=_feature(PROBE), case_number=case_number,
                           reason="robbery suspect")  # fmt: skip
    assert status == 404 and 'id="face-error" data-field="case_number"' in page
    assert 'data-event="f-like"' not in page
    status, body = _api(client, feature=_feature(PROBE), case_number=case_number,
                        reason="robbery suspect", min_similarity=-1)  # fmt: skip
    assert status == 404 and body["error"]["field"] == "case_number"  # type: ignore[index]
    assert "matches" not in body
    refused = _audit(search_node, "faces.search.refused")
    assert len(refused) == 2
    assert {e.case_number for e in refused} == {case_number}  # type: ignore[attr-defined]
    assert _audit(search_node, "faces.search") == []
