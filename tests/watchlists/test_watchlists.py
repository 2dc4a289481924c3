"""Watchlist entries: legal basis, expiry, bulk import and withdrawal with per-row errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from pydantic import ValidationError

from tests.alerts.factories import Users
from zhian.errors import BadRequestError, ConflictError
from zhian.governance.masking import mask_plate
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.sim import build_district
from zhian.sim.layout import J_COMMUNITY
from zhian.watchlists.demo import seed_demo_watchlist
from zhian.watchlists.importer import import_file, withdraw_file
from zhian.watchlists.schemas import WatchlistEntryCreate


def _entry(expires: datetime, **changes: object) -> WatchlistEntryCreate:
    fields: dict[str, object] = {
        "target": "plate",
        "plate": "浙A12345",
        "label": "被盗车辆",
        "legal_basis_kind": "stolen_vehicle",
        "legal_basis_ref": "BD-2026-001",
        "jurisdiction_id": "J-STN",
        "expires_at": expires,
    }
    fields.update(changes)
    return WatchlistEntryCreate.model_validate(fields)


def test_an_entry_states_its_legal_basis_target_and_a_future_expiry(
    node: Node, users: Users, clock: ManualClock
) -> None:
    later = clock.now() + timedelta(days=1)
    with pytest.raises(ValidationError, match="legal_basis_kind"):
        _entry(later, legal_basis_kind="suspicion")
    with pytest.raises(ValidationError, match="plate"):
        _entry(later, plate="浙A<123>")  # a symbol: no plate of any country
    with pytest.raises(ValidationError, match="subject_ref"):
        _entry(later, target="person", plate=None)
    with pytest.raises(BadRequestError) as past, node.watchlists() as watchlists:
        watchlists.add(_entry(clock.now() - timedelta(seconds=1)), user_id=users.officer)
    assert past.value.field == "expires_at"
    with node.watchlists() as watchlists:
        entry = watchlists.add(_entry(later, plate="浙a 12345"), user_id=users.officer)
    # Read back masked (the entry holds the plate only as token and sealed copy); the
    # matcher opens it, normalised.
    assert entry.plate == "浙A***45" and entry.owner_user_id == users.officer
    with node.watchlists() as watchlists:
        matcher = watchlists.matcher(plate_tolerance=0, face_threshold=0.9)
    assert [m.item.entry_id for m in matcher.match_plate("浙A12345", clock.now())] == [entry.id]
    # A foreign plate is kept by the same plate rule as the intake's (kind `other`), and a
    # passage read the way cameras write it matches it.
    with node.watchlists() as watchlists:
        foreign = watchlists.add(_entry(later, plate="ab-123 cd"), user_id=users.officer)
        matcher = watchlists.matcher(plate_tolerance=0, face_threshold=0.9)
    assert [m.item.entry_id for m in matcher.match_plate("AB123CD", clock.now())] == [foreign.id]
    clock.advance(timedelta(days=1, seconds=1))
    with node.watchlists() as watchlists:
        assert watchlists.list_entries() == []  # expired
        assert len(watchlists.list_entries(active_only=False)) == 2


def test_withdrawal_needs_a_reason_and_happens_once(
    node: Node, users: Users, clock: ManualClock
) -> None:
    with node.watchlists() as watchlists:
        entry = watchlists.add(_entry(clock.now() + timedelta(days=1)), user_id=users.officer)
        with pytest.raises(BadRequestError) as no_reason:
            watchlists.withdraw(entry.id, user_id=users.officer, reason=" ")
        assert no_reason.value.field == "reason"
        done = watchlists.withdraw(entry.id, user_id=users.officer, reason="车辆已找回")
        assert done.withdrawn_at is not None and watchlists.list_entries() == []
        with pytest.raises(ConflictError):
            watchlists.withdraw(entry.id, user_id=users.officer, reason="again")


def test_bulk_import_from_csv_and_excel_reports_each_bad_row(
    node: Node, users: Users, tmp_path: Path
) -> None:
    header = (
        "target,label,plate,subject_ref,legal_basis_kind,legal_basis_ref,"
        "jurisdiction_id,expires_at\n"
    )
    csv_path = tmp_path / "watchlist.csv"
    csv_path.write_text(
        header
        + "plate,被盗车辆,浙A11111,,stolen_vehicle,BD-1,J-STN,2027-01-01T00:00:00+08:00\n"
        + "person,失踪老人,,R000123,missing_person,SZ-7,J-STN,2027-01-01T00:00:00+08:00\n"
        + "plate,无依据,浙A22222,,rumour,XX-1,J-STN,2027-01-01T00:00:00+08:00\n"
        + "plate,过期,浙A33333,,warrant,W-9,J-STN,2020-01-01T00:00:00+08:00\n"
        + "plate,无时区,浙A44444,,warrant,W-10,J-STN,2027-01-01T00:00:00\n",
        encoding="utf-8",
    )
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header.strip().split(","))
    sheet.append(
        [
            "plate",
            "被盗车辆",
            "浙A55555",
            None,
            "stolen_vehicle",
            "BD-5",
            "J-STN",
            "2027-01-01T00:00:00+08:00",
        ]
    )
    xlsx_path = tmp_path / "watchlist.xlsx"
    book.save(xlsx_path)
    with node.watchlists() as watchlists:
        report = import_file(watchlists, csv_path, user_id=users.officer)
        excel = import_file(watchlists, xlsx_path, user_id=users.officer)
    assert (report.accepted, report.rejected) == (2, 3)
    assert [(e.row, e.field) for e in report.errors] == [
        (4, "legal_basis_kind"),
        (5, "expires_at"),
        (6, "expires_at"),
    ]
    assert excel.accepted == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("target,label,colour\n", encoding="utf-8")
    with pytest.raises(BadRequestError, match="unknown column 'colour'"), node.watchlists() as w:
        import_file(w, bad, user_id=users.officer)


def test_bulk_withdrawal_by_id_or_plate(
    node: Node, users: Users, tmp_path: Path, clock: ManualClock
) -> None:
    with node.watchlists() as watchlists:
        a = watchlists.add(
            _entry(clock.now() + timedelta(days=9), plate="浙A11111"), user_id=users.officer
        )
        watchlists.add(
            _entry(clock.now() + timedelta(days=9), plate="浙A22222"), user_id=users.officer
        )
    path = tmp_path / "withdraw.csv"
    path.write_text(
        f"id,plate,reason\n{a.id},,案件已结\n,浙A22222,车辆已找回\n,浙A99999,不存在\n,浙A22222,\n",
        encoding="utf-8",
    )
    with node.watchlists() as watchlists:
        report = withdraw_file(watchlists, path, user_id=users.officer)
        assert watchlists.list_entries() == []
    assert report.accepted == 2
    assert [(e.row, e.field) for e in report.errors] == [(4, "plate"), (5, "reason")]


def test_demo_watchlist_plates_pass_the_district_gates(node: Node, users: Users) -> None:
    district = build_district(seed=7, scale=0.2)
    community = J_COMMUNITY[0]
    ids = seed_demo_watchlist(node, district, user_id=users.command, jurisdiction_id=community)
    # Here the entries only need to be valid, and their subjects live in the jurisdiction.
    with node.watchlists() as watchlists:
        entries = [e for e in watchlists.list_entries() if e.id in ids]
    sites = {
        k
        for k, site in enumerate(district.sites)
        if any(
            row["id"] == site.community_id and row["jurisdiction_id"] == community
            for row in district.tables["communities"]
        )
    }
    local_plates = {car.plate for car in district.cars if car.site in sites}
    # Entries read back masked (issue #12): compare with the masks of the local plates.
    plates = {e.plate for e in entries if e.plate is not None}
    assert len(plates) == 3 and plates <= {mask_plate(plate) for plate in local_plates}
    assert {e.jurisdiction_id for e in entries} == {community}
    assert len(entries) == 4  # and one missing person
    # Labels never carry a plate, clear or masked.
    assert not any(plate in e.label for e in entries for plate in local_plates | plates)
