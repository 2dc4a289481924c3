"""DeviceService.register_rows: many devices at once, each refused row with its reason."""

from __future__ import annotations

from sqlalchemy.orm import Session

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.devices.service import DeviceService


def _row(device_id: str, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": device_id,
        "kind": "door",
        "name": f"门 {device_id}",
        "community_id": "C01",
        "latitude": 39.99,
        "longitude": 116.47,
    }
    row.update(fields)
    return row


def test_good_rows_are_registered_and_each_bad_row_is_named(session: Session) -> None:
    rows = [
        _row("N1"),
        _row("D001"),  # held by the fixture: never overwritten
        {"id": "", "kind": "", "name": "", "community_id": "", "latitude": "", "longitude": ""},
        _row("N2", kind="toaster"),
        _row("N3", latitude="north"),
        _row("N1"),  # twice in the file
        _row("N4", community_id="C99"),
        _row("N5", gateway_id="D000"),
    ]
    report = DeviceService(session).register_rows(rows, scope=JurisdictionScope.unscoped())
    assert report.registered == ["N1", "N5"]
    assert report.total == 7  # the blank row is skipped but keeps its number
    by_row = {(error.row, error.column): error.reason for error in report.errors}
    assert set(by_row) == {(3, "id"), (5, "kind"), (6, "latitude"), (7, "id"),
                           (8, "community_id")}  # fmt: skip
    assert "already registered" in by_row[(3, "id")]
    assert "duplicate id" in by_row[(7, "id")]
    assert report.rejected == 5
    service = DeviceService(session)
    unscoped = JurisdictionScope.unscoped()
    original = service.get_device("D001", scope=unscoped)
    assert original is not None and original.name == "设备1"
    registered = service.get_device("N5", scope=unscoped)
    assert registered is not None and registered.gateway_id == "D000"
    assert not registered.has_token  # registering issues no token
    assert service.get_device("N2", scope=unscoped) is None


def test_a_scoped_user_registers_only_in_their_communities(session: Session) -> None:
    scope = JurisdictionScope.build(
        role=Role.INTEGRATOR,
        jurisdiction_id="J-ELSEWHERE",
        parents={"J1": None, "J-ELSEWHERE": None},
        community_jurisdiction={"C01": "J1"},
    )
    report = DeviceService(session).register_rows(
        [_row("N1"), _row("N2", community_id="")], scope=scope
    )
    assert report.registered == []
    reasons = {error.row: (error.column, error.reason) for error in report.errors}
    assert reasons[2] == ("community_id", "community 'C01' is not in your jurisdiction")
    assert reasons[3][0] == "community_id" and "required" in reasons[3][1]
