"""`KeyFilter`: a Bloom filter over the duplicate index's stored keys.

Most keys the intake sees are new, and asking SQLite about each of them cost more than the
rest of the intake's work per event. The filter answers "certainly not stored" for almost
all of them from memory; a key it might hold (a stored key, or about one new key in a
hundred) is looked up in SQLite as before. It never says "absent" for a key it was given:
bits are only ever set, so a forgotten key stays a false positive until the next rebuild.

Python's `hash` of a string is salted per process, which is fine here: the filter lives in
one process and is built again from the index file at every start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

# About 10 bits and 7 probes per key: under 1 % false positives at full capacity.
_BITS_PER_KEY: Final = 10
_PROBES: Final = np.arange(7, dtype=np.uint64)
_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)


class KeyFilter:
    """Remembers which keys were added, with false positives but no false negatives.

    `capacity` is the number of keys it was sized for; past it the false positives grow,
    and the owner builds a bigger one (`is_full`).
    """

    def __init__(self, capacity: int) -> None:
        bits = 1 << 10
        while bits < capacity * _BITS_PER_KEY:
            bits <<= 1
        self.capacity = bits // _BITS_PER_KEY
        self.added = 0
        self._mask = np.uint64(bits - 1)
        self._bytes = np.zeros(bits // 8, dtype=np.uint8)

    @property
    def is_full(self) -> bool:
        return self.added >= self.capacity

    @property
    def size_bytes(self) -> int:
        return int(self._bytes.nbytes)

    def add(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        places, bits = self._probes(keys)
        np.bitwise_or.at(self._bytes, places, bits)
        self.added += len(keys)

    def positions_maybe_held(self, keys: Sequence[str]) -> list[int]:
        """Positions in `keys` of those it might hold; every other one was never added."""
        if not keys:
            return []
        places, bits = self._probes(keys)
        found = ((self._bytes[places] & bits) != 0).all(axis=1)
        return np.flatnonzero(found).tolist()

    def _probes(self, keys: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint8]]:
        """Byte offsets and bit masks of each key's probes (double hashing: h1 + i·h2)."""
        hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys)).view(np.uint64)
        # The second hash is the first one mixed, odd so that the probes never coincide.
        second = (hashes * _GOLDEN) >> np.uint64(29) | np.uint64(1)
        places = (hashes[:, None] + _PROBES[None, :] * second[:, None]) & self._mask
        bits = np.left_shift(np.uint8(1), (places & np.uint64(7)).astype(np.uint8))
        return places >> np.uint64(3), bits
