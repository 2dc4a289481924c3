"""Case linkage (串并分析): pairwise features, blocking, a calibrated logistic model, AUC.

Pure functions of `CaseFacts`: the service feeds them stored cases, `zhian eval linkage`
the rows of a file. The model starts where the literature does (logistic regression on
distance and time gap, hard to beat) and adds MO overlap, same time of day, same target
and same category; each version keeps its evaluation on a time-based held-out split.
A probability says how alike two cases are, never anything about a person: linkage
suggests, an analyst decides.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from zhian.cases.facts import TARGET_FEATURE, UNKNOWN_TIME_OF_DAY, CaseFacts
from zhian.cases.geo import haversine_m
from zhian.errors import BadRequestError

FEATURES = (
    "log_distance",
    "log_time_gap",
    "mo_overlap",
    "same_time_of_day",
    "same_target",
    "same_category",
)
DISTANCE_TIME = ("log_distance", "log_time_gap")
_METRES_PER_DEGREE_LAT = 110_574.0
_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Blocking:
    """Only pairs within `radius_m` and `window_days` of each other are ever compared: a
    spatial grid of cells `radius_m` wide and time buckets `window_days` long, so 10^5
    cases cost their neighbours, not 5 × 10^9 pairs."""

    radius_m: float = 3000.0
    window_days: float = 120.0


class CaseArrays:
    """The columns of a list of cases that pairwise features read, as numpy arrays."""

    def __init__(self, cases: Sequence[CaseFacts]) -> None:
        self.cases = list(cases)
        self.lat = np.array([c.latitude for c in cases], dtype=float)
        self.lon = np.array([c.longitude for c in cases], dtype=float)
        self.days = np.array([c.midpoint.timestamp() / _SECONDS_PER_DAY for c in cases])
        self.tod = [c.time_of_day for c in cases]
        self.category = [c.category for c in cases]
        self.target = [c.mo.get(TARGET_FEATURE, frozenset()) for c in cases]
        self.mo = [
            frozenset(f"{name}={value}" for name, values in c.mo.items()
                      if name != TARGET_FEATURE for value in values)
            for c in cases
        ]  # fmt: skip


# Each cell pairs with itself and with four of its eight neighbours; the other four pair
# with it from their side, so no pair of cells is visited twice.
_HALF_NEIGHBOURS = ((0, 0), (1, -1), (1, 0), (1, 1), (0, 1))


def _ranges(starts: NDArray[np.int64], counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """The concatenation of arange(start, start + count) for each pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(starts - (ends - counts), counts)
    return np.asarray(np.arange(total, dtype=np.int64) + shift, dtype=np.int64)


def candidate_pairs(arrays: CaseArrays, blocking: Blocking) -> NDArray[np.int64]:
    """Every pair (i < j) within the blocking radius and window, as an (n, 2) array.

    Cases fall into square cells `radius_m` wide; a case's partners lie in its own cell or
    the eight around it. Within a pair of cells, each case's partners in time are a range
    of the other cell sorted by time (two binary searches), so the work is the pairs kept
    plus a few array operations per cell.
    """
    n = len(arrays.cases)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    lat0 = float(np.mean(arrays.lat))
    x = np.floor(arrays.lon * _METRES_PER_DEGREE_LAT * math.cos(math.radians(lat0))
                 / blocking.radius_m).astype(np.int64)  # fmt: skip
    y = np.floor(arrays.lat * _METRES_PER_DEGREE_LAT / blocking.radius_m).astype(np.int64)
    order = np.lexsort((arrays.days, y, x))  # by cell, then by time within the cell
    keys = np.stack([x[order], y[order]], axis=1)
    change = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
    bounds = np.concatenate([[0], change, [n]])
    cells = {
        (int(keys[a, 0]), int(keys[a, 1])): order[a:b]
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    }
    found: list[NDArray[np.int64]] = []
    for (cx, cy), own in cells.items():
        own_days = arrays.days[own]
        for dx, dy in _HALF_NEIGHBOURS:
            other = cells.get((cx + dx, cy + dy))
            if other is None:
                continue
            other_days = arrays.days[other]
            low = np.searchsorted(other_days, own_days - blocking.window_days, side="left")
            high = np.searchsorted(other_days, own_days + blocking.window_days, side="right")
            counts = (high - low).astype(np.int64)
            left = np.repeat(own, counts)
            right = other[_ranges(low.astype(np.int64), counts)]
            if dx == 0 and dy == 0:
                keep = left < right  # a cell with itself: each pair once
                left, right = left[keep], right[keep]
            near = (
                haversine_m(
                    arrays.lat[left], arrays.lon[left], arrays.lat[right], arrays.lon[right]
                )
                <= blocking.radius_m
            )
            if near.any():
                first, second = left[near], right[near]
                found.append(
                    np.stack([np.minimum(first, second), np.maximum(first, second)], axis=1)
                )
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(found)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def pair_features(arrays: CaseArrays, pairs: NDArray[np.int64]) -> NDArray[np.float64]:
    """The features of each pair (columns in the order of FEATURES)."""
    left, right = pairs[:, 0], pairs[:, 1]
    distance = haversine_m(arrays.lat[left], arrays.lon[left], arrays.lat[right], arrays.lon[right])
    gap = np.abs(arrays.days[left] - arrays.days[right])
    rows = [
        (
            _jaccard(arrays.mo[i], arrays.mo[j]),
            float(arrays.tod[i] == arrays.tod[j] != UNKNOWN_TIME_OF_DAY),
            float(bool(arrays.target[i] & arrays.target[j])),
            float(arrays.category[i] == arrays.category[j]),
        )
        for i, j in zip(left.tolist(), right.tolist(), strict=True)
    ]
    extra = np.array(rows, dtype=float).reshape(len(rows), 4)
    # Logs: the literature's finding that linkage falls off steeply with distance and time.
    return np.column_stack([np.log1p(distance / 100.0), np.log1p(gap), extra])


