"""Registration drafts completed in the UI: an officer registers the resident a confirmed
finding named (validated as an import row, identity sealed, audited, in the house's
history) or dismisses the draft with a reason; others are refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.governance.factories import ZHANG_ID
from tests.web.session import sign_in
from tests.web.test_registry_loop import _confirm, _raise
from tests.web.test_resident_reveal import PASSWORD, keyed_node  # noqa: F401 (fixture)
from zhian.node import Node
from zhian.registry.models import RegistrationDraft, Resident
from zhian.web.app import create_app

VALID = {"id": "R9", "house_id": "H1", "birth_year": "1990", "is_floating": "true",
         "name": "李四", "id_number": ZHANG_ID, "phone": "13900001111"}  # fmt: skip


@pytest.fixture
def client(keyed_node: Node) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(keyed_node), follow_redirects=False) as test_client:
        yield test_client


def _draft(client: TestClient, node: Node) -> int:
    alert_id = _raise(node, "model.unregistered_resident", "card:tok_x", "C1-B1-U1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    with node.db.session() as session:
        (draft,) = session.query(RegistrationDraft).all()
        return draft.id


def _audit(node: Node, action: str) -> list[dict[str, object]]:
    with node.db.session() as session:
        return [e.details or {} for e in node.governance.audit(session).search(action=action)]


def test_an_officer_completes_a_draft_into_a_resident(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    draft_id = _draft(client, keyed_node)
    community = client.get("/archives/communities/C1").text
    assert f'href="/registration-drafts/{draft_id}?lang=zh"' in community
    page = client.get(f"/registration-drafts/{draft_id}").text
    assert 'id="drf-complete-form"' in page and "tok_x" not in page

    bad = client.post(f"/registration-drafts/{draft_id}/complete",
                      data={**VALID, "birth_year": "1700"})  # fmt: skip
    assert bad.status_code == 400 and 'data-field="birth_year"' in bad.text
    assert "李四" not in bad.text and ZHANG_ID not in bad.text  # identity is not echoed
    elsewhere = client.post(f"/registration-drafts/{draft_id}/complete",
                            data={**VALID, "house_id": "H-NOWHERE"})  # fmt: skip
    assert elsewhere.status_code == 400 and 'data-field="house_id"' in elsewhere.text
    taken = client.post(f"/registration-drafts/{draft_id}/complete", data={**VALID, "id": "R1"})
    assert taken.status_code == 409 and 'data-field="id"' in taken.text

    done = client.post(f"/registration-drafts/{draft_id}/complete", data=VALID)
    assert done.status_code == 303 and done.headers["location"].startswith(
        "/archives/communities/C1"
    )
    with keyed_node.db.session() as session:
        resident = session.get_one(Resident, "R9")
        assert resident.house_id == "H1" and resident.birth_year == 1990
        assert resident.name_enc is not None and "李四".encode() not in resident.name_enc
        assert session.get_one(RegistrationDraft, draft_id).status == "completed"
    (entry,) = _audit(keyed_node, "registry.draft_complete")
    assert entry["resident_id"] == "R9" and entry["house_id"] == "H1"
    house = client.get("/archives/houses/H1").text
    assert 'data-resident="R9"' in house and 'data-change="registered"' in house
    again = client.post(f"/registration-drafts/{draft_id}/dismiss", data={"reason": "x"})
    assert again.status_code == 409


def test_an_officer_dismisses_a_draft_with_a_reason(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    draft_id = _draft(client, keyed_node)
    bare = client.post(f"/registration-drafts/{draft_id}/dismiss", data={"reason": "  "})
    assert bare.status_code == 400 and 'data-field="reason"' in bare.text
    done = client.post(f"/registration-drafts/{draft_id}/dismiss", data={"reason": "访客，已离开"})
    assert done.status_code == 303
    with keyed_node.db.session() as session:
        assert session.get_one(RegistrationDraft, draft_id).status == "dismissed"
    (entry,) = _audit(keyed_node, "registry.draft_dismiss")
    assert entry["reason"] == "访客，已离开"
    assert 'data-draft="' not in client.get("/archives/communities/C1").text


def test_drafts_are_refused_without_permission_or_scope(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    draft_id = _draft(client, keyed_node)
    sign_in(client, "grid", PASSWORD)  # a grid worker may not change master data
    assert client.get(f"/registration-drafts/{draft_id}").status_code == 403
    assert client.post(f"/registration-drafts/{draft_id}/complete", data=VALID).status_code == 403
    sign_in(client, "outsider", PASSWORD)  # another station's officer: not theirs
    assert client.get(f"/registration-drafts/{draft_id}").status_code == 404
    refused = client.post(f"/registration-drafts/{draft_id}/dismiss", data={"reason": "x"})
    assert refused.status_code == 404
    with keyed_node.db.session() as session:
        assert session.get_one(RegistrationDraft, draft_id).status == "open"
