"""Native intake: the body framing (JSON, NDJSON) and the one-item decoder."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.inputs import ANY_BYTES, EVENT_LIKE, FUZZ, JSON_VALUES, deep, mutated_json
from zhian.errors import ZhianError
from zhian.ingest.events import Event
from zhian.ingest.native.framing import split_body
from zhian.ingest.validate import ItemRejected, decode_event

ITEMS = st.one_of(ANY_BYTES, mutated_json(EVENT_LIKE), mutated_json(JSON_VALUES))


@FUZZ
@given(ITEMS)
@example(deep(100_000))
@example(b'{"type":"alarm"},{"type":"alarm"}')
@example(b"")
def test_decode_event_returns_an_event_or_a_rejection(raw: bytes) -> None:
    decoded = decode_event(raw)
    assert isinstance(decoded, Event | ItemRejected)


@FUZZ
@given(
    st.one_of(ITEMS, st.lists(ITEMS, max_size=4).map(b"\n".join)),
    st.sampled_from(["application/json", "application/x-ndjson", "text/plain", None]),
)
@example(deep(100_000), "application/json")
def test_split_body_returns_items_or_refuses(body: bytes, content_type: str | None) -> None:
    try:
        framed = split_body(body, content_type)
    except ZhianError:
        return
    for item in framed.items:
        assert isinstance(decode_event(item), Event | ItemRejected)
