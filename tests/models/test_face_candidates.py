"""Registry candidates of the unregistered-resident model: captures linked to passages by
place and time, compared with residents' enrolled faces; the read of those is audited."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertDetail
from zhian.config import load_settings
from zhian.evaluation.models import evaluate_seed
from zhian.ingest.events import AccessEvent, Event, FaceEvent, Subject
from zhian.kit.clock import ManualClock
from zhian.models.faces import CAPTURE_READ_ACTION, FACE_READ_ACTION
from zhian.models.unregistered import UnregisteredResidentModel
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.sim import TZ, District, build_district
from zhian.sim.faces import FaceFeatures
from zhian.sim.tables import Entrance, Site

START = datetime(2026, 11, 1, 8, 0, tzinfo=TZ)
SHORT = {"unregistered_min_nights": 4, "unregistered_window_days": 6}
NIGHTS = 5


@pytest.fixture(scope="module")
def district() -> District:
    return build_district(seed=5, scale=0.2)


@pytest.fixture
def node(tmp_path: Path, district: District) -> Iterator[Node]:
    settings = load_settings(tmp_path / "ws", log={"fsync": False}, models=SHORT)
    with Node.open(settings, ManualClock(START), feed=False) as opened:
        district.write_csv(tmp_path / "csv", face_features=True)
        reports = import_paths(
            opened.db, sorted((tmp_path / "csv").glob("*.csv")), identity=opened.governance.sealer
        )
        assert sum(r.rejected for r in reports) == 0
        opened.refresh_directory()
        yield opened


def _gate(district: District) -> tuple[Site, Entrance, str]:
    """An entrance with both a door and a face camera, and a unit door behind it."""
    for site in district.sites:
        for entrance in site.entrances:
            if entrance.door is not None and entrance.camera is not None and site.unit_doors:
                return site, entrance, site.unit_doors[0]
    raise AssertionError("the district has no gate with a door and a camera")


def _evenings(
    entrance: Entrance, unit_door: str, subject: Subject, face: str, hour: int, tag: str
) -> list[Event]:
    """Home through the gate and the unit door every evening, the gate camera catching the
    face (with capture noise) a second after the gate opens."""
    assert entrance.door is not None and entrance.camera is not None
    faces = FaceFeatures(5)
    rng = random.Random(tag)
    events: list[Event] = []
    for d in range(NIGHTS):
        at = START.replace(hour=hour) + timedelta(days=d)
        events += [
            AccessEvent(id=f"{tag}-g{d}", device_id=entrance.door, time=at, subject=subject,
                        direction="in", method="qr", result="granted"),
            FaceEvent(id=f"{tag}-f{d}", device_id=entrance.camera, time=at + timedelta(seconds=1),
                      quality=0.9, feature=faces.capture(face, rng)),
            AccessEvent(id=f"{tag}-u{d}", device_id=unit_door, time=at + timedelta(seconds=90),
                        subject=subject, direction="in", method="qr", result="granted"),
        ]  # fmt: skip
    return events


def _unregistered_alerts(node: Node, events: list[Event]) -> list[AlertDetail]:
    assert isinstance(node.clock, ManualClock)
    node.clock.set(START + timedelta(days=NIGHTS, hours=4))
    result = node.intake.submit_events(events, source="test")
    assert result.accepted == len(events)
    while node.feeder.feed_once():
        pass
    with node.alerts() as alerts:
        found = [
            alerts.get_alert(i, scope=JurisdictionScope.unscoped()) for i in node.models.run_once()
        ]
    return [a for a in found if a.rule == "model.unregistered_resident"]


def test_someone_registered_elsewhere_is_offered_with_their_resident_id(
    node: Node, district: District
) -> None:
    site, entrance, unit_door = _gate(district)
    elsewhere = next(p for p in district.people if district.sites[p.site] is not site)
    events = _evenings(entrance, unit_door, Subject("qr", "qr-moved"), elsewhere.id, 19, "m")
    # A stranger to the registry, passing the same gate an hour later.
    events += _evenings(entrance, unit_door, Subject("qr", "qr-new"), "stranger-1", 20, "s")
    alerts = _unregistered_alerts(node, events)
    assert len(alerts) == 2
    offered = [a for a in alerts if "candidate_1" in a.evidence.figures]
    assert len(offered) == 1
    figures = offered[0].evidence.figures
    assert figures["candidate_1"] == elsewhere.id
    assert isinstance(figures["candidate_1_similarity"], float)
    assert figures["candidate_1_similarity"] >= 0.9
    assert figures["face_captures"] == NIGHTS
    assert figures["param.unregistered_face_similarity_floor"] == 0.6
    # Nobody else looks like them: the floor keeps chance likenesses out.
    assert "candidate_2" not in figures
    assert "人户分离" in offered[0].evidence.explanation_zh
    assert "registered at another address" in offered[0].evidence.explanation_en
    assert [e.type for e in offered[0].evidence.events].count("face") == 3

    [stranger] = [a for a in alerts if a is not offered[0]]
    assert stranger.evidence.figures["face_captures"] == NIGHTS
    assert not any(k.startswith("candidate_") for k in stranger.evidence.figures)
    assert "人户分离" not in stranger.evidence.explanation_zh


def test_a_neighbour_caught_in_the_same_seconds_does_not_blur_the_face(
    node: Node, district: District
) -> None:
    _, entrance, unit_door = _gate(district)
    assert entrance.camera is not None
    someone, neighbour = district.people[0], district.people[1]
    events = _evenings(entrance, unit_door, Subject("qr", "qr-moved"), someone.id, 19, "m")
    rng = random.Random(1)
    events += [
        FaceEvent(id=f"n{d}", device_id=entrance.camera,
                  time=START.replace(hour=19) + timedelta(days=d, seconds=3), quality=0.8,
                  feature=FaceFeatures(5).capture(neighbour.id, rng))
        for d in range(2)
    ]  # fmt: skip
    [alert] = _unregistered_alerts(node, events)
    figures = alert.evidence.figures
    assert figures["candidate_1"] == someone.id
    assert figures["face_captures"] == NIGHTS  # the two of the neighbour left out
    assert "candidate_2" not in figures


def test_captures_away_from_the_passages_are_not_linked(node: Node, district: District) -> None:
    _, entrance, unit_door = _gate(district)
    someone = district.people[0]
    events = _evenings(entrance, unit_door, Subject("qr", "qr-moved"), someone.id, 19, "m")
    # The same captures half a minute late: someone else, as far as place and time can tell.
    late = [
        FaceEvent(id=e.id, device_id=e.device_id, time=e.time + timedelta(seconds=30),
                  quality=e.quality, feature=e.feature)
        if isinstance(e, FaceEvent) else e
        for e in events
    ]  # fmt: skip
    [alert] = _unregistered_alerts(node, late)
    assert alert.evidence.figures["face_captures"] == 0
    assert "candidate_1" not in alert.evidence.figures


def test_opening_enrolled_faces_is_audited(node: Node, district: District) -> None:
    _, entrance, unit_door = _gate(district)
    _unregistered_alerts(
        node, _evenings(entrance, unit_door, Subject("qr", "q"), district.people[0].id, 19, "m")
    )
    with node.db.session() as session:
        entries = node.governance.audit(session).search(action=FACE_READ_ACTION)
    assert len(entries) == 1
    [entry] = entries
    assert (entry.actor_type, entry.actor_id, entry.record_type) == ("system", "models", "resident")
    assert entry.details["residents"] == len(district.people)
    assert entry.purpose is not None and "unregistered_resident" in entry.purpose


def test_opening_capture_features_is_audited_once_per_run_for_linked_captures_only(
    node: Node, district: District
) -> None:
    _, entrance, unit_door = _gate(district)
    assert entrance.camera is not None
    events = _evenings(entrance, unit_door, Subject("qr", "q"), district.people[0].id, 19, "m")
    # Captures at the same camera an hour away from any passage: linked to no one, unopened.
    rng = random.Random(2)
    events += [
        FaceEvent(id=f"x{d}", device_id=entrance.camera,
                  time=START.replace(hour=21) + timedelta(days=d), quality=0.9,
                  feature=FaceFeatures(5).capture("stranger-9", rng))
        for d in range(3)
    ]  # fmt: skip
    _unregistered_alerts(node, events)
    node.models.run_once()  # a second run opens them again, and says so again
    with node.db.session() as session:
        entries = node.governance.audit(session).search(action=CAPTURE_READ_ACTION)
    assert len(entries) == 2
    for entry in entries:
        assert (entry.actor_type, entry.actor_id) == ("system", "models")
        assert entry.record_type == "face_event"
        assert entry.details["captures"] == NIGHTS  # the linked ones, not the three others


def test_evaluation_counts_hits_and_candidates_offered_to_no_one_registered() -> None:
    # Seed 1 plants one lodger registered elsewhere behind a gate with a camera, and
    # about twenty unregistered occupants in no registry entry (group rentals included).
    [score] = evaluate_seed(
        1,
        days=8,
        scale=0.25,
        step_hours=24,
        models=[UnregisteredResidentModel()],
        model_settings=SHORT,
    ).values()
    assert (score.precision, score.recall) == (1.0, 1.0)
    assert (score.candidate_cases, score.candidate_linked, score.candidate_hits) == (1, 1, 1)
    assert score.top3_hit_rate == 1.0
    assert score.no_entry_cases >= 10
    assert score.false_candidate_rate == 0.0
