"""The link to the parent on the status page, its JSON twin and `zhian cascade status`, for a
child whose parent is unreachable; the parent's status shows its children by scope."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.cascade.parents import (
    FaultyLink,
    add_user,
    api,
    drain,
    forwarder,
    issue_token,
    open_parent,
    parent_settings,
    submit,
)
from tests.ingest.factories import access_event, load_master_data
from tests.web.session import sign_in
from zhian.cascade.forwarder import UpwardForwarder, read_health
from zhian.cli.main import app
from zhian.config import load_settings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

PASSWORD = "a-long-test-password-1"


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def child(tmp_path: Path, clock: ManualClock) -> Iterator[Node]:
    settings = load_settings(
        tmp_path / "community",
        web={"secret_key": "c" * 40},
        parent={
            "url": f"http://127.0.0.1:{closed_port()}",
            "node_id": "community-1",
            "token": "zat_unused",
            "ack_timeout_seconds": 1.0,
        },
    )
    # Not fed: the test steps the forwarder itself.
    with Node.open(settings, clock, feed=False) as node:
        load_master_data(node, now=clock.now())
        add_user(node, clock, "officer", "station_officer", "J-STATION")
        yield node


def test_a_down_link_shows_on_the_status_page_its_json_and_the_command(
    child: Node, clock: ManualClock
) -> None:
    submit(child, [access_event("e-1", clock.now())])
    assert child.parent_forwarder is not None
    assert child.parent_forwarder.step() == 0

    with TestClient(create_app(child)) as client:
        token = issue_token(child, clock, "officer")
        link = api(client, token, "/api/v1/status").json()["parent_link"]
        assert (link["is_up"], link["has_run"], link["cache_records"]) == (False, True, 1)
        assert "ConnectError" in link["last_error"]
        sign_in(client, "officer", PASSWORD)
        page = client.get("/status").text
        assert "上级级联链路" in page and "中断" in page
        assert "Link to the parent node" in client.get("/status?lang=en").text

    env = {
        "ZHIAN_PARENT__URL": child.settings.parent.url,
        "ZHIAN_PARENT__NODE_ID": child.settings.parent.node_id,
    }
    workspace = str(child.settings.workspace)
    result = CliRunner().invoke(app, ["cascade", "status", "-w", workspace], env=env)
    assert result.exit_code == 0, result.output
    assert "down" in result.output and "1 records" in result.output
    assert "cache alarm" not in result.output


def test_the_cache_alarm_rises_when_what_waits_passes_its_bound(
    child: Node, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    assert child.parent_forwarder is not None
    settings = child.settings.parent.model_copy(update={"cache_alarm_bytes": 1})
    forward = UpwardForwarder(
        db=child.db,
        log=child.log,
        images=child.images,
        clock=clock,
        settings=settings,
        alert_settings=child.settings.alerts,
        workspace=child.settings.workspace,
        log_dir=child.settings.log_dir,
    )
    assert not forward.health().is_cache_alarm  # nothing waits
    submit(child, [access_event("e-1", clock.now())])
    forward.step()
    health = read_health(child.settings.workspace)
    assert health is not None and health.is_cache_alarm and health.cache_bytes > 1
    assert "is filling" in caplog.text
    forward.stop()


def test_the_parents_status_lists_children_for_those_who_may_see_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    parent = open_parent(tmp_path / "district", clock)
    child = Node.open(load_settings(tmp_path / "child", web={"secret_key": "c" * 40}), clock)
    try:
        load_master_data(child, now=clock.now())
        add_user(parent, clock, "installer", "integrator", "J-STATION")
        add_user(parent, clock, "command", "command_centre", "J-CITY")
        add_user(parent, clock, "outsider", "station_officer", "J-OTHER")
        credential = issue_token(
            parent, clock, "installer", permissions=("cascade.forward",), name="community-1"
        )
        with TestClient(create_app(parent)) as client:
            submit(child, [access_event("e-1", clock.now())])
            drain(forwarder(child, FaultyLink(client), parent_settings(credential)))
            command = issue_token(parent, clock, "command")
            children = api(client, command, "/api/v1/status").json()["children"]
            assert [(c["node_id"], c["events_accepted"]) for c in children] == [("community-1", 1)]
            outsider = issue_token(parent, clock, "outsider")
            assert api(client, outsider, "/api/v1/status").json()["children"] == []
            assert api(client, command, "/api/v1/status").json()["parent_link"] is None
    finally:
        child.close()
        parent.close()
