"""MQTT adapter: IoT sensors publish native events to `<prefix>/{community}/{device}/{type}`."""

from zhian.ingest.mqtt.subscriber import MqttStats, MqttSubscriber
from zhian.ingest.mqtt.topics import TopicAddress, parse_topic, subscription_filter

__all__ = ["MqttStats", "MqttSubscriber", "TopicAddress", "parse_topic", "subscription_filter"]
