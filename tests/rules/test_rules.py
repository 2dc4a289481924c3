"""Each rule on hand-made events through the real intake, log and rule engine."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import numpy as np

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertFilter, AlertState, Tier
from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    Event,
    FaceEvent,
    HeartbeatEvent,
    Subject,
    VehicleEvent,
)
from zhian.kit.clock import ManualClock
from zhian.node import Node, build_rule_engine
from zhian.watchlists.schemas import WatchlistEntryCreate

_ids = iter(range(1, 1_000_000))


def _submit(node: Node, *events: Event) -> None:
    result = node.intake.submit_events(list(events), source="test")
    assert result.rejected == 0, result
    node.rule_engine.drain()


def _beat(device: str, at: datetime, status: str = "ok", code: str | None = None) -> HeartbeatEvent:
    return HeartbeatEvent(
        id=f"H{next(_ids)}",
        device_id=device,
        time=at,
        status=status,  # type: ignore[arg-type]
        fault_code=code,
    )


def _alerts(node: Node, kind: str) -> list:  # type: ignore[type-arg]
    with node.alerts() as alerts:
        return alerts.list_alerts(AlertFilter(kind=kind), scope=JurisdictionScope.unscoped()).items


def test_a_silent_device_is_reported_as_lost_coverage_and_cleared_when_it_returns(
    node: Node, clock: ManualClock
) -> None:
    engine = node.rule_engine
    devices = ["C1-E1-FACE", "C1-E1-DOOR", "C1-VG1", "C1-B1-SMK1", "C1-B1-SMK2", "C1-SOS1"]
    engine.evaluate(clock.now())  # every device starts as seen now
    for _ in range(4):  # 20 minutes of heartbeats, but the face camera is silent
        clock.advance(timedelta(minutes=5))
        _submit(node, *(_beat(d, clock.now()) for d in devices if d != "C1-E1-FACE"))
        engine.evaluate()
    [offline] = _alerts(node, "device_offline")
    assert offline.device_id == "C1-E1-FACE" and offline.tier is Tier.MINOR
    assert offline.title_zh.startswith("梧桐里社区东口人脸抓拍离线：梧桐里社区东口无人脸覆盖")
    assert "no face coverage" in offline.title_en
    with node.alerts() as alerts:
        points = alerts.online_rate_series(community_id="C1", scope=JurisdictionScope.unscoped())
    faces = [p for p in points if p.device_kind == "face_camera"]
    assert faces[0].rate_pct == 100.0 and faces[-1].rate_pct == 0.0
    clock.advance(timedelta(minutes=1))
    _submit(node, _beat("C1-E1-FACE", clock.now()))
    engine.evaluate()
    # Back, but not yet for the recovery time (5 min): the alert stays open.
    assert [a.state for a in _alerts(node, "device_offline")] == [AlertState.NEW]
    for _ in range(2):
        clock.advance(timedelta(minutes=3))
        _submit(node, *(_beat(d, clock.now()) for d in devices))
        engine.evaluate()
    [cleared] = _alerts(node, "device_offline")
    assert cleared.state is AlertState.CLOSED and cleared.outcome == "resolved"


def test_a_flapping_device_is_one_offline_alert(node: Node, clock: ManualClock) -> None:
    """Dropping out for 20 minutes, back for 2, out again, three times: one alert, which
    closes once the device has kept reporting through the recovery time."""
    engine = node.rule_engine
    engine.evaluate(clock.now())
    for _ in range(3):
        for _ in range(4):  # silent for 20 minutes
            clock.advance(timedelta(minutes=5))
            engine.evaluate()
        for _ in range(2):  # back for two minutes
            clock.advance(timedelta(minutes=1))
            _submit(node, _beat("C1-E1-FACE", clock.now()))
            engine.evaluate()
    assert [a.state for a in _alerts(node, "device_offline") if a.device_id == "C1-E1-FACE"] == [
        AlertState.NEW
    ]
    for _ in range(6):  # then steady
        clock.advance(timedelta(minutes=1))
        _submit(node, _beat("C1-E1-FACE", clock.now()))
        engine.evaluate()
    [alert] = [a for a in _alerts(node, "device_offline") if a.device_id == "C1-E1-FACE"]
    assert alert.state is AlertState.CLOSED


def test_a_fault_heartbeat_opens_a_maintenance_alert_until_an_ok_one(
    node: Node, start: datetime
) -> None:
    _submit(node, _beat("C1-VG1", start, "fault", "barrier_stuck"))
    _submit(node, _beat("C1-VG1", start + timedelta(minutes=5), "fault", "barrier_stuck"))
    [fault] = _alerts(node, "device_fault")
    assert fault.state is AlertState.NEW and "道闸卡滞" in fault.title_zh  # the code by name
    assert "barrier_stuck" in fault.title_en
    _submit(node, _beat("C1-VG1", start + timedelta(minutes=10)))
    assert _alerts(node, "device_fault")[0].state is AlertState.CLOSED


def test_alarms_get_a_tier_by_kind_and_level_and_repeats_merge(node: Node, start: datetime) -> None:
    def alarm(device: str, kind: str, level: int, seconds: int) -> AlarmEvent:
        return AlarmEvent(
            id=f"A{next(_ids)}",
            device_id=device,
            time=start + timedelta(seconds=seconds),
            kind=kind,
            level=level,
            detail="",
        )  # type: ignore[arg-type]

    _submit(
        node,
        alarm("C1-B1-SMK1", "smoke", 2, 0),
        alarm("C1-B1-SMK1", "smoke", 2, 30),
        alarm("C1-SOS1", "sos", 1, 40),
        alarm("C1-B1-SMK2", "smoke", 3, 50),
        alarm("C1-B1-SMK1", "fire", 4, 90),
    )
    with node.alerts() as alerts:
        rows = {
            (a.kind, a.device_id): a
            for a in alerts.list_alerts(scope=JurisdictionScope.unscoped()).items
        }
    assert rows[("alarm_smoke", "C1-B1-SMK1")].tier is Tier.GENERAL
    assert rows[("alarm_smoke", "C1-B1-SMK1")].count == 2
    assert rows[("alarm_smoke", "C1-B1-SMK2")].tier is Tier.MAJOR  # level 3: confirmed
    assert rows[("alarm_fire", "C1-B1-SMK1")].tier is Tier.MAJOR
    assert rows[("alarm_sos", "C1-SOS1")].tier is Tier.MAJOR
    # The building's smoke and fire alerts are one incident.
    building = {a.incident_id for (kind, dev), a in rows.items() if dev.startswith("C1-B1")}
    assert len(building) == 1 and None not in building


def test_denied_reads_and_tailgating_at_one_door(node: Node, start: datetime) -> None:
    start -= timedelta(minutes=25)

    def read(seconds: int, ref: str, result: str) -> AccessEvent:
        return AccessEvent(
            id=f"X{next(_ids)}",
            device_id="C1-E1-DOOR",
            time=start + timedelta(seconds=seconds),
            subject=Subject("card", ref),
            direction="in",
            method="card",
            result=result,
        )  # type: ignore[arg-type]

    # A resident refused once and let in on the retry: nothing.
    _submit(node, read(0, "R1", "denied"), read(4, "R1", "granted"))
    assert _alerts(node, "tailgating") == [] and _alerts(node, "denied_access") == []
    # An unknown card refused, a resident let in 5 s later: tailgating.
    _submit(node, read(600, "BADCARD", "denied"), read(605, "R2", "granted"))
    # Raised once the refused card had its 15 s to retry.
    assert _alerts(node, "tailgating") == []
    node.rule_engine.evaluate(start + timedelta(seconds=616))
    [tail] = _alerts(node, "tailgating")
    assert tail.tier is Tier.MINOR and "尾随" in tail.title_zh
    # Three refusals within 5 minutes: a forced-entry attempt.
    _submit(node, read(1200, "X", "denied"), read(1260, "Y", "denied"), read(1320, "Z", "denied"))
    [forced] = _alerts(node, "denied_access")
    assert forced.tier is Tier.GENERAL and "3次" in forced.title_zh


def _unit(seed: int) -> np.ndarray:  # type: ignore[type-arg]
    vector = np.random.default_rng(seed).standard_normal(128).astype("<f4")
    return vector / np.linalg.norm(vector)


def _b64(vector: np.ndarray) -> str:  # type: ignore[type-arg]
    return base64.b64encode(vector.astype("<f4").tobytes()).decode()


def test_watchlist_plates_exact_and_one_misread_and_faces_with_top_three(
    node: Node,
    users,
    clock: ManualClock,  # type: ignore[no-untyped-def]
) -> None:
    now = clock.now()
    expires = now + timedelta(days=30)
    with node.watchlists() as watchlists:
        for n, (plate, seed) in enumerate([("浙A12345", None), (None, 1), (None, 2), (None, 3)]):
            watchlists.add(
                WatchlistEntryCreate(
                    target="plate" if plate else "person",
                    plate=plate,
                    label=f"布控{n}",  # type: ignore[arg-type]
                    feature=None if seed is None else _b64(_unit(seed)),
                    legal_basis_kind="stolen_vehicle" if plate else "case",  # type: ignore[arg-type]
                    legal_basis_ref=f"CASE-2026-{n:04d}",
                    jurisdiction_id="J-STN",
                    expires_at=expires,
                ),
                user_id=users.officer,
            )
        watchlists.add(
            WatchlistEntryCreate(
                target="plate",
                plate="浙B99999",
                label="已过期",
                legal_basis_kind="warrant",  # type: ignore[arg-type]
                legal_basis_ref="W-1",
                jurisdiction_id="J-STN",
                expires_at=now + timedelta(minutes=1),
            ),
            user_id=users.officer,
        )
    node.rule_engine.refresh()
    clock.advance(timedelta(minutes=2))  # the warrant entry has expired

    def car(plate: str, n: int) -> VehicleEvent:
        return VehicleEvent(
            id=f"V{next(_ids)}",
            device_id="C1-VG1",
            time=clock.now() + timedelta(seconds=n),
            plate=plate,
            plate_color="blue",
            vehicle_class="car",
            direction="in",
        )

    _submit(node, car("浙A12345", 0), car("浙B99999", 1), car("浙A99999", 2))
    [hit] = _alerts(node, "watchlist_plate")
    assert hit.count == 1 and "浙A***45" in hit.title_zh and "浙A12345" not in hit.title_zh
    _submit(node, car("浙A1Z345", 3))  # one character misread: the same open alert
    with node.alerts() as alerts:
        detail = alerts.get_alert(hit.id, scope=JurisdictionScope.unscoped())
    assert detail.count == 2 and detail.evidence.candidates[0].label == "布控0"
    noisy = _unit(2) + 0.15 * _unit(99)
    face = FaceEvent(
        id=f"F{next(_ids)}",
        device_id="C1-E1-FACE",
        time=clock.now(),
        quality=0.9,
        feature=_b64(noisy / np.linalg.norm(noisy)),
    )
    stranger = FaceEvent(
        id=f"F{next(_ids)}",
        device_id="C1-E1-FACE",
        time=clock.now(),
        quality=0.9,
        feature=_b64(_unit(1234)),
    )
    _submit(node, face, stranger)
    [person] = _alerts(node, "watchlist_person")
    with node.alerts() as alerts:
        candidates = alerts.get_alert(
            person.id, scope=JurisdictionScope.unscoped()
        ).evidence.candidates
    assert len(candidates) == 3 and candidates[0].label == "布控2"
    assert candidates[0].score >= 0.85 > candidates[1].score


def test_a_restart_neither_loses_nor_repeats_alerts(
    node: Node, node_settings, clock: ManualClock
) -> None:  # type: ignore[no-untyped-def]
    alarm = AlarmEvent(id="A-restart", device_id="C1-SOS1", time=clock.now(), kind="sos", level=3)
    _submit(node, alarm)
    node.rule_engine.stop()
    # A new engine (as after a restart) resumes from the committed checkpoint.
    restarted = build_rule_engine(
        node.db, node.log, node.alert_loop, node.governance.vault(node.db)
    )
    assert restarted.last_seq == node.log.durable_seq
    assert restarted.drain() == 0
    [sos] = _alerts(node, "alarm_sos")
    assert sos.count == 1


def test_a_door_systems_own_events_are_taken_and_its_alarms_raise_alerts(
    node: Node, start: datetime
) -> None:
    def passage(seconds: int, method: str) -> AccessEvent:
        return AccessEvent(
            id=f"P{next(_ids)}",
            device_id="C1-E1-DOOR",
            time=start + timedelta(seconds=seconds),
            subject=Subject("resident", "R1"),
            direction="in",
            method=method,
            result="granted",
        )  # type: ignore[arg-type]

    def door_alarm(seconds: int, kind: str, level: int = 2) -> AlarmEvent:
        return AlarmEvent(
            id=f"D{next(_ids)}",
            device_id="C1-E1-DOOR",
            time=start + timedelta(seconds=seconds),
            kind=kind,
            level=level,
        )  # type: ignore[arg-type]

    # Fingerprint and remote opening are passages like any other: no alert.
    _submit(node, passage(0, "fingerprint"), passage(5, "remote"), passage(9, "password"))
    assert _alerts(node, "tailgating") == [] and _alerts(node, "denied_access") == []
    _submit(
        node,
        door_alarm(20, "door_forced"),
        door_alarm(40, "door_held_open"),
        door_alarm(60, "tamper"),  # the reader's tamper switch
    )
    [forced] = _alerts(node, "alarm_door_forced")
    [held] = _alerts(node, "alarm_door_held_open")
    [tamper] = _alerts(node, "alarm_tamper")
    assert forced.tier is Tier.GENERAL  # an attempted break-in: the area officer
    assert held.tier is Tier.MINOR and tamper.tier is Tier.MINOR
    assert forced.device_id == "C1-E1-DOOR"
    # Reported again at the sensor's top level, the open alert rises to major.
    _submit(node, door_alarm(80, "door_forced", level=4))
    [forced] = _alerts(node, "alarm_door_forced")
    assert forced.tier is Tier.MAJOR
