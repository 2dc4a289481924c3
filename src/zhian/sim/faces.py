"""Synthetic face features: a fixed embedding per person plus capture noise, base64 float32.

Each person's embedding is derived from a hash of (district seed, person reference), so it
is the same in every stream and needs no table; every capture adds fresh noise and
normalises. Two captures of one person have a cosine similarity of about 0.94, a capture
and the enrolled (noiseless) feature about 0.97, two different people about 0 ± 0.1.
"""

from __future__ import annotations

import base64
import hashlib
import math
import operator
import random
import sys
from array import array
from itertools import repeat

FEATURE_DIMENSIONS = 128
# Noise is 1/NOISE_DIVISOR of the embedding's spread: small enough that a person stays
# recognisable. Kept integral so a capture is built with integer maps, not float loops.
NOISE_DIVISOR = 4
# Embeddings kept for reuse; the oldest is dropped beyond this, so memory stays bounded.
CACHED_EMBEDDINGS = 8192
_BIG_ENDIAN = sys.byteorder == "big"


class FaceFeatures:
    """Capture features of a district's people: a fixed embedding each, fresh noise each time."""

    def __init__(self, district_seed: int) -> None:
        self._seed = district_seed
        self._cache: dict[str, array[int]] = {}

    def _embedding(self, person: str) -> array[int]:
        cached = self._cache.get(person)
        if cached is not None:
            return cached
        digest = hashlib.shake_128(f"{self._seed}:{person}".encode()).digest(FEATURE_DIMENSIONS)
        embedding = array("h", [NOISE_DIVISOR * b for b in array("b", digest)])
        if len(self._cache) >= CACHED_EMBEDDINGS:
            del self._cache[next(iter(self._cache))]
        self._cache[person] = embedding
        return embedding

    def capture(self, person: str, rng: random.Random) -> str:
        """One capture's feature: base64 of little-endian float32, unit length."""
        noise = array("b", rng.randbytes(FEATURE_DIMENSIONS))
        return _encoded(list(map(operator.add, self._embedding(person), noise)))

    def enrolled(self, person: str) -> str:
        """The feature a face access system enrolled: the embedding without capture noise
        (enrolment takes several frames at the door and keeps their mean)."""
        return _encoded(list(self._embedding(person)))


def _encoded(vector: list[int]) -> str:
    scale = 1.0 / (math.hypot(*vector) or 1.0)
    values = array("f", map(operator.mul, vector, repeat(scale, FEATURE_DIMENSIONS)))
    if _BIG_ENDIAN:
        values.byteswap()
    return base64.b64encode(values.tobytes()).decode("ascii")


def decode_feature(text: str) -> list[float]:
    """The float vector of a base64 little-endian float32 feature."""
    values = array("f", base64.b64decode(text))
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tolist()


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / ((math.hypot(*a) * math.hypot(*b)) or 1.0)
