"""A photo's embedding (search by photo): real photos shipped in scikit-image, dlib's network.

The same face in another crop, scale, light or tilt agrees with the photo above the
same-person threshold and above every other person's face; a photo without a face, a file
that is not an image, an empty or too large one are refused naming `photo`; with several
faces the largest is used and the others can be picked; a photo is compared only with
features of the same model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.search import photos
from zhian.errors import BadRequestError, PayloadTooLargeError
from zhian.search.photo import (
    DIMENSIONS,
    MODEL_ID,
    SAME_PERSON_SIMILARITY,
    check_comparable,
    decode_photo,
    embedder,
)

LIMIT = 5 * 1024 * 1024


def _probe(data: bytes, face: int | None = None) -> object:
    pixels = decode_photo(data, max_bytes=LIMIT, max_side=2000)
    return embedder().probe(pixels, face=face)


def test_the_photo_has_one_face_and_a_unit_embedding_of_the_models_size() -> None:
    probe = embedder().probe(decode_photo(photos.png(photos.astronaut()), max_bytes=LIMIT,
                                          max_side=2000))  # fmt: skip
    assert len(probe.faces) == 1 and probe.chosen == 1 and not probe.picked_largest
    face = probe.faces[0]
    assert 150 <= face.left <= 200 and 60 <= face.top <= 100 and 80 <= face.width <= 100
    assert probe.vector.shape == (DIMENSIONS,) and probe.model == MODEL_ID
    assert abs(float(np.linalg.norm(probe.vector)) - 1.0) < 1e-5


def test_the_same_face_ranks_above_every_other_person() -> None:
    photo = embedder().probe(photos.astronaut()).vector
    same = {name: float(v @ photo) for name, v in photos.variant_features().items()}
    others = [float(v @ photo) for v in photos.other_people()]
    assert len(others) == 50
    # Recall: every capture of the person is at or above the threshold.
    assert all(s >= SAME_PERSON_SIMILARITY for s in same.values()), same
    # Precision: no other person is; and the worst capture of the person beats the best other.
    assert max(others) < SAME_PERSON_SIMILARITY, max(others)
    assert min(same.values()) > max(others)


def test_a_photo_without_a_face_is_refused_naming_the_photo() -> None:
    with pytest.raises(BadRequestError, match="no face found") as caught:
        _probe(photos.jpeg(photos.no_face()))
    assert caught.value.field == "photo"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "choose a photo"),
        (b"GIF89a" + b"\0" * 64, "not a JPEG or PNG"),
        (b"%PDF-1.7 not a photo", "not a JPEG or PNG"),
        (photos.png(photos.astronaut())[:2000], "not a JPEG or PNG"),  # cut short
    ],
)
def test_what_is_not_a_photo_is_refused_naming_the_photo(data: bytes, reason: str) -> None:
    with pytest.raises(BadRequestError, match=reason) as caught:
        decode_photo(data, max_bytes=LIMIT, max_side=2000)
    assert caught.value.field == "photo"


def test_a_photo_over_the_size_limit_is_refused() -> None:
    data = photos.png(photos.astronaut())
    with pytest.raises(PayloadTooLargeError, match="the limit is 1024") as caught:
        decode_photo(data, max_bytes=1024, max_side=2000)
    assert caught.value.field == "photo"


def test_with_several_faces_the_largest_is_used_and_another_can_be_picked() -> None:
    data = photos.png(photos.two_faces())
    largest = _probe(data)
    assert len(largest.faces) == 2 and largest.chosen == 1 and largest.picked_largest  # type: ignore[attr-defined]
    big, small = largest.faces  # type: ignore[attr-defined]
    assert big.width > small.width and big.left < 512 <= small.left
    picked = _probe(data, face=2)
    assert picked.chosen == 2 and not picked.picked_largest  # type: ignore[attr-defined]
    # Both are the same person: each embedding agrees with the other above the threshold.
    assert float(largest.vector @ picked.vector) >= SAME_PERSON_SIMILARITY  # type: ignore[attr-defined]
    with pytest.raises(BadRequestError, match="choose one from 1 to 2") as caught:
        _probe(data, face=3)
    assert caught.value.field == "face"


def test_a_large_photo_is_scaled_down_before_faces_are_looked_for() -> None:
    big = np.kron(photos.astronaut(), np.ones((4, 4, 1), dtype=np.uint8))  # 2048 × 2048
    pixels = decode_photo(photos.jpeg(big), max_bytes=LIMIT, max_side=1000)
    assert max(pixels.shape[:2]) == 1000
    assert len(embedder().probe(pixels).faces) == 1


@pytest.mark.parametrize("named", ["", "zhian-sim-128", "vendor-x-v2"])
def test_a_photo_is_compared_only_with_features_of_its_model(named: str) -> None:
    with pytest.raises(BadRequestError, match=MODEL_ID) as caught:
        check_comparable(named)
    assert caught.value.field == "photo"
    check_comparable(MODEL_ID)
