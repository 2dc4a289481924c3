"""The topic scheme, without a broker."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from zhian.ingest.mqtt import TopicAddress, parse_topic, subscription_filter
from zhian.ingest.mqtt.settings import MqttSettings
from zhian.ingest.validate import FieldError


def test_a_topic_names_community_device_and_type() -> None:
    assert subscription_filter("zhian") == "zhian/#"
    assert parse_topic("zhian", "zhian/C1/SMOKE-1/alarm") == TopicAddress(
        "zhian/C1/SMOKE-1/alarm", "C1", "SMOKE-1", "alarm"
    )


def test_a_topic_outside_the_scheme_is_refused_with_the_reason() -> None:
    unknown_type = parse_topic("zhian", "zhian/C1/SMOKE-1/temperature")
    assert isinstance(unknown_type, FieldError)
    assert unknown_type.field == "topic"
    assert "'temperature' in 'zhian/C1/SMOKE-1/temperature' is not an event type" in (
        unknown_type.reason
    )
    assert isinstance(parse_topic("zhian", "zhian/C1//alarm"), FieldError)


def test_the_quarantine_source_keeps_the_topic_within_the_column() -> None:
    short = parse_topic("zhian", "zhian/C1/DOOR1/access")
    assert isinstance(short, TopicAddress)
    assert short.source == "mqtt:zhian/C1/DOOR1/access"
    long = parse_topic("zhian", "zhian/C-330106-001/34020000001320000001/heartbeat")
    assert isinstance(long, TopicAddress)
    assert long.source == "mqtt:zhian/C-330106-001/34020000001320000001/heartbeat"
    very_long = parse_topic("zhian", "zhian/" + "c" * 300 + "/34020000001320000001/heartbeat")
    assert isinstance(very_long, TopicAddress)
    assert very_long.source.endswith("34020000001320000001/heartbeat")
    assert len(very_long.source) <= 255


def test_control_and_bidi_characters_in_a_topic_are_refused_and_never_repeated() -> None:
    for topic, level, named in [
        ("zhian/C1/DOOR\u202e1/access", "device", "U+202E"),
        ("zhian/C\x001/DOOR1/access", "community", "U+0000"),
        ("zhian/C1/ /access", "device", "blank"),
    ]:
        refused = parse_topic("zhian", topic)
        assert isinstance(refused, FieldError), topic
        assert refused.field == "topic"
        assert f"the {level} level of the topic" in refused.reason and named in refused.reason
        assert topic not in refused.reason
        # The quarantine keeps the topic as the item's source, escaped.
        source = TopicAddress(topic, "", "", "").source
        assert source.isprintable(), source
    assert TopicAddress("zhian/C1/DOOR\u202e1/access", "", "", "").source == (
        "mqtt:zhian/C1/DOOR\\u202e1/access"
    )


def test_a_prefix_of_several_levels_is_matched_whole() -> None:
    assert subscription_filter("hz/zhian") == "hz/zhian/#"
    assert parse_topic("hz/zhian", "hz/zhian/C1/SMOKE-1/alarm") == TopicAddress(
        "hz/zhian/C1/SMOKE-1/alarm", "C1", "SMOKE-1", "alarm"
    )
    for topic in ("hz/C1/SMOKE-1/alarm", "hz/zhianx/C1/SMOKE-1/alarm", "hz/zhian/C1/alarm"):
        refused = parse_topic("hz/zhian", topic)
        assert isinstance(refused, FieldError), topic
        assert "does not follow hz/zhian/{community}/{device}/{type}" in refused.reason


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("zhian/", "empty level"),
        ("/zhian", "empty level"),
        ("hz//zhian", "empty level"),
        ("zhian/#", "wildcards"),
        ("zhian/+", "wildcards"),
        ("$SYS", "broker's topics"),
    ],
)
def test_a_prefix_that_could_never_match_is_refused_naming_the_setting(
    prefix: str, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        MqttSettings(topic_prefix=prefix)
    (error,) = refused.value.errors()
    assert error["loc"] == ("topic_prefix",)
    assert reason in error["msg"]
