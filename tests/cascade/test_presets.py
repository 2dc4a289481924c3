"""Model parameter presets flow down: the district's values for a community below the
child apply there, unless the child's configuration allows overrides and it set its own
value; the district sees which node overrides what, within its users' scope."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    FaultyLink,
    api,
    drain,
    forwarder,
    issue_token,
    parent_settings,
)
from tests.web.session import sign_in
from zhian.cascade.wire import CONTENT_TYPE, ENCODER, Overrides, ParameterOverride
from zhian.kit.clock import ManualClock
from zhian.models.parameters import ParameterService
from zhian.node import Node
from zhian.web.app import create_app

LOCAL_USER = 7  # a user of the child who set the community's value there


def _set(node: Node, clock: ManualClock, values: dict[str, float], user_id: int) -> None:
    with node.db.session() as session:
        ParameterService(session).set_values(
            "C1", values, defaults=node.settings.models, user_id=user_id, now=clock.now()
        )


def _values(node: Node) -> dict[str, float]:
    with node.db.session() as session:
        return ParameterService(session).overrides().get("C1", {})


def _sync(parent: Node, child: Node, clock: ManualClock, *, allow: bool) -> TestClient:
    """One forwarder run of the child over a fresh link (a new node credential each time)."""
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    client = TestClient(create_app(parent))
    settings = parent_settings(credential, parameter_overrides=allow)
    forward = forwarder(child, FaultyLink(client), settings)
    drain(forward)  # registers, asks for the orders and presets, applies them
    return client


def test_a_preset_applies_below_and_replaces_the_childs_value_when_no_override_is_allowed(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    _set(parent, clock, {"vacant_absent_days": 45}, user_id=1)
    _set(child, clock, {"vacant_absent_days": 20, "moved_out_absent_days": 50}, LOCAL_USER)
    with _sync(parent, child, clock, allow=False) as client:
        assert _values(child)["vacant_absent_days"] == 45
        # A parameter the parent does not preset stays the child's own.
        assert _values(child)["moved_out_absent_days"] == 50
        command = issue_token(parent, clock, "command")
        assert api(client, command, "/api/v1/cascade/overrides").json() == []


def test_an_allowed_override_is_kept_and_the_parent_sees_it_by_scope(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    _set(parent, clock, {"vacant_absent_days": 45, "moved_out_absent_days": 60}, user_id=1)
    _set(child, clock, {"vacant_absent_days": 20}, LOCAL_USER)
    with _sync(parent, child, clock, allow=True) as client:
        assert _values(child) == {"vacant_absent_days": 20, "moved_out_absent_days": 60}
        command = issue_token(parent, clock, "command")
        seen = api(client, command, "/api/v1/cascade/overrides")
        assert seen.status_code == 200, seen.text
        assert [
            (o["node_id"], o["community_id"], o["name"], o["preset"], o["local"])
            for o in seen.json()
        ] == [(CHILD_ID, "C1", "vacant_absent_days", 45.0, 20.0)]
        outsider = issue_token(parent, clock, "outsider")
        assert api(client, outsider, "/api/v1/cascade/overrides").json() == []
        sign_in(client, "command", PASSWORD)
        page = client.get("/devices").text
        assert 'data-figure="overrides">C1:vacant_absent_days</td>' in page


def test_a_preset_withdrawn_at_the_parent_is_removed_below(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    _set(parent, clock, {"vacant_absent_days": 45}, user_id=1)
    with _sync(parent, child, clock, allow=False):
        assert _values(child) == {"vacant_absent_days": 45}
    _set(parent, clock, {"vacant_absent_days": parent.settings.models.vacant_absent_days}, 1)
    with _sync(parent, child, clock, allow=False):
        assert _values(child) == {}


def test_a_child_reports_overrides_only_inside_its_jurisdiction(
    parent: Node, clock: ManualClock
) -> None:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    report = Overrides(
        node_id=CHILD_ID,
        overrides=[ParameterOverride(community_id="C-ELSEWHERE", name="x", preset=1, local=2)],
    )
    with TestClient(create_app(parent)) as client:
        answer = client.post(
            "/api/v1/cascade/overrides",
            content=ENCODER.encode(report),
            headers={"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE},
        )
        assert answer.status_code == 403, answer.text
        assert "overrides[0].community_id" in answer.text
