"""The MQTT deployment guide documents every `mqtt` setting and the refusal codes."""

from __future__ import annotations

from pathlib import Path

from zhian.config import MqttSettings

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "deploy-mqtt.md"


def test_every_mqtt_setting_is_documented() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for name in MqttSettings.model_fields:
        assert f"| `{name}` |" in text, f"mqtt.{name} is missing from docs/deploy-mqtt.md"


def test_the_acl_pattern_and_refusal_codes_are_documented() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert "pattern write zhian/+/%u/#" in text
    for code in ("topic", "topic_mismatch", "unknown_device"):
        assert f"`{code}`" in text
