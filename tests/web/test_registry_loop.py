"""Closing the registry loop (一标三实): confirming a housing model's finding (closing its
alert as resolved) changes the registry, audited and shown in the house's history; a
false alarm changes nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.web.session import sign_in
from tests.web.test_resident_reveal import (  # noqa: F401 (fixture)
    NAME,
    PASSWORD,
    ZHANG_ID,
    keyed_node,
)
from zhian.alerts.drafts import AlertDraft
from zhian.cli.main import app
from zhian.node import Node
from zhian.registry.models import House, RegistrationDraft, Resident
from zhian.registry.service import RegistryService
from zhian.web.app import create_app


@pytest.fixture
def client(keyed_node: Node) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(keyed_node), follow_redirects=False) as test_client:
        yield test_client


# Real tokens are lower-case base32, so this one cannot appear in an export by chance
# (a bare "tok_x" did: one real token in 32 begins with it).
UNREGISTERED_CARD_TOKEN = "tok_UNREGISTERED-CARD"
UNREGISTERED_CARD = f"card:{UNREGISTERED_CARD_TOKEN}"


def _raise(node: Node, rule: str, subject: str, place_id: str) -> int:
    at = node.clock.now()
    draft = AlertDraft(
        rule=rule,
        kind=rule.removeprefix("model."),
        tier="general",
        subject=subject,
        place_id=place_id,
        observed_at=at,
        explanation_zh="模型发现",
        explanation_en="a model's finding",
        community_id="C1",
        place_name="1幢1单元301",
    )
    with node.alerts() as alerts:
        (alert_id,) = alerts.raise_drafts([draft])
    return alert_id


def _confirm(client: TestClient, alert_id: int, outcome: str = "resolved") -> None:
    for action, body in (
        ("sign", {}),
        ("dispatch", {}),
        ("arrive", {}),
        ("handle", {"feedback": "上门核实属实"}),
        ("close", {"outcome": outcome}),
    ):
        answer = client.post(f"/api/v1/alerts/{alert_id}/{action}", json=body)
        assert answer.status_code == 200, (action, answer.text)


def _use_of(node: Node, house_id: str) -> str:
    with node.db.session() as session:
        return session.get_one(House, house_id).registered_use


def test_a_confirmed_vacant_house_becomes_idle_in_its_history_and_audited(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    assert _use_of(keyed_node, "H1") == "rented"
    alert_id = _raise(keyed_node, "model.vacant_house", "H1", "H1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    assert _use_of(keyed_node, "H1") == "idle"
    page = client.get("/archives/houses/H1").text
    assert 'id="arc-use">空置' in page
    assert 'data-change="registered_use"' in page and f'href="/alerts/{alert_id}?lang=zh"' in page
    with keyed_node.db.session() as session:
        (entry,) = keyed_node.governance.audit(session).search(action="registry.update")
    assert entry.record_ids == ["H1"] and entry.details["alert_id"] == alert_id


def test_a_false_alarm_changes_nothing(client: TestClient, keyed_node: Node) -> None:  # noqa: F811
    alert_id = _raise(keyed_node, "model.group_rental", "H1", "H1")
    sign_in(client, "station", PASSWORD)
    assert client.post(f"/api/v1/alerts/{alert_id}/sign", json={}).status_code == 200
    closed = client.post(f"/api/v1/alerts/{alert_id}/close", json={"outcome": "false_alarm"})
    assert closed.status_code == 200
    assert _use_of(keyed_node, "H1") == "rented"
    assert 'data-change="' not in client.get("/archives/houses/H1").text


def test_a_confirmed_move_out_ends_the_residence(client: TestClient, keyed_node: Node) -> None:  # noqa: F811
    alert_id = _raise(keyed_node, "model.moved_out", "R1", "H1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    with keyed_node.db.session() as session:
        moved_out_at = session.get_one(Resident, "R1").moved_out_at
        modelled = RegistryService(session).snapshot().residents
    assert isinstance(moved_out_at, datetime)
    assert "R1" not in {r.id for r in modelled}  # the models no longer count them there
    page = client.get("/archives/houses/H1").text
    assert 'data-former="R1"' in page and 'data-resident="R1"' not in page
    assert 'data-change="moved_out"' in page


def test_a_confirmed_unregistered_resident_becomes_a_registration_draft(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    alert_id = _raise(keyed_node, "model.unregistered_resident", UNREGISTERED_CARD, "C1-B1-U1")
    sign_in(client, "station", PASSWORD)
    _confirm(client, alert_id)
    with keyed_node.db.session() as session:
        drafts = session.query(RegistrationDraft).all()
        assert [(d.place_id, d.alert_id, d.status) for d in drafts] == [
            ("C1-B1-U1", alert_id, "open")
        ]
    page = client.get("/archives/communities/C1").text
    assert 'id="arc-drafts"' in page and f'href="/alerts/{alert_id}?lang=zh"' in page
    assert UNREGISTERED_CARD_TOKEN not in page


def _export(client: TestClient, kind: str, file_format: str = "csv") -> list[list[str]]:
    answer = client.post(
        "/archives/communities/C1/export", data={"kind": kind, "format": file_format}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    if file_format == "xlsx":
        sheet = load_workbook(io.BytesIO(answer.content)).active
        assert sheet is not None
        return [[str(c or "") for c in row] for row in sheet.iter_rows(values_only=True)]
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_the_registry_list_exported_upward_reflects_the_loop(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
) -> None:
    with keyed_node.db.session() as session:  # a house number a spreadsheet would run
        session.add(
            House(id="H2", unit_id="C1-B1-U1", number="=1+2", area_m2=50, registered_use="idle")
        )
    moved = _raise(keyed_node, "model.moved_out", "R1", "H1")
    vacant = _raise(keyed_node, "model.vacant_house", "H1", "H1")
    unregistered = _raise(keyed_node, "model.unregistered_resident", UNREGISTERED_CARD, "C1-B1-U1")
    sign_in(client, "station", PASSWORD)
    for alert_id in (moved, vacant, unregistered):
        _confirm(client, alert_id)
    assert 'id="arc-export-csv"' in client.get("/archives/communities/C1").text

    header, *residents = _export(client, "residents")
    assert header[:3] == ["resident_id", "house_id", "name_masked"]
    (r1,) = [row for row in residents if row[0] == "R1"]
    record = dict(zip(header, r1, strict=True))
    assert record["name_masked"] == "张**" and record["moved_out_at"]
    assert record["id_number_token"] and record["id_number_masked"].count("*") >= 8
    exported = "".join(",".join(row) for row in residents)
    assert (
        NAME not in exported
        and ZHANG_ID not in exported
        and UNREGISTERED_CARD_TOKEN not in exported
    )

    header, *houses = _export(client, "houses", "xlsx")
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in houses}
    assert by_id["H1"]["registered_use"] == "idle" and by_id["H1"]["residents_now"] == "0"
    assert by_id["H1"]["last_change"] == "registered_use"
    assert by_id["H2"]["number"] == "'=1+2"  # shown as text, never run
    header, *drafts = _export(client, "drafts")
    assert [row[2] for row in drafts] == [str(unregistered)]

    with keyed_node.db.session() as session:
        entries = keyed_node.governance.audit(session).search(action="registry.export")
    kinds = sorted((e.details or {})["kind"] for e in entries)
    assert kinds == ["drafts", "houses", "residents"]
    (residents_entry,) = [e for e in entries if (e.details or {})["kind"] == "residents"]
    assert residents_entry.record_ids == ["C1"] and "R1" in residents_entry.details["residents"]


def test_the_registry_export_is_refused_without_permission_scope_or_a_valid_kind(
    client: TestClient,
) -> None:
    sign_in(client, "grid", PASSWORD)  # a grid worker may view, not export
    assert 'id="arc-export' not in client.get("/archives/communities/C1").text
    refused = client.post("/archives/communities/C1/export", data={"kind": "houses"})
    assert refused.status_code == 403
    sign_in(client, "outsider", PASSWORD)  # another station: the community is not theirs
    hidden = client.post("/archives/communities/C1/export", data={"kind": "houses"})
    assert hidden.status_code == 404
    sign_in(client, "station", PASSWORD)
    bad = client.post("/archives/communities/C1/export", data={"kind": "people"})
    assert bad.status_code == 400 and "kind" in bad.text
    bad = client.post("/archives/communities/C1/export", data={"kind": "houses", "format": "pdf"})
    assert bad.status_code == 400 and "format" in bad.text


def test_the_command_line_writes_the_same_file_as_the_page(
    client: TestClient,
    keyed_node: Node,  # noqa: F811
    workspace: Path,
    tmp_path: Path,
) -> None:
    """`zhian registry export` (the CLI) gives the page's file byte for byte, residents
    masked, audited as the user with `via: cli`; it refuses what the page refuses."""
    sign_in(client, "station", PASSWORD)
    runner = CliRunner()
    for kind, file_format in (("residents", "csv"), ("houses", "csv"), ("vehicles", "csv")):
        web = client.post("/archives/communities/C1/export",
                          data={"kind": kind, "format": file_format})  # fmt: skip
        assert web.status_code == 200, web.text
        out = tmp_path / f"cli-{kind}.{file_format}"
        result = runner.invoke(app, ["registry", "export", "C1", "--kind", kind, "--format",
                                     file_format, "--user", "station", "-w", str(workspace),
                                     "-o", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == web.content, kind
    assert NAME not in (tmp_path / "cli-residents.csv").read_text(encoding="utf-8-sig")
    folder = tmp_path / "upward"
    folder.mkdir()
    into = runner.invoke(app, ["registry", "export", "C1", "--kind", "houses", "--format",
                               "xlsx", "--user", "station", "-w", str(workspace), "-o",
                               str(folder)])  # fmt: skip
    assert into.exit_code == 0, into.output
    [xlsx] = folder.glob("registry-C1-houses-*.xlsx")
    assert load_workbook(xlsx).active is not None
    with keyed_node.db.session() as session:
        entries = keyed_node.governance.audit(session).search(action="registry.export")
    via_cli = [e for e in entries if (e.details or {}).get("via") == "cli"]
    assert len(entries) == 7 and len(via_cli) == 4
    (residents_entry,) = [e for e in via_cli if (e.details or {})["kind"] == "residents"]
    assert "R1" in residents_entry.details["residents"]
    for args, field in (
        (["C1", "--kind", "people", "--user", "station"], "kind"),
        (["C1", "--format", "pdf", "--user", "station"], "format"),
        (["C1", "--user", "outsider"], "community_id"),  # another station's community
        (["C1", "--user", "grid"], "registry.export"),  # may view, not export
    ):
        refused = runner.invoke(app, ["registry", "export", *args, "-w", str(workspace),
                                      "-o", str(tmp_path / "refused.csv")])  # fmt: skip
        assert refused.exit_code == 2 and field in refused.output, (args, refused.output)
    assert not (tmp_path / "refused.csv").exists()
