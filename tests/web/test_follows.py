"""The follow list: a person needs a reason, every follow is audited, the workbench lists
what the officer follows, another jurisdiction's subjects cannot be followed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.session import sign_in
from tests.web.test_archive_pages import client as archive_client  # noqa: F401 (fixture)
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from zhian.node import Node

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def client(archive_client: TestClient) -> Iterator[TestClient]:  # noqa: F811
    yield archive_client


def follow(client: TestClient, page: str, **form: str) -> tuple[int, str]:
    token = CSRF.search(client.get(page).text)
    assert token is not None
    response = client.post(
        "/follows", data={"csrf_token": token.group(1), **form}, headers={"referer": page}
    )
    return response.status_code, response.text


def test_following_a_person_needs_a_reason_and_is_audited(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    sign_in(client, "station", PASSWORD)
    assert 'data-following="no"' in client.get("/residents/R1").text
    status, body = follow(client, "/residents/R1", kind="person", subject_id="R1", reason="")
    assert status == 400 and '"field":"reason"' in body
    status, _ = follow(client, "/residents/R1", kind="person", subject_id="R1", reason="案件A1")
    assert status == 303
    page = client.get("/residents/R1").text
    assert 'data-following="yes"' in page and "案件A1" in page
    with keyed_node.db.session() as session:
        (entry,) = keyed_node.governance.audit(session).search(action="follow.add")
    assert entry.record_ids == ["R1"] and entry.purpose == "案件A1"
    status, body = follow(client, "/residents/R1", kind="person", subject_id="R1", reason="again")
    assert status == 409


def test_the_workbench_lists_follows_and_unfollow_removes(client: TestClient) -> None:
    sign_in(client, "station", PASSWORD)
    assert follow(client, "/archives/houses/H1", kind="house", subject_id="H1", reason="")[0] == 303
    assert (
        follow(client, "/archives/vehicles/V1", kind="vehicle", subject_id="V1", reason="")[0]
        == 303
    )
    bench = client.get("/workbench").text
    assert 'data-follow="house:H1"' in bench and 'href="/archives/houses/H1?lang=zh"' in bench
    assert 'data-follow="vehicle:V1"' in bench
    house = client.get("/archives/houses/H1").text
    action = re.search(r'action="(/follows/\d+/remove)"', house)
    assert action is not None
    token = CSRF.search(house)
    assert token is not None
    removed = client.post(action.group(1), data={"csrf_token": token.group(1)})
    assert removed.status_code == 303
    assert 'data-follow="house:H1"' not in client.get("/workbench").text
    assert client.post(action.group(1), data={"csrf_token": token.group(1)}).status_code == 404


def test_another_jurisdiction_cannot_follow(client: TestClient) -> None:
    sign_in(client, "outsider", PASSWORD)
    status, body = follow(client, "/workbench", kind="house", subject_id="H1", reason="x")
    assert status == 404 and "H1" in body
    status, body = follow(client, "/workbench", kind="dog", subject_id="H1", reason="x")
    assert status == 400 and '"field":"kind"' in body
