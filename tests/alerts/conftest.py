"""Fixtures of the alert tests: a node on a manual clock with a small district and users."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.alerts.factories import Users, load_place, make_users
from zhian.config import Settings, load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node


@pytest.fixture
def node_settings(workspace: Path) -> Settings:
    return load_settings(workspace, log={"fsync": False})


@pytest.fixture
def node(node_settings: Settings, clock: ManualClock) -> Iterator[Node]:
    with Node.open(node_settings, clock, feed=False) as opened:
        load_place(opened, now=clock.now())
        yield opened


@pytest.fixture
def users(node: Node, clock: ManualClock) -> Users:
    return make_users(node, clock.now())


@pytest.fixture
def start(clock: ManualClock) -> datetime:
    return clock.now()
