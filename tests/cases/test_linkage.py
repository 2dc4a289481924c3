"""Case linkage against the simulator's ground truth: AUC on a time-based split (measured,
beating distance and time), blocking, candidates with reasons, decisions recorded with
who made them, series from accepted links, model versions retrained and rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.cases.factories import series_of, service, simulated_cases
from tests.registry.factories import SEALER, load_two_stations
from zhian.cases.facts import CaseFacts, TimeOfDayClasses, mo_values
from zhian.cases.linkage import Blocking, CaseArrays, candidate_pairs, evaluate
from zhian.cases.settings import DEFAULT_MO_FEATURES, CaseSettings
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.errors import BadRequestError, ConfigurationError, NotFoundError
from zhian.kit.clock import ManualClock
from zhian.sim.scenarios_cases import simulate_cases
from zhian.sim.timeline import TZ

BAR = 0.95


def simulator_facts(seed: int) -> list[CaseFacts]:
    planted = simulate_cases(seed=seed, start=datetime(2025, 1, 1, tzinfo=TZ), days=365)
    tod = TimeOfDayClasses()
    return [
        CaseFacts(c.case_id, c.category, c.time_from, c.time_to, c.place.latitude,
                  c.place.longitude, tod.classify(c.time_from, c.time_to),
                  mo_values(c.mo, DEFAULT_MO_FEATURES), c.offender if c.is_solved else None)
        for c in planted.cases
    ]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_the_model_reaches_the_bar_and_beats_distance_and_time(seed: int) -> None:
    result = evaluate(simulator_facts(seed), blocking=Blocking(3000, 120))
    assert result.test_linked_pairs >= 30
    assert result.auc_model is not None and result.auc_model >= BAR
    assert result.auc_distance_time is not None and result.auc_model > result.auc_distance_time
    assert result.auc_time is not None and result.auc_model > result.auc_time
    assert result.blocking_recall is not None and result.blocking_recall >= 0.95


def test_blocking_compares_neighbours_not_every_pair() -> None:
    facts = simulator_facts(1)[:500]  # brute force below is quadratic
    arrays = CaseArrays(facts)
    pairs = candidate_pairs(arrays, Blocking(1000, 30))
    everything = len(facts) * (len(facts) - 1) // 2
    assert 0 < len(pairs) < everything / 10
    assert (pairs[:, 0] < pairs[:, 1]).all()
    # The same pairs a brute-force search within the radius and window finds.
    brute = {
        (i, j) for i in range(len(facts)) for j in range(i + 1, len(facts))
        if abs(arrays.days[i] - arrays.days[j]) <= 30
        and _metres(facts[i], facts[j]) <= 1000
    }  # fmt: skip
    assert {tuple(p) for p in pairs.tolist()} == brute


def _metres(a: CaseFacts, b: CaseFacts) -> float:
    from zhian.cases.geo import haversine_m

    return float(haversine_m(a.latitude, a.longitude, b.latitude, b.longitude))


@pytest.fixture
def loaded(tmp_path: Path, clock: ManualClock) -> Iterator[Database]:
    """A SQLite database holding the simulator's cases (kept small: one engine suffices
    for the service's use of the model; the queries are tested on both engines above)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate.upgrade(engine)
    database = Database(engine)
    load_two_stations(database)
    with database.session() as session:
        cases = service(session, clock)
        for case in simulated_cases():
            cases.create(case, user_id=1, source="sim")
    yield database
    engine.dispose()


