"""MQTT: topics and the identity read from a payload before the topic check."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.inputs import ANY_BYTES, EVENT_LIKE, FUZZ, ODD_TEXT, deep, mutated_json
from zhian.ingest.mqtt.topics import PayloadIdentity, TopicAddress, parse_topic, read_identity
from zhian.ingest.validate import FieldError

LEVEL = st.one_of(ODD_TEXT, st.sampled_from(["zhian", "c1", "door-1", "alarm", "+", "#", ""]))
TOPICS = st.one_of(ODD_TEXT, st.lists(LEVEL, max_size=6).map("/".join))


@FUZZ
@given(st.sampled_from(["zhian", "", "a/b"]), TOPICS)
@example("zhian", "zhian/c1/" + "d" * 65 + "/alarm")
def test_parse_topic_returns_an_address_or_a_field_error(prefix: str, topic: str) -> None:
    parsed = parse_topic(prefix, topic)
    assert isinstance(parsed, TopicAddress | FieldError)
    if isinstance(parsed, TopicAddress):
        assert parsed.source.startswith("mqtt:")


@FUZZ
@given(st.one_of(ANY_BYTES, mutated_json(EVENT_LIKE)))
@example(deep(100_000))
def test_read_identity_returns_an_identity_or_none(payload: bytes) -> None:
    assert isinstance(read_identity(payload), PayloadIdentity | None)
