"""Cascade tests share the GA/T 1400 node, devices and emulator fixtures, and a district
parent with its staff above a community child (a module with other needs defines its own
`parent` or `child`, which takes precedence)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import CHILD_ID, add_staff, issue_token, open_child, open_parent
from tests.ingest.viid.conftest import (  # noqa: F401 - fixtures
    camera,
    client,
    node,
    registered,
    settings,
)
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app


@pytest.fixture
def parent(tmp_path: Path, clock: ManualClock) -> Iterator[Node]:
    parent_node = open_parent(tmp_path / "district", clock)
    add_staff(parent_node, clock)
    yield parent_node
    parent_node.close()


@pytest.fixture
def child(tmp_path: Path, clock: ManualClock) -> Iterator[Node]:
    child_node = open_child(tmp_path / "community", clock)
    yield child_node
    child_node.close()


@pytest.fixture
def parent_client(parent: Node) -> Iterator[TestClient]:
    """The parent's API, as the child's forwarder and the parent's users reach it."""
    with TestClient(create_app(parent), follow_redirects=False) as api:
        yield api


@pytest.fixture
def credential(parent: Node, clock: ManualClock) -> str:
    """The child's node credential: an integrator's token at the child's station, narrowed
    to `cascade.forward`."""
    return issue_token(parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID)
