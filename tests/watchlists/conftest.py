"""Fixtures of the watchlist tests: the alert test node."""

from tests.alerts.conftest import node, node_settings, start, users

__all__ = ["node", "node_settings", "start", "users"]
