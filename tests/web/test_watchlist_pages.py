"""The watchlist page (布控): the list of the user's jurisdiction, adding and withdrawing
one entry, bulk import and withdrawal from CSV and Excel with the per-row report; every
read and change audited, every refusal naming its field."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.kit.workbooks import dtd_workbook, inflating_workbook
from tests.web.conftest import log_in
from zhian.audit.service import AuditEntryRead
from zhian.governance.masking import mask_plate
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.watchlists.importer import read_rows
from zhian.web import watchlist_views

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def audit_entries(node: Node, action: str) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(action=action)


def form(clock: ManualClock, **changes: str) -> dict[str, str]:
    expires = (clock.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    fields = {
        "target": "plate",
        "label": "被盗车辆",
        "plate": "浙A12345",
        "legal_basis_kind": "stolen_vehicle",
        "legal_basis_ref": "BD-2026-001",
        "jurisdiction_id": "J-STATION",
        "expires_at": expires,
        "tier": "major",
    }
    fields.update(changes)
    return fields


def post(client: TestClient, url: str, data: dict[str, str], **kwargs: Any) -> Any:
    token = client.headers["X-CSRF-Token"]
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def upload(client: TestClient, url: str, name: str, content: bytes) -> Any:
    return client.post(
        url,
        data={"csrf_token": client.headers["X-CSRF-Token"]},
        files={"file": (name, content, "application/octet-stream")},
    )


def entry_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'data-entry-id="(\d+)"', html)]


def test_an_officer_adds_an_entry_sees_it_and_withdraws_it_with_a_reason(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "station")
    added = post(client, "/watchlists", form(clock))
    assert added.status_code == 303, added.text
    page = client.get(added.headers["location"])
    assert page.status_code == 200
    # The entry's plate is shown masked: it is held sealed (issue #12).
    assert 'id="wl-notice"' in page.text and "浙A***45" in page.text
    assert "浙A12345" not in page.text
    [entry_id] = entry_ids(page.text)
    created = audit_entries(node, "watchlist.create")
    assert [e.record_ids for e in created] == [[str(entry_id)]]
    assert created[0].case_number == "BD-2026-001"
    listed = audit_entries(node, "watchlist.list")
    assert listed and listed[0].record_ids == [str(entry_id)]
    # The entry is the rule's from now on: the matcher holds the plate.
    with node.watchlists() as watchlists:
        matcher = watchlists.matcher(plate_tolerance=0, face_threshold=0.9)
    assert [m.item.entry_id for m in matcher.match_plate("浙A12345", clock.now())] == [entry_id]

    no_reason = post(client, f"/watchlists/{entry_id}/withdraw", {"reason": " "})
    assert no_reason.status_code == 400 and 'data-field="reason"' in no_reason.text
    withdrawn = post(client, f"/watchlists/{entry_id}/withdraw", {"reason": "车辆已找回"})
    assert withdrawn.status_code == 303
    assert entry_ids(client.get("/watchlists").text) == []
    history = client.get("/watchlists", params={"all": "1"})
    assert entry_ids(history.text) == [entry_id] and "车辆已找回" in history.text
    [audited] = audit_entries(node, "watchlist.withdraw")
    assert audited.record_ids == [str(entry_id)] and audited.details == {"reason": "车辆已找回"}
    again = post(client, f"/watchlists/{entry_id}/withdraw", {"reason": "again"})
    assert again.status_code == 409 and 'data-field="entry_id"' in again.text


def test_an_entry_without_basis_expiry_or_in_another_jurisdiction_is_refused(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "station")
    cases = {
        "legal_basis_ref": form(clock, legal_basis_ref=""),
        "legal_basis_kind": form(clock, legal_basis_kind="suspicion"),
        "expires_at": form(clock, expires_at=""),
        "jurisdiction_id": form(clock, jurisdiction_id="J-OTHER"),
        "plate": form(clock, plate="浙A<123>"),  # a symbol: no plate of any country
    }
    for field, data in cases.items():
        answer = post(client, "/watchlists", data)
        assert answer.status_code == 400, (field, answer.text)
        assert f'data-field="{field}"' in answer.text, field
    past = post(client, "/watchlists", form(clock, expires_at="2020-01-01T00:00"))
    assert past.status_code == 400 and 'data-field="expires_at"' in past.text
    with node.watchlists() as watchlists:
        assert watchlists.list_entries(active_only=False) == []
    assert audit_entries(node, "watchlist.create") == []


def test_jurisdictions_see_and_withdraw_only_their_own_entries(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "station")
    assert post(client, "/watchlists", form(clock)).status_code == 303
    [entry_id] = entry_ids(client.get("/watchlists").text)

    log_in(client, "outsider")  # a station officer of the neighbouring station
    assert entry_ids(client.get("/watchlists").text) == []
    refused = post(client, f"/watchlists/{entry_id}/withdraw", {"reason": "not mine"})
    assert refused.status_code == 404 and 'data-field="entry_id"' in refused.text

    log_in(client, "command")  # the city above both stations sees it
    assert entry_ids(client.get("/watchlists").text) == [entry_id]


def test_viewers_read_without_forms_and_other_roles_are_refused(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "analyst")
    page = client.get("/watchlists")
    assert page.status_code == 200 and 'id="wl-add-form"' not in page.text
    assert post(client, "/watchlists", form(clock)).status_code == 403
    log_in(client, "grid")
    assert client.get("/watchlists").status_code == 403
    log_in(client, "station")
    no_token = client.post("/watchlists", data=form(clock), headers={"X-CSRF-Token": ""})
    assert no_token.status_code == 403


def test_bulk_import_and_withdrawal_report_each_refused_row(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    log_in(client, "station")
    expires = (clock.now() + timedelta(days=10)).isoformat()
    csv_text = (
        "target,label,plate,legal_basis_kind,legal_basis_ref,jurisdiction_id,expires_at\n"
        f"plate,车一,浙A11111,stolen_vehicle,BD-1,J-STATION,{expires}\n"
        f"plate,车二,b@d,stolen_vehicle,BD-2,J-STATION,{expires}\n"
        f"plate,车三,浙A33333,stolen_vehicle,BD-3,J-OTHER,{expires}\n"
        f"plate,车四,浙A44444,stolen_vehicle,BD-4,J-STATION,{expires}\n"
    )
    imported = upload(client, "/watchlists/import", "布控.csv", csv_text.encode())
    assert imported.status_code == 200, imported.text
    assert 'data-accepted="2" data-rejected="2"' in imported.text
    assert 'data-row="3" data-column="plate"' in imported.text
    assert 'data-row="4" data-column="jurisdiction_id"' in imported.text
    assert len(entry_ids(imported.text)) == 2
    [audited] = audit_entries(node, "watchlist.import")
    assert len(audited.record_ids) == 2
    assert audited.details == {"file": "布控.csv", "accepted": 2, "rejected": 2}

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["plate", "reason"])
    sheet.append(["浙A11111", "已找回"])
    sheet.append(["浙A99999", "无此车"])
    sheet.append(["浙A44444", None])
    buffer = io.BytesIO()
    book.save(buffer)
    withdrawn = upload(client, "/watchlists/withdrawals", "撤控.xlsx", buffer.getvalue())
    assert withdrawn.status_code == 200, withdrawn.text
    assert 'data-accepted="1" data-rejected="2"' in withdrawn.text
    assert 'data-row="3" data-column="plate"' in withdrawn.text
    assert 'data-row="4" data-column="reason"' in withdrawn.text
    [audited] = audit_entries(node, "watchlist.bulk_withdraw")
    assert audited.details == {"file": "撤控.xlsx", "accepted": 1, "rejected": 2}
    with node.watchlists() as watchlists:
        assert [e.plate for e in watchlists.list_entries()] == [mask_plate("浙A44444")]


def test_a_bulk_file_of_the_wrong_kind_or_columns_is_refused_whole(
    client: TestClient, node: Node
) -> None:
    log_in(client, "station")
    wrong_kind = upload(client, "/watchlists/import", "list.txt", b"plate\n")
    assert wrong_kind.status_code == 400 and 'data-field="file"' in wrong_kind.text
    unknown = upload(client, "/watchlists/import", "list.csv", b"plate,colour\n")
    assert unknown.status_code == 400 and 'data-field="colour"' in unknown.text
    assert "list.csv" in unknown.text and "zhian-watchlist-" not in unknown.text
    assert audit_entries(node, "watchlist.import") == []


def test_a_bulk_file_in_another_encoding_is_refused_naming_the_encoding(
    client: TestClient, node: Node
) -> None:
    # Excel's "Unicode text" is UTF-16: neither UTF-8 nor GB18030 (it was a 500 before).
    utf16 = "plate,legal_basis_kind,legal_basis_ref\n浙A11111,stolen_vehicle,X-1\n"
    log_in(client, "station")
    for url in ("/watchlists/import", "/watchlists/withdrawals"):
        answer = upload(client, url, "名单.csv", utf16.encode("utf-16"))
        assert answer.status_code == 400, answer.text
        assert 'data-field="encoding"' in answer.text
        assert "名单.csv: the text is neither UTF-8 nor GB18030/GBK" in answer.text
        assert "zhian-watchlist-" not in answer.text
    assert audit_entries(node, "watchlist.import") == []
    assert audit_entries(node, "watchlist.bulk_withdraw") == []


def test_a_workbook_bomb_or_dtd_upload_is_refused_naming_the_limit(
    client: TestClient, node: Node, tmp_path: Path
) -> None:
    log_in(client, "station")
    bomb = inflating_workbook(tmp_path / "bomb.xlsx", inflated_mib=300).read_bytes()
    answer = upload(client, "/watchlists/import", "炸弹.xlsx", bomb)
    assert answer.status_code == 400 and 'data-field="size"' in answer.text
    assert "炸弹.xlsx: the workbook inflates to 300 MiB, over the limit of 64 MiB" in answer.text
    dtd = dtd_workbook(tmp_path / "dtd.xlsx").read_bytes()
    answer = upload(client, "/watchlists/withdrawals", "dtd.xlsx", dtd)
    assert answer.status_code == 400 and 'data-field="dtd"' in answer.text
    assert "declares a DTD or entities" in answer.text and "Traceback" not in answer.text
    assert audit_entries(node, "watchlist.import") == []
    assert audit_entries(node, "watchlist.bulk_withdraw") == []


def test_a_bulk_file_is_read_off_the_event_loop(
    client: TestClient, node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Parsing a workbook on the loop held up every request for seconds (issue 12).
    loops: list[bool] = []

    def read_rows_in_a_thread(path: Path, columns: tuple[str, ...]) -> Any:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        return read_rows(path, columns)

    monkeypatch.setattr(watchlist_views, "read_rows", read_rows_in_a_thread)
    log_in(client, "station")
    answer = upload(client, "/watchlists/withdrawals", "撤控.csv", b"plate,reason\n")
    assert answer.status_code == 200, answer.text
    assert loops == [False]


@pytest.mark.parametrize(
    ("label", "said"),
    [
        ("被盗车辆 浙A08472", "浙A***72"),
        ("车主电话 138 1234 5678", "138****5678"),
        ("嫌疑人 330102199001011234", "3301**********1234"),
    ],
)
def test_a_label_or_reason_carrying_an_identifier_is_refused_naming_the_field(
    client: TestClient, node: Node, clock: ManualClock, label: str, said: str
) -> None:
    log_in(client, "station")
    refused = post(client, "/watchlists", form(clock, label=label))
    assert refused.status_code == 400 and 'data-field="label"' in refused.text
    assert "不得包含车牌号、身份证号或手机号原文" in refused.text and said in refused.text
    assert entry_ids(client.get("/watchlists").text) == []  # nothing stored
    added = post(client, "/watchlists", form(clock))
    [entry_id] = entry_ids(client.get(added.headers["location"]).text)
    bad_reason = post(client, f"/watchlists/{entry_id}/withdraw", {"reason": f"已找回 {label}"})
    assert bad_reason.status_code == 400 and 'data-field="reason"' in bad_reason.text
    assert entry_ids(client.get("/watchlists").text) == [entry_id]  # still active