def pair_labels(arrays: CaseArrays, pairs: NDArray[np.int64]) -> NDArray[np.int64]:
    """1 where both cases are solved with the same offender token, else 0."""
    offenders = [c.offender for c in arrays.cases]
    return np.array(
        [int(offenders[i] is not None and offenders[i] == offenders[j]) for i, j in pairs.tolist()],
        dtype=np.int64,
    )


@dataclass(frozen=True)
class LinkageModel:
    """A fitted logistic model over standardised features; plain numbers, so a version
    can be stored as JSON and scored anywhere."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float

    def _standardised(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        columns = [FEATURES.index(name) for name in self.features]
        scaled = (features[:, columns] - np.array(self.means)) / np.array(self.scales)
        return np.asarray(scaled, dtype=float)

    def probability(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(same offender) for each row of features (columns in the order of FEATURES)."""
        z = self._standardised(features) @ np.array(self.coefficients) + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)

    def contributions(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each feature's share of the log-odds (the reasons shown beside a candidate)."""
        return np.asarray(self._standardised(features) * np.array(self.coefficients), dtype=float)

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features),
            "means": list(self.means),
            "scales": list(self.scales),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LinkageModel:
        def floats(key: str) -> tuple[float, ...]:
            value = data.get(key)
            if not isinstance(value, list):
                raise ValueError(f"a stored linkage model lacks its list '{key}'")
            return tuple(float(v) for v in value)

        names = data.get("features")
        intercept = data.get("intercept")
        if not isinstance(names, list) or not isinstance(intercept, int | float):
            raise ValueError("a stored linkage model lacks its features or intercept")
        return cls(
            features=tuple(str(n) for n in names),
            means=floats("means"),
            scales=floats("scales"),
            coefficients=floats("coefficients"),
            intercept=float(intercept),
        )


def fit(
    features: NDArray[np.float64],
    labels: NDArray[np.int64],
    names: Sequence[str] = FEATURES,
) -> LinkageModel:
    """A logistic regression on `names` (no class weights: its probabilities stay
    calibrated to how often blocked pairs really are linked)."""
    if len(set(labels.tolist())) < 2:
        raise BadRequestError(
            "training needs linked and unlinked pairs: at least two solved cases with the "
            "same offender, and solved cases of different offenders, within the blocking "
            "radius and window",
            field="offender",
        )
    columns = [FEATURES.index(name) for name in names]
    chosen = features[:, columns]
    means = chosen.mean(axis=0)
    scales = chosen.std(axis=0)
    scales[scales == 0] = 1.0
    # Imported here: scikit-learn takes seconds to import, and every `zhian` command and
    # process start would pay it, while only training needs it.
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(C=1.0, max_iter=1000)
    regression.fit((chosen - means) / scales, labels)
    return LinkageModel(
        features=tuple(names),
        means=tuple(float(v) for v in means),
        scales=tuple(float(v) for v in scales),
        coefficients=tuple(float(v) for v in regression.coef_[0]),
        intercept=float(regression.intercept_[0]),
    )


def auc(labels: NDArray[np.int64], scores: NDArray[np.float64]) -> float | None:
    """Area under the ROC curve, None when the labels are of one class only."""
    if len(set(labels.tolist())) < 2:
        return None
    from sklearn.metrics import roc_auc_score  # slow to import: see `fit`

    return float(roc_auc_score(labels, scores))


