"""Fixtures for intake tests: a running node with a small slice of master data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.ingest.factories import load_master_data
from zhian.config import Settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app


@pytest.fixture
def node(settings: Settings, clock: ManualClock) -> Iterator[Node]:
    with Node.open(settings, clock) as running:
        yield running


@pytest.fixture
def tokens(node: Node, clock: ManualClock) -> dict[str, str]:
    return load_master_data(node, now=clock.now())


@pytest.fixture
def client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
