"""The MQTT adapter's settings (`[mqtt]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator


class MqttSettings(BaseModel):
    """The MQTT subscriber for IoT sensors (docs/deploy-mqtt.md)."""

    enabled: bool = Field(
        default=False, description="Subscribe to the broker while the node runs (`zhian serve`)."
    )
    host: str = Field(default="127.0.0.1", description="Address of the MQTT broker.")
    port: int = Field(default=1883, ge=1, le=65535, description="Port of the MQTT broker.")
    client_id: str = Field(
        default="zhian-node",
        min_length=1,
        max_length=64,
        description=(
            "MQTT client id. Keep it stable: the broker keeps the session (subscriptions and "
            "unacknowledged messages) under this id across restarts."
        ),
    )
    topic_prefix: str = Field(
        default="zhian",
        min_length=1,
        description=(
            "First topic level or levels (`zhian`, `hz/zhian`); Zhian subscribes to "
            "<prefix>/# (topics <prefix>/community/device/type)."
        ),
    )
    username: str = Field(
        default="", description="User name at the broker; empty for none. ZHIAN_MQTT__USERNAME."
    )
    password: SecretStr = Field(
        default=SecretStr(""),
        description="Password at the broker. Set it in ZHIAN_MQTT__PASSWORD, not the file.",
    )
    keepalive_seconds: int = Field(
        default=60, ge=5, le=65535, description="MQTT keepalive interval, in seconds."
    )
    session_expiry_seconds: int = Field(
        default=7 * 86400,
        ge=0,
        description=(
            "How long the broker keeps Zhian's session and its queued messages while Zhian "
            "is away, in seconds (MQTT 5 session expiry)."
        ),
    )
    reconnect_min_seconds: int = Field(
        default=1, ge=1, description="First wait before reconnecting after the broker is lost."
    )
    reconnect_max_seconds: int = Field(
        default=60, ge=1, description="Longest wait between reconnection attempts (it doubles)."
    )
    batch_max_messages: int = Field(
        default=500,
        ge=1,
        le=65535,
        description=(
            "Most messages handed to the intake together; also the MQTT 5 receive maximum "
            "(unacknowledged messages the broker may send at once)."
        ),
    )
    batch_max_ms: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for a batch to fill before it goes to the intake, in ms.",
    )

    @field_validator("topic_prefix")
    @classmethod
    def _topic_levels(cls, value: str) -> str:
        # Each level is matched whole against a topic's first levels, so a level may not be
        # empty nor a wildcard; a topic starting with '$' is the broker's own, which the
        # subscription's '#' does not match.
        if any(wildcard in value for wildcard in "#+"):
            raise ValueError("the topic prefix may not hold the wildcards '#' or '+'")
        if value.startswith("$"):
            raise ValueError("the topic prefix may not start with '$' (the broker's topics)")
        if "" in value.split("/"):
            raise ValueError("the topic prefix has an empty level (a '/' at either end, or '//')")
        return value
