"""Cascade tests share the GA/T 1400 node, devices and emulator fixtures."""

from tests.ingest.viid.conftest import (  # noqa: F401 - fixtures
    camera,
    client,
    node,
    registered,
    settings,
)
