"""Fixtures of the rule tests: the alert test node, reused."""

from tests.alerts.conftest import node, node_settings, start, users

__all__ = ["node", "node_settings", "start", "users"]
