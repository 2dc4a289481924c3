"""`zhian keys status` counts the event store's sealed face features per key, and
`zhian keys rotate` re-seals them under the new key before the old one is retired."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.store.test_face_features import captures, features_of, numbered, opened_features
from zhian.cli.main import app
from zhian.config import Settings, load_settings
from zhian.db import migrate
from zhian.db.engine import Database, make_engine
from zhian.governance.context import Governance
from zhian.governance.keys import load_keyring
from zhian.kit.clock import SystemClock
from zhian.store import EventStore
from zhian.store.engines import open_event_store

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def sealed_count(output: str, key_id: str) -> int | None:
    """The `sealed values` figure of a key's row in the status table; None without a row."""
    match = re.search(rf"^\W*{key_id}\b.*?(\d+)\W*$", output, flags=re.MULTILINE)
    return int(match.group(1)) if match else None


def open_store(settings: Settings) -> tuple[EventStore, Database]:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)  # via the module: tests/conftest.py copies a migrated template
    db = Database(engine)
    governance = Governance.load(settings.governance, settings.workspace, SystemClock())
    store = open_event_store(
        settings.store, settings.event_store_path, settings.parquet_store_path, governance.vault(db)
    )
    return store, db


def _init(workspace: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ZHIAN_DATABASE__URL", database_url)
    code, output = invoke("keys", "init", "-w", str(workspace))
    assert code == 0, output
    return load_settings(workspace)


@pytest.fixture
def node_settings(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return _init(tmp_path / "node", database_url, monkeypatch)


@pytest.fixture(params=["duckdb", "parquet"])
def any_store_settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """A workspace whose event store is the DuckDB file or the Parquet folder."""
    monkeypatch.setenv("ZHIAN_STORE__TYPE", request.param)
    return _init(tmp_path / "node", database_url, monkeypatch)


def test_status_counts_store_features_and_rotate_reseals_them(
    any_store_settings: Settings,
) -> None:
    node_settings = any_store_settings
    workspace = str(node_settings.workspace)
    events = captures(7)
    store, db = open_store(node_settings)
    with store:
        store.apply(numbered(events))
    db.engine.dispose()

    code, output = invoke("keys", "status", "-w", workspace)
    assert code == 0, output
    assert sealed_count(output, "k1") == 7  # no resident yet: these are all store features

    code, output = invoke("keys", "rotate", "-w", workspace)
    assert code == 0, output
    assert "face_events.feature (event store): 7" in output
    assert "Retired keys: k1" in output
    assert set(load_keyring(node_settings.governance, node_settings.workspace).keys) == {"k2"}

    code, output = invoke("keys", "status", "-w", workspace)
    assert code == 0, output
    assert (sealed_count(output, "k2"), sealed_count(output, "k1")) == (7, None)
    store, db = open_store(node_settings)  # with the rotated ring alone
    with store:
        assert opened_features(store) == features_of(events)
    db.engine.dispose()


def test_rotate_keeps_the_old_keys_while_a_node_holds_the_store(node_settings: Settings) -> None:
    workspace = str(node_settings.workspace)
    store, db = open_store(node_settings)
    with store:
        store.apply(numbered(captures(3)))
    db.engine.dispose()
    # Another process holding the file, as a running node does.
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE, str(node_settings.event_store_path)],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
            code, output = invoke("keys", "status", "-w", workspace)
            assert code == 0, output
            assert "in use by a running node" in output and sealed_count(output, "k1") == 0
            code, output = invoke("keys", "rotate", "-w", workspace)
            assert code == 0, output
            assert "Retired keys" not in output and "Stop the node" in output
        finally:
            holder.kill()
    ring = load_keyring(node_settings.governance, node_settings.workspace)
    assert (ring.active, set(ring.keys)) == ("k2", {"k1", "k2"})
    code, output = invoke("keys", "rotate", "-w", workspace)  # the node stopped: finish
    assert code == 0, output
    assert "face_events.feature (event store): 3" in output
    assert "Retired keys: k1, k2" in output


HOLD_STORE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""
