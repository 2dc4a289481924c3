"""The passages JSON API (`/api/v1/passages`): the page's search and rules for programs:
the jurisdiction's devices only, masked subjects, a plate or a person only in a POST body
with a case number and a reason (audited, refusals too), errors as the OpenAPI document
declares them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.session import sign_in
from tests.web.test_openapi_errors import assert_answers_as_declared, openapi
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from tests.web.test_search import PLATE, _audit, node  # noqa: F401 (fixture)
from zhian.node import Node
from zhian.web.app import create_app

CASE = {"case_number": "A2026-0042", "reason": "theft inquiry"}


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(node), follow_redirects=False) as test_client:
        yield test_client


def _ids(answer: dict[str, object]) -> list[str]:
    passages = answer["passages"]
    assert isinstance(passages, list)
    return [row["event_id"] for row in passages]


def test_passages_are_listed_masked_newest_first_and_narrowed(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    listed = client.get("/api/v1/passages")
    assert listed.status_code == 200
    answer = listed.json()
    assert _ids(answer) == ["a-2", "a-1", "v-3", "v-2", "v-1"] and answer["has_more"] is False
    assert PLATE not in listed.text and "浙A***45" in listed.text
    out = client.get("/api/v1/passages", params={"direction": "out", "types": ["vehicle"]})
    assert _ids(out.json()) == ["v-3"]
    paged = client.get("/api/v1/passages", params={"limit": 2, "offset": 1}).json()
    assert _ids(paged) == ["a-1", "v-3"] and paged["has_more"] is True
    body = client.post("/api/v1/passages", json={"types": ["access"], "direction": "in"})
    assert _ids(body.json()) == ["a-2", "a-1"]
    sign_in(client, "outsider", PASSWORD)  # another station: none of these devices
    assert _ids(client.get("/api/v1/passages").json()) == []


def test_a_subject_search_needs_a_case_number_and_is_audited(
    client: TestClient,
    node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    refused = client.post("/api/v1/passages", json={"plate": PLATE})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "case_number"
    assert len(_audit(node, "passages.subject_search.refused")) == 1
    found = client.post("/api/v1/passages", json={"plate": PLATE, **CASE})
    assert found.status_code == 200 and _ids(found.json()) == ["v-3", "v-1"]
    assert PLATE not in found.text
    (entry,) = _audit(node, "passages.subject_search")
    assert entry.case_number == "A2026-0042" and entry.details["rows"] == 2
    assert PLATE not in json.dumps(entry.details)
    person = client.post("/api/v1/passages", json={"resident_id": "R1", **CASE})
    assert _ids(person.json()) == ["a-1"]
    outside = client.post("/api/v1/passages", json={"resident_id": "R404", **CASE})
    assert outside.status_code == 404
    document = openapi(client)
    assert_answers_as_declared(document, "POST", "/api/v1/passages", refused)
    assert_answers_as_declared(document, "POST", "/api/v1/passages", outside)


def test_bad_input_names_the_field_and_other_roles_are_refused(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    backwards = client.get(
        "/api/v1/passages",
        params={"since": "2026-03-02T00:00:00+08:00", "until": "2026-03-01T00:00:00+08:00"},
    )
    assert backwards.status_code == 400 and backwards.json()["error"]["field"] == "since"
    nowhere = client.get("/api/v1/passages", params={"community_id": "C-ELSEWHERE"})
    assert nowhere.status_code == 404 and nowhere.json()["error"]["field"] == "community_id"
    unknown = client.post("/api/v1/passages", json={"plates": [PLATE]})
    assert unknown.status_code == 422  # unknown fields are refused, not ignored
    sign_in(client, "grid", PASSWORD)
    assert client.get("/api/v1/passages").status_code == 403
