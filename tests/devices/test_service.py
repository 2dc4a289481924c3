"""DeviceService: tokens, enabling, the directory and the device list."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.devices.models import Device, DeviceKind
from zhian.devices.schemas import DeviceEntry, hash_token
from zhian.devices.service import DeviceService
from zhian.errors import NotFoundError

from .conftest import DEVICE_COUNT

NOW = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def test_issued_token_authenticates_and_only_its_hash_is_stored(session: Session) -> None:
    service = DeviceService(session)
    token = service.issue_token("D001", now=NOW)
    device = session.get(Device, "D001")
    assert device is not None
    assert device.token_sha256 == hash_token(token) != token
    assert device.token_issued_at == NOW
    directory = service.directory()
    assert directory.authenticate(token) == "D001"
    assert directory.authenticate(token + "x") is None
    assert directory.authenticate("") is None


def test_rotation_retires_the_old_token(session: Session) -> None:
    service = DeviceService(session)
    old = service.issue_token("D001", now=NOW)
    new = service.issue_token("D001", now=NOW + timedelta(days=1))
    assert new != old
    directory = service.directory()
    assert directory.authenticate(old) is None
    assert directory.authenticate(new) == "D001"
    assert len(directory.by_token_sha256) == 1


def test_disabled_device_does_not_authenticate(session: Session) -> None:
    service = DeviceService(session)
    token = service.issue_token("D002", now=NOW)
    service.set_enabled("D002", False)
    directory = service.directory()
    assert directory.authenticate(token) is None
    assert directory.by_token_sha256[hash_token(token)] == "D002"  # "disabled", not "unknown"
    assert directory.devices["D002"].is_enabled is False
    service.set_enabled("D002", True)
    assert service.directory().authenticate(token) == "D002"


def test_unknown_devices_are_not_found(session: Session) -> None:
    service = DeviceService(session)
    with pytest.raises(NotFoundError, match="'D999'"):
        service.issue_token("D999", now=NOW)
    with pytest.raises(NotFoundError, match="'NOPE'"):
        service.issue_tokens(["D001", "NOPE"], now=NOW)
    assert service.directory().by_token_sha256 == {}  # all or none
    with pytest.raises(NotFoundError):
        service.set_enabled("D999", False)


def test_naive_time_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DeviceService(session).issue_token("D001", now=datetime(2024, 6, 1))


def test_bulk_issue_is_fast_and_complete(session: Session) -> None:
    service = DeviceService(session)
    ids = [f"D{number:03d}" for number in range(DEVICE_COUNT)]
    started = time.perf_counter()
    tokens = service.issue_tokens(ids, now=NOW)
    session.flush()
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0
    assert list(tokens) == ids
    assert len(set(tokens.values())) == DEVICE_COUNT
    directory = service.directory()
    assert all(directory.authenticate(token) == device_id for device_id, token in tokens.items())


def test_directory_is_an_immutable_snapshot(session: Session) -> None:
    service = DeviceService(session)
    directory = service.directory()
    assert directory.devices["D001"] == DeviceEntry(
        id="D001",
        kind=DeviceKind.DOOR,
        community_id="C01",
        zone_id=None,
        gateway_id="D000",
        is_enabled=True,
    )
    assert directory.devices["D003"].zone_id == "Z01"
    with pytest.raises(TypeError):
        directory.devices["X"] = directory.devices["D001"]  # type: ignore[index]
    service.set_enabled("D001", False)
    assert directory.devices["D001"].is_enabled is True  # the old snapshot is unchanged


def test_list_devices_hides_the_hash(session: Session) -> None:
    service = DeviceService(session)
    service.issue_token("D004", now=NOW)
    devices = service.list_devices(scope=JurisdictionScope.unscoped())
    assert len(devices) == DEVICE_COUNT
    assert [device.id for device in devices[:3]] == ["D000", "D001", "D002"]
    by_id = {device.id: device for device in devices}
    assert by_id["D004"].has_token and by_id["D004"].token_issued_at == NOW
    assert not by_id["D005"].has_token
    assert "token_sha256" not in by_id["D004"].model_dump()
    assert service.list_devices(community_id="C99", scope=JurisdictionScope.unscoped()) == []
