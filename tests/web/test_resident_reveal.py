"""The resident page: identity masked by default; a reveal needs `personal_data.reveal` and a
purpose and is audited; refusals are audited too; another jurisdiction's resident is 404."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.governance.factories import ZHANG_ID
from tests.ingest.factories import load_master_data
from tests.web.session import sign_in
from zhian.access.service import AccessService
from zhian.audit.service import AuditEntryRead
from zhian.config import load_settings
from zhian.governance.keys import generate_keyring, key_file_path, write_keyring
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

from .conftest import FAST_HASHER, PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NAME, PHONE = "张三丰", "13812345678"
USERS = {
    "station": ("station_officer", "J-STATION"),
    "grid": ("grid_worker", "J-STATION"),
    "outsider": ("station_officer", "J-OTHER"),
}
OTHER_STATION = {"id": "J-OTHER", "parent_id": "J-CITY", "level": "station", "name": "南站"}
HOUSES = [
    {"id": "H1", "unit_id": "C1-B1-U1", "number": "301", "area_m2": 90, "registered_use": "rented"}
]
RESIDENTS = [
    {
        "id": "R1",
        "house_id": "H1",
        "birth_year": 1985,
        "is_floating": True,
        "name": NAME,
        "id_number": ZHANG_ID,
        "phone": PHONE,
    }
]


@pytest.fixture
def keyed_node(workspace: Path, clock: ManualClock) -> Iterator[Node]:
    """A node with a key ring on disk and resident R1 imported with identity columns."""
    settings = load_settings(workspace, web={"secret_key": "r" * 40})
    write_keyring(key_file_path(settings.governance, workspace), generate_keyring())
    with Node.open(settings, clock, feed=False) as opened:
        load_master_data(opened, now=clock.now())
        with opened.db.session() as session:
            registry = RegistryService(
                session, clock=clock, identity=opened.governance.require_sealer()
            )
            for entity, rows in (
                ("jurisdictions", [OTHER_STATION]),
                ("houses", HOUSES),
                ("residents", RESIDENTS),
            ):
                report = registry.load_rows(entity, rows)
                assert report.rejected == 0, report.errors
            access = AccessService(session, password_hasher=FAST_HASHER)
            for username, (role, jurisdiction) in USERS.items():
                access.create_user(
                    username, PASSWORD, role=role, jurisdiction_id=jurisdiction, now=clock.now()
                )
        opened.refresh_directory()
        yield opened


@pytest.fixture
def client(keyed_node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(keyed_node), follow_redirects=False) as test_client:
        yield test_client


def audit_entries(node: Node, action: str) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(action=action, record_id="R1")


def reveal(client: TestClient, field: str, **purpose: str) -> tuple[str, int, str]:
    page = client.get("/residents/R1")
    token = CSRF.search(page.text)
    csrf = token.group(1) if token else client.headers["X-CSRF-Token"]
    response = client.post(
        "/residents/R1/reveal", data={"csrf_token": csrf, "field": field, **purpose}
    )
    return page.text, response.status_code, response.text


def assert_no_clear_identity(text: str) -> None:
    assert NAME not in text and ZHANG_ID not in text and PHONE not in text


def test_page_shows_place_and_masked_identity_only(client: TestClient, keyed_node: Node) -> None:
    sign_in(client, "station", PASSWORD)
    page = client.get("/residents/R1")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "实有人口" in page.text and "Garden Estate" in page.text
    assert "Building 1" in page.text and "Unit 1" in page.text and "301" in page.text
    assert 'id="res-birth-year">1985<' in page.text and 'data-floating="yes"' in page.text
    assert "张**" in page.text
    assert f"{ZHANG_ID[:4]}{'*' * 10}{ZHANG_ID[-4:]}" in page.text
    assert "138****5678" in page.text
    assert_no_clear_identity(page.text)
    assert page.text.count('class="inline reveal-form"') == 3
    viewed = audit_entries(keyed_node, "resident.view")
    assert len(viewed) == 1 and viewed[0].record_ids == ["R1"]

    english = client.get("/residents/R1?lang=en")
    assert "Identity (masked)" in english.text and "Birth year" in english.text
    assert_no_clear_identity(english.text)


def test_allowed_reveal_shows_the_value_once_and_audits_it(
    client: TestClient, keyed_node: Node
) -> None:
    sign_in(client, "station", PASSWORD)
    before, status, text = reveal(client, "phone", case_number="A2026-0042", reason="witness")
    assert_no_clear_identity(before)
    assert status == 200, text
    assert f'id="res-clear-value">{PHONE}<' in text
    assert NAME not in text and ZHANG_ID not in text  # only the field asked for
    entries = audit_entries(keyed_node, "resident.reveal")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.record_type == "resident" and entry.record_ids == ["R1"]
    assert entry.case_number == "A2026-0042" and entry.purpose == "witness"
    assert entry.details["field"] == "phone"
    assert PHONE not in str(entry.details)
    # Once: the page read again is masked.
    assert_no_clear_identity(client.get("/residents/R1").text)

    _before, status, text = reveal(client, "id_number", reason="出入核查")
    assert status == 200 and ZHANG_ID in text
    assert len(audit_entries(keyed_node, "resident.reveal")) == 2


def test_wrong_role_is_refused_403_and_the_refusal_audited(
    client: TestClient, keyed_node: Node
) -> None:
    sign_in(client, "grid", PASSWORD)
    page, status, text = reveal(client, "name", case_number="A2026-0042")
    assert "张**" in page and "reveal-form" not in page  # grid workers see masked values only
    assert status == 403
    assert 'data-identity-field="name"' in text and "personal_data.reveal" in text
    assert_no_clear_identity(text)
    assert audit_entries(keyed_node, "resident.reveal") == []
    refused = audit_entries(keyed_node, "resident.reveal.refused")
    assert len(refused) == 1
    assert refused[0].details["identity_field"] == "name"
    assert refused[0].details["field"] == "permission"
    assert refused[0].case_number == "A2026-0042"


def test_reveal_without_purpose_is_400_and_audited(client: TestClient, keyed_node: Node) -> None:
    sign_in(client, "station", PASSWORD)
    _page, status, text = reveal(client, "id_number", case_number="", reason=" ")
    assert status == 400
    assert 'data-field="purpose"' in text and 'data-identity-field="id_number"' in text
    assert_no_clear_identity(text)
    assert audit_entries(keyed_node, "resident.reveal") == []
    refused = audit_entries(keyed_node, "resident.reveal.refused")
    assert [entry.details["field"] for entry in refused] == ["purpose"]
    assert refused[0].details["identity_field"] == "id_number"

    _page, status, text = reveal(client, "address", reason="witness")
    assert status == 400 and 'data-field="field"' in text
    assert len(audit_entries(keyed_node, "resident.reveal.refused")) == 2


def test_another_jurisdiction_gets_404_for_page_and_reveal(
    client: TestClient, keyed_node: Node
) -> None:
    sign_in(client, "outsider", PASSWORD)
    page = client.get("/residents/R1")
    assert page.status_code == 404
    assert 'data-field="resident_id"' in page.text and "页面不存在" in page.text
    response = client.post(
        "/residents/R1/reveal", data={"field": "phone", "case_number": "A2026-0042"}
    )
    assert response.status_code == 404
    assert PHONE not in response.text
    assert audit_entries(keyed_node, "resident.reveal") == []
    assert client.get("/residents/NO-SUCH").status_code == 404