def test_candidates_decisions_and_series(loaded: Database, clock: ManualClock) -> None:
    truth = series_of()
    with loaded.session() as session:
        cases = service(session, clock, sealer=SEALER)
        version = cases.train(user_id=5, reason="test")
        assert version.is_active and version.auc is not None and version.auc >= 0.9
        hits = 0
        members = [case_id for case_id in truth][:40]
        for case_id in members:
            top = cases.candidates(case_id, limit=1)
            hits += bool(top) and truth.get(top[0].case.id) == truth[case_id]
        assert hits / len(members) >= 0.8
        first = members[0]
        [top] = cases.candidates(first, limit=1)
        assert {r.feature for r in top.reasons} == {
            "log_distance", "log_time_gap", "mo_overlap", "same_time_of_day", "same_target",
            "same_category",
        }  # fmt: skip
        # A node without a key ring cannot keep a note: refused, naming the field.
        with pytest.raises(ConfigurationError, match="no key ring") as refused:
            service(session, clock).decide(first, top.case.id, accept=True, user_id=9, note="x")
        assert refused.value.field == "note"
        link = cases.decide(first, top.case.id, accept=True, user_id=9, note="same MO")
        assert (link.decided_by, link.is_accepted, link.model_version) == (9, True, version.id)
        assert [each.note for each in cases.links(first)] == ["same MO"]
        assert [c.decision for c in cases.candidates(first, limit=1)] == ["accepted"]
        third = next(c.case.id for c in cases.candidates(top.case.id, limit=5)
                     if c.case.id != first)  # fmt: skip
        cases.decide(top.case.id, third, accept=True, user_id=9)
        assert {c.id for c in cases.series(first)} == {first, top.case.id, third}
        cases.decide(top.case.id, third, accept=False, user_id=10)
        assert {c.id for c in cases.series(first)} == {first, top.case.id}


def test_versions_retrain_when_due_and_roll_back(loaded: Database, clock: ManualClock) -> None:
    with loaded.session() as session:
        cases = service(session, clock, settings=CaseSettings(retrain_every_labelled=50))
        automatic = cases.retrain_if_due()
        assert automatic is not None and automatic.created_by is None
        assert cases.retrain_if_due() is None  # nothing newly labelled since
        manual = cases.train(user_id=5, reason="again")
        assert [v.id for v in cases.versions()] == [manual.id, automatic.id]
        assert cases.activate(automatic.id).is_active
        assert [v.is_active for v in cases.versions()] == [False, True]


def test_versions_compare_on_the_same_pairs_and_a_rollback_stands(
    tmp_path: Path, clock: ManualClock
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate.upgrade(engine)
    database = Database(engine)
    load_two_stations(database)
    planted = simulated_cases()
    solved = [i for i, case in enumerate(planted) if case.is_solved]
    every = 40
    first, second = solved[every * 2], solved[every * 3]  # 40 and 80 solved after the first
    with database.session() as session:
        cases = service(session, clock, settings=CaseSettings(retrain_every_labelled=every))
        for case in planted[:first]:
            cases.create(case, user_id=1, source="sim")
        older = cases.retrain_if_due()
        for case in planted[first:second]:
            cases.create(case, user_id=1, source="sim")
        newer = cases.retrain_if_due()
        assert older is not None and newer is not None
        assert newer.labelled_cases - older.labelled_cases == every
        # Compared on the same pairs: today's later 30 %, the newest version's own test
        # split, so its figure is the one it was trained with; the older one is scored anew.
        compared = cases.compare([older.id, newer.id])
        scored = {v.id: v for v in compared.versions}
        assert scored[newer.id].auc == pytest.approx(newer.auc)
        assert scored[older.id].auc_when_trained == older.auc
        assert scored[older.id].auc is not None and scored[older.id].auc != older.auc
        assert compared.test_pairs == newer.test_pairs and compared.test_linked_pairs > 0
        with pytest.raises(BadRequestError) as one:
            cases.compare([newer.id, newer.id])
        assert one.value.field == "versions"
        with pytest.raises(NotFoundError):
            cases.compare([newer.id, 999])
        assert cases.activate(older.id).is_active  # the analyst rolls back
        # More than `every` cases were labelled since the older version, none since the
        # newer: the rollback stands.
        assert cases.retrain_if_due() is None
        assert [v.id for v in cases.versions() if v.is_active] == [older.id]
        for case in planted[second:]:
            cases.create(case, user_id=1, source="sim")
        assert len(solved) - every * 3 >= every  # enough newly labelled: a new version
        latest = cases.retrain_if_due()
        assert latest is not None and latest.is_active
    engine.dispose()
