"""The topic scheme `<prefix>/{community}/{device_id}/{type}` and its checks against a payload."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from zhian.ingest.events import EVENT_TYPES
from zhian.ingest.json_depth import depth_error
from zhian.ingest.validate import FieldError
from zhian.kit.characters import identifier_fault

# The quarantine's `source` column holds 255 characters; a longer topic keeps its tail
# (device and type) there, and the device is also kept whole as the sender.
SOURCE_MAX_CHARS = 255


@dataclass(frozen=True)
class TopicAddress:
    """What a topic says about its message: the community, the device and the event type."""

    topic: str
    community: str
    device_id: str
    event_type: str

    @property
    def source(self) -> str:
        """The intake source for this topic: `mqtt:<topic>`, clipped to the column width;
        a character that is not printable is written as its code point (`\\u202e`), so a
        refused topic never reorders or hides text where the quarantine shows it."""
        topic = self.topic if self.topic.isprintable() else _escaped(self.topic)
        source = f"mqtt:{topic}"
        if len(source) <= SOURCE_MAX_CHARS:
            return source
        return "mqtt:…" + topic[-(SOURCE_MAX_CHARS - 6) :]


def _escaped(text: str) -> str:
    return "".join(char if char.isprintable() else f"\\u{ord(char):04x}" for char in text)


def subscription_filter(prefix: str) -> str:
    """The one subscription Zhian makes: every topic under the prefix.

    Wider than the scheme on purpose: the broker acknowledges a device's QoS 1 publish
    whether or not anyone subscribes, so a topic the scheme does not cover (a level too
    many or too few) must still reach Zhian, to be quarantined with the reason instead of
    acknowledged and dropped. The documented ACL lets a device write only under its own id
    (`<prefix>/+/%u/#`), all of which this filter covers.
    """
    return f"{prefix}/#"


def parse_topic(prefix: str, topic: str) -> TopicAddress | FieldError:
    """The address a topic names, or why it is not a topic of the scheme."""
    # The prefix may span levels (`hz/zhian`): it is matched whole, then three levels follow.
    levels = topic.removeprefix(f"{prefix}/").split("/") if topic.startswith(f"{prefix}/") else []
    if len(levels) != 3:
        return FieldError(
            "topic", f"'{topic}' does not follow {prefix}/{{community}}/{{device}}/{{type}}"
        )
    community, device_id, event_type = levels
    if not community or not device_id:
        return FieldError("topic", f"'{topic}' has an empty community or device level")
    # Checked here, not only once mapped to an event: a refusal quotes the topic, and the
    # quarantine keeps it as the item's source, so a control or bidirectional character in
    # it is named, never repeated.
    for level, value in (("community", community), ("device", device_id)):
        if (fault := identifier_fault(value)) is not None:
            return FieldError("topic", f"the {level} level of the topic {fault}")
    if len(device_id) > 64:
        return FieldError("topic", f"the device level of '{topic}' is longer than 64 characters")
    if event_type not in EVENT_TYPES:
        return FieldError(
            "topic",
            f"'{event_type}' in '{topic}' is not an event type; expected one of "
            + ", ".join(EVENT_TYPES),
        )
    return TopicAddress(topic, community, device_id, event_type)


class PayloadIdentity(msgspec.Struct):
    """The fields of a payload the topic is checked against; anything else is the intake's."""

    type: object = None
    device_id: object = None
    id: object = None


_IDENTITY = msgspec.json.Decoder(PayloadIdentity)


def read_identity(payload: bytes) -> PayloadIdentity | None:
    """Type, device and id of a payload, or None when it is not a JSON object at all."""
    if depth_error(payload) is not None:
        return None  # refused as malformed by `decode_event`; never recursed into
    try:
        return _IDENTITY.decode(payload)
    except msgspec.DecodeError:
        return None


def topic_errors(address: TopicAddress, identity: PayloadIdentity | None) -> list[FieldError]:
    """Where the payload contradicts its topic. Fields it lacks are left to the intake."""
    if identity is None:
        return []
    errors: list[FieldError] = []
    device = identity.device_id
    if isinstance(device, str) and device != address.device_id:
        errors.append(
            FieldError(
                "device_id",
                f"'{device}' does not match the device '{address.device_id}' of topic "
                f"'{address.topic}'; a device publishes only its own events",
            )
        )
    kind = identity.type
    if isinstance(kind, str) and kind != address.event_type:
        errors.append(
            FieldError(
                "type",
                f"'{kind}' does not match the type '{address.event_type}' of topic "
                f"'{address.topic}'",
            )
        )
    return errors
