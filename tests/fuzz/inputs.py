"""Strategies for hostile input: arbitrary bytes, and JSON that is nearly right.

Near-valid input reaches further into a parser than random bytes do: a real-looking value
with one mutation (cut short, a byte flipped, a second value appended), deep nesting, huge
numbers and unusual unicode (NUL, bidi overrides, lone surrogates escaped, astral planes).
"""

from __future__ import annotations

import json

from hypothesis import settings
from hypothesis import strategies as st

FUZZ = settings.get_profile("zhian-fuzz")
"""The settings of every fuzz test (registered in conftest.py)."""

ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x00", "\u202e", "\u2066", "\ufeff", "\U0001f525", "\\", '"']),
    ),
    max_size=40,
)
HUGE_NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "1" * 500, "0." + "0" * 400 + "1"]),
)

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.integers(), ODD_TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ODD_TEXT, inner, max_size=4)
    ),
    max_leaves=20,
)


def deep(depth: int, opener: bytes = b"[", closer: bytes = b"]") -> bytes:
    return opener * depth + closer * depth


@st.composite
def mutated_json(draw: st.DrawFn, base: st.SearchStrategy[object]) -> bytes:
    """A JSON text from `base`, then at most one hostile mutation."""
    raw = json.dumps(draw(base), ensure_ascii=draw(st.booleans())).encode()
    mutation = draw(
        st.sampled_from(
            ["none", "truncate", "flip", "append", "deep", "huge", "surrogate", "bom", "gbk"]
        )
    )
    if mutation == "truncate" and raw:
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if mutation == "flip" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ draw(st.integers(1, 255))]) + raw[at + 1 :]
    if mutation == "append":
        return raw + draw(st.sampled_from([b",", b" ", b"\n", b"x"])) + raw
    if mutation == "deep":
        depth = draw(st.sampled_from([64, 65, 1_000, 100_000]))
        if draw(st.booleans()):
            return deep(depth, b'{"a":', b"}")
        return deep(depth)
    if mutation == "huge":
        number = str(draw(HUGE_NUMBERS)).encode()
        return raw.replace(b"0", number, 1) if b"0" in raw else number
    if mutation == "surrogate":
        return raw.replace(b'"', b'"\\ud800', 1)
    if mutation == "bom":
        return b"\xef\xbb\xbf" + raw
    if mutation == "gbk":
        return raw + "\u4e2d".encode("gbk")
    return raw


ANY_BYTES = st.binary(max_size=512)

EVENT_LIKE = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["access", "vehicle", "face", "alarm", "heartbeat", "crowd", ""]),
        "id": ODD_TEXT,
        "device_id": ODD_TEXT,
        "occurred_at": st.sampled_from(["2026-01-01T00:00:00Z", "", "9999-99-99", "x"]),
    },
    optional={"plate": ODD_TEXT, "level": st.integers(), "feature": ODD_TEXT, "x": JSON_VALUES},
)
