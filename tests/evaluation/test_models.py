"""Every batch model against the simulator's ground truth, on a small district and a
fortnight (thresholds shortened so that each planted situation becomes visible, still
longer than the noise: a week's holiday, guests' cars of up to four days)."""

from __future__ import annotations

import pytest

from zhian.evaluation.models import ModelScore, evaluate_seed
from zhian.models.catalogue import MODELS

SHORT = {
    "moved_out_absent_days": 10,
    "vacant_absent_days": 10,
    "unregistered_min_nights": 4,
    "unregistered_window_days": 6,
    "zombie_absent_days": 5,
}


@pytest.fixture(scope="module")
def scores() -> dict[str, ModelScore]:
    return evaluate_seed(3, days=14, scale=0.5, step_hours=12, model_settings=SHORT)


@pytest.mark.parametrize("model", [m.name for m in MODELS])
def test_precision_and_recall_meet_the_bar(scores: dict[str, ModelScore], model: str) -> None:
    score = scores[model]
    assert score.planted >= 1, "the stream planted nothing this model could see"
    assert score.precision >= 0.95, score.false_subjects
    assert score.recall >= 0.95, score.missed_subjects


def test_noise_raises_nothing(scores: dict[str, ModelScore]) -> None:
    # Holidays, relatives visiting, couriers, night-shift workers, night muck trucks and
    # guests' cars are all in the stream; not one of them may be alerted.
    assert [s for score in scores.values() for s in score.false_subjects] == []


def test_time_to_detect_follows_the_parameters(scores: dict[str, ModelScore]) -> None:
    moved = scores["model.moved_out"].median_delay_hours
    welfare = scores["model.welfare_check"].median_delay_hours
    assert moved is not None and 10 * 24 <= moved <= 11 * 24
    assert welfare is not None and 72 <= welfare <= 72 + 12


def test_car_park_cameras_tell_a_zombie_from_a_guest_car_whose_exit_was_missed() -> None:
    """Issue #20: on the hard simulator (seed 1, a fortnight) the gate missed the way out of
    a guest's car (浙A95222), which on gate reads alone reads as a zombie. The car-park
    camera stopped reading it parked when it left; the planted zombie it kept reading."""
    from zhian.models.vehicles import ZombieVehicleModel

    scores = evaluate_seed(
        1, days=14, scale=0.5, step_hours=12, model_settings=SHORT,
        models=[ZombieVehicleModel()], difficulty="hard",
    )  # fmt: skip
    score = scores["model.zombie_vehicle"]
    assert score.planted >= 1
    assert score.precision >= 0.95, score.false_subjects
    assert score.recall >= 0.95, score.missed_subjects
