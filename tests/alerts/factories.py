"""A small place tree, devices and users for alert and rule tests, loaded through services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher

from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.drafts import AlertDraft, EventRef, Tier
from zhian.devices.service import DeviceService
from zhian.node import Node
from zhian.registry.service import RegistryService

MASTER: dict[str, list[dict[str, Any]]] = {
    "jurisdictions": [
        {"id": "J-CITY", "parent_id": None, "level": "city", "name": "市局"},
        {"id": "J-DIST", "parent_id": "J-CITY", "level": "district", "name": "上城分局"},
        {"id": "J-STN", "parent_id": "J-DIST", "level": "station", "name": "安和派出所"},
    ],
    "communities": [
        {
            "id": "C1",
            "jurisdiction_id": "J-STN",
            "name": "梧桐里社区",
            "kind": "gated",
            "latitude": 30.27,
            "longitude": 120.15,
        },
    ],
    "buildings": [
        {
            "id": "C1-B1",
            "community_id": "C1",
            "name": "1幢",
            "floors": 6,
            "latitude": 30.27,
            "longitude": 120.15,
        },
    ],
    "units": [{"id": "C1-B1-U1", "building_id": "C1-B1", "name": "1单元"}],
}
DEVICES = [
    ("C1-E1-FACE", "face_camera", "梧桐里社区东口人脸抓拍", None, None),
    ("C1-E1-DOOR", "door", "梧桐里社区东口门禁", None, None),
    ("C1-VG1", "vehicle_gate", "梧桐里社区1号车辆道闸", None, None),
    ("C1-B1-SMK1", "smoke_sensor", "梧桐里社区1幢1单元烟感1", "C1-B1", "C1-B1-U1"),
    ("C1-B1-SMK2", "smoke_sensor", "梧桐里社区1幢1单元烟感2", "C1-B1", "C1-B1-U1"),
    ("C1-SOS1", "sos_button", "梧桐里社区一键报警1号", None, None),
]


def load_place(node: Node, *, now: datetime) -> None:
    with node.db.session() as session:
        registry = RegistryService(session, identity=node.governance.sealer)
        for entity, rows in MASTER.items():
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
        rows = [
            {
                "id": d,
                "kind": k,
                "name": n,
                "community_id": "C1",
                "building_id": b,
                "unit_id": u,
                "zone_id": None,
                "gateway_id": None,
                "latitude": 30.27,
                "longitude": 120.15,
                "is_enabled": True,
            }
            for d, k, n, b, u in DEVICES
        ]
        report = registry.load_rows("devices", rows)
        assert report.rejected == 0, report.errors
        DeviceService(session).issue_tokens([d[0] for d in DEVICES], now=now)
    node.refresh_directory()


@dataclass(frozen=True)
class Users:
    grid: int
    officer: int
    command: int
    station_officer: int


def make_users(node: Node, now: datetime) -> Users:
    with node.db.session() as session:
        # Cheap hashing parameters: these tests are about alerts, not passwords.
        access = AccessService(
            session, password_hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
        )

        def user(name: str, role: Role, jurisdiction: str) -> int:
            pw = "correct-horse-battery-9"
            return access.create_user(name, pw, role=role, jurisdiction_id=jurisdiction, now=now).id

        return Users(
            grid=user("grid1", Role.GRID_WORKER, "J-STN"),
            officer=user("officer1", Role.COMMUNITY_OFFICER, "J-STN"),
            command=user("command1", Role.COMMAND_CENTRE, "J-CITY"),
            station_officer=user("station1", Role.STATION_OFFICER, "J-DIST"),
        )


def draft(
    at: datetime,
    *,
    tier: Tier = "general",
    kind: str = "alarm_intrusion",
    subject: str = "C1-E1-DOOR:intrusion",
    place_id: str = "C1",
    device_id: str = "C1-E1-DOOR",
    event_id: str = "E1",
) -> AlertDraft:
    return AlertDraft(
        rule="alarm",
        kind=kind,
        tier=tier,
        subject=subject,
        place_id=place_id,
        observed_at=at,
        explanation_zh="梧桐里社区东口门禁入侵报警（3级）",
        explanation_en="intrusion alarm (level 3) at C1-E1-DOOR",
        device_id=device_id,
        community_id="C1",
        place_name="梧桐里社区东口门禁",
        events=(EventRef(id=event_id, type="alarm", device_id=device_id, time=at),),
        figures={"level": 3},
    )


def scope_of_user(node: Node, user_id: int) -> JurisdictionScope:
    """The jurisdiction scope of one of `Users`, as a request would get it."""
    with node.db.session() as session:
        access = AccessService(session)
        user = access.get_user(user_id)
        assert user is not None
        return access.scope_for(user)
