"""The Bloom filter in front of the duplicate index's SQLite lookups."""

from __future__ import annotations

from zhian.ingest.keyfilter import KeyFilter


def keys(prefix: str, count: int) -> list[str]:
    return [f"DEV{n % 97:05d}\x1f{prefix}-{n}" for n in range(count)]


def test_an_added_key_is_never_reported_absent() -> None:
    key_filter = KeyFilter(50_000)
    added = keys("stored", 50_000)
    for start in range(0, len(added), 5_000):
        key_filter.add(added[start : start + 5_000])
    assert key_filter.positions_maybe_held(added) == list(range(len(added)))


def test_most_new_keys_are_reported_absent() -> None:
    key_filter = KeyFilter(50_000)
    key_filter.add(keys("stored", 50_000))
    new = keys("new", 20_000)
    false_positives = len(key_filter.positions_maybe_held(new))
    assert false_positives < len(new) // 100  # sized for under 1 % at capacity


def test_the_positions_are_those_of_the_held_keys() -> None:
    key_filter = KeyFilter(1_000)
    key_filter.add(["A\x1f1", "A\x1f3"])
    maybe = key_filter.positions_maybe_held(["A\x1f1", "A\x1f2", "A\x1f3", "A\x1f4"])
    assert {0, 2} <= set(maybe)
    assert key_filter.positions_maybe_held([]) == []


def test_it_is_full_once_its_capacity_was_added() -> None:
    key_filter = KeyFilter(10)
    assert not key_filter.is_full
    key_filter.add(keys("x", key_filter.capacity))
    assert key_filter.is_full
