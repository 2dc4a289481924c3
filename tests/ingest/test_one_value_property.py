"""Property: any sequence of JSON values joined by commas or blanks is either exactly one
value, decoded as that value alone, or refused whole; never two events from one item."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhian.errors import BadRequestError
from zhian.ingest.events import Event
from zhian.ingest.native.framing import split_body
from zhian.ingest.validate import ItemRejected, decode_event

_ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)

events = st.builds(
    lambda event_id, device_id, direction: {
        "type": "access",
        "id": event_id,
        "device_id": device_id,
        "time": "2026-11-20T09:00:00+08:00",
        "subject": {"kind": "resident", "ref": "R0001"},
        "direction": direction,
        "method": "card",
        "result": "granted",
    },
    _ids,
    _ids,
    st.sampled_from(["in", "out", "up"]),
)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
# Containers only: two scalars joined by nothing (`1` `2`) would read as one value, `12`.
containers = (
    events
    | st.dictionaries(st.text(max_size=4), scalars, max_size=3)
    | st.lists(events | scalars, max_size=3)
)
separators = st.sampled_from([",", " ", "\t", ", ", " , ", ""])


def joined(values: list[Any], seps: list[str]) -> bytes:
    parts = [json.dumps(values[0], ensure_ascii=False)]
    for sep, value in zip(seps, values[1:], strict=False):
        parts += [sep, json.dumps(value, ensure_ascii=False)]
    return "".join(parts).encode()


@given(st.lists(containers, min_size=1, max_size=4), st.lists(separators, min_size=3, max_size=3))
def test_an_item_is_one_value_or_refused_whole(values: list[Any], seps: list[str]) -> None:
    payload = joined(values, seps)

    outcome = decode_event(payload)

    if len(values) > 1:
        assert isinstance(outcome, ItemRejected)
        assert outcome.code == "malformed"
        assert "more than one JSON value" in outcome.errors[0].reason
        return
    try:
        alone: Event | None = msgspec.json.decode(payload, type=Event)
    except msgspec.ValidationError:
        alone = None
    if alone is None:
        assert isinstance(outcome, ItemRejected)
        assert outcome.code == "invalid"
    else:
        assert outcome == alone


@given(st.lists(containers, min_size=2, max_size=4), st.lists(separators, min_size=3, max_size=3))
def test_a_json_body_of_several_values_is_refused_whole(values: list[Any], seps: list[str]) -> None:
    with pytest.raises(BadRequestError):
        split_body(joined(values, seps), "application/json")


@given(st.lists(containers, min_size=1, max_size=5), st.sampled_from([",", ", ", " ,\n"]))
def test_a_json_array_yields_each_item_as_decode_event_reads_it(
    values: list[Any], sep: str
) -> None:
    body = ("[" + sep.join(json.dumps(v, ensure_ascii=False) for v in values) + "]").encode()

    framed = split_body(body, "application/json")

    assert [json.loads(item) for item in framed.items] == values
    if framed.events is not None:  # decoded in one go: only when every item is an event
        assert framed.events == [decode_event(item) for item in framed.items]
    else:
        assert any(isinstance(decode_event(item), ItemRejected) for item in framed.items)


@given(st.lists(st.lists(containers, min_size=1, max_size=3), min_size=1, max_size=4))
def test_every_ndjson_line_yields_at_most_one_event(lines: list[list[Any]]) -> None:
    body = b"\n".join(joined(values, [","] * 3) for values in lines)

    framed = split_body(body, "application/x-ndjson")

    assert len(framed.items) == len(lines)
    for values, item in zip(lines, framed.items, strict=True):
        outcome = decode_event(item)
        assert isinstance(outcome, ItemRejected) or len(values) == 1


@pytest.mark.parametrize("payload", [b"", b" ", b"\n\t "])
def test_an_empty_item_is_refused_with_its_reason(payload: bytes) -> None:
    outcome = decode_event(payload)
    assert isinstance(outcome, ItemRejected)
    assert (outcome.code, outcome.errors[0].reason) == (
        "malformed",
        "is empty; one JSON object is expected",
    )