@dataclass(frozen=True)
class LinkageEvaluation:
    """A model trained on the earlier cases and scored on the later ones, with baselines."""

    model: LinkageModel
    train_cases: int
    test_cases: int
    train_pairs: int
    test_pairs: int
    test_linked_pairs: int
    blocking_recall: float | None  # linked test pairs kept by blocking, of all linked
    auc_model: float | None
    auc_distance: float | None
    auc_time: float | None
    auc_distance_time: float | None
    brier: float | None


def _labelled_pairs(
    cases: Sequence[CaseFacts], blocking: Blocking
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    arrays = CaseArrays(cases)
    pairs = candidate_pairs(arrays, blocking)
    return pair_features(arrays, pairs), pair_labels(arrays, pairs)


def _linked_pairs(cases: Sequence[CaseFacts]) -> int:
    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        if case.offender is not None:
            counts[case.offender] += 1
    return sum(n * (n - 1) // 2 for n in counts.values())


def evaluate(
    cases: Sequence[CaseFacts], *, blocking: Blocking, train_share: float = 0.7
) -> LinkageEvaluation:
    """Train on the earliest `train_share` of the solved cases, test on the later ones.

    Only solved cases (with an offender) carry labels. The split is by time, as the model
    will be used: trained on the past, asked about new cases. Test pairs are those the
    blocking keeps; `blocking_recall` says how many linked pairs it lost on the way.
    """
    solved = sorted((c for c in cases if c.offender is not None), key=lambda c: c.midpoint)
    if len(solved) < 10:
        raise BadRequestError(
            f"{len(solved)} solved cases with an offender; linkage needs at least 10 "
            "to train and test",
            field="offender",
        )
    cut = int(len(solved) * train_share)
    train, test = solved[:cut], solved[cut:]
    x_train, y_train = _labelled_pairs(train, blocking)
    model = fit(x_train, y_train)
    baseline = fit(x_train, y_train, DISTANCE_TIME)
    x_test, y_test = _labelled_pairs(test, blocking)
    linked = _linked_pairs(test)
    probability = model.probability(x_test) if len(y_test) else np.zeros(0)
    return LinkageEvaluation(
        model=model,
        train_cases=len(train),
        test_cases=len(test),
        train_pairs=len(y_train),
        test_pairs=len(y_test),
        test_linked_pairs=int(y_test.sum()),
        blocking_recall=(int(y_test.sum()) / linked) if linked else None,
        auc_model=auc(y_test, probability),
        auc_distance=auc(y_test, -x_test[:, 0]) if len(y_test) else None,
        auc_time=auc(y_test, -x_test[:, 1]) if len(y_test) else None,
        auc_distance_time=auc(y_test, baseline.probability(x_test)) if len(y_test) else None,
        brier=float(np.mean((probability - y_test) ** 2)) if len(y_test) else None,
    )


@dataclass(frozen=True)
class LinkageComparison:
    """Stored model versions scored on one test set: the later cases of today's solved ones.

    `scores` maps each version to its (AUC, Brier score) on the same pairs, so versions
    trained on different data are compared on equal terms.
    """

    test_cases: int
    test_pairs: int
    test_linked_pairs: int
    scores: dict[int, tuple[float | None, float | None]]


def compare(
    models: Mapping[int, LinkageModel],
    cases: Sequence[CaseFacts],
    *,
    blocking: Blocking,
    train_share: float = 0.7,
) -> LinkageComparison:
    """Score each model on the later `1 - train_share` of the solved cases, by time: the
    split `evaluate` tests a version trained now on."""
    solved = sorted((c for c in cases if c.offender is not None), key=lambda c: c.midpoint)
    test = solved[int(len(solved) * train_share) :]
    x_test, y_test = _labelled_pairs(test, blocking) if len(test) > 1 else (None, None)
    if x_test is None or y_test is None or len(set(y_test.tolist())) < 2:
        raise BadRequestError(
            f"the later {len(test)} solved cases hold no linked and unlinked pairs to "
            "compare versions on",
            field="versions",
        )
    scores: dict[int, tuple[float | None, float | None]] = {}
    for version, model in models.items():
        probability = model.probability(x_test)
        scores[version] = (auc(y_test, probability),
                           float(np.mean((probability - y_test) ** 2)))  # fmt: skip
    return LinkageComparison(
        test_cases=len(test),
        test_pairs=len(y_test),
        test_linked_pairs=int(y_test.sum()),
        scores=scores,
    )
