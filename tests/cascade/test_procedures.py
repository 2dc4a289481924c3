"""Response procedures (预案) flow down: the district's edited procedures apply at the
community, unless the community's configuration allows overrides and it edited its own;
the district sees which node keeps its own, within its users' scope."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    FaultyLink,
    add_user,
    api,
    drain,
    forwarder,
    issue_token,
    parent_settings,
)
from tests.web.session import sign_in
from zhian.alerts.procedure_store import ProcedureRead, ProcedureService
from zhian.alerts.procedures import DEFAULTS, ProcedureStepSpec
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.web.app import create_app

LOCAL_USER = 7  # a user of the child who edited its procedure there
DISTRICT_FIRE = (
    ProcedureStepSpec("confirm", "确认火情", "Confirm the fire"),
    ProcedureStepSpec("call_119", "通知消防", "Call 119"),
    ProcedureStepSpec("district", "报分局指挥室", "Tell the district room", "command_centre"),
)
COMMUNITY_FIRE = (ProcedureStepSpec("bell", "拉响警铃", "Ring the bell"),)
DISTRICT_TAMPER = (ProcedureStepSpec("look", "查看设备", "Look at the device"),)


def _edit(
    node: Node,
    clock: ManualClock,
    kind: str,
    tier: str,
    steps: tuple[ProcedureStepSpec, ...],
    user_id: int = 1,
) -> None:
    with node.db.session() as session:
        ProcedureService(session).save(kind, tier, steps, user_id=user_id, now=clock.now())


def _procedures(node: Node) -> dict[tuple[str, str], ProcedureRead]:
    with node.db.session() as session:
        return {(p.kind, p.tier): p for p in ProcedureService(session).all()}


def _sync(parent: Node, child: Node, clock: ManualClock, *, allow: bool) -> TestClient:
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    client = TestClient(create_app(parent))
    forward = forwarder(
        child, FaultyLink(client), parent_settings(credential, procedure_overrides=allow)
    )
    drain(forward)  # registers, asks for the orders, presets and procedures, applies them
    return client


def test_procedures_edited_at_the_parent_apply_below(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    _edit(parent, clock, "alarm_fire", "*", DISTRICT_FIRE)
    _edit(parent, clock, "alarm_tamper", "minor", DISTRICT_TAMPER)
    _edit(child, clock, "alarm_fire", "*", COMMUNITY_FIRE, user_id=LOCAL_USER)
    with _sync(parent, child, clock, allow=False) as client:
        below = _procedures(child)
        assert below[("alarm_fire", "*")].steps == DISTRICT_FIRE
        assert below[("alarm_fire", "*")].origin == "parent"
        assert below[("alarm_tamper", "minor")].steps == DISTRICT_TAMPER
        # What the parent left at the built-in default is not pushed: the child's stays.
        assert below[("alarm_gas", "*")].origin == "local"
        # The child's alerts follow them: a major fire, then the command centre's steps.
        with child.alerts() as alerts:
            steps = alerts.procedures.steps_for("alarm_fire", "major")
        assert [s.key for s in steps] == [
            "confirm",
            "call_119",
            "district",
            *(s.key for s in DEFAULTS[("*", "major")]),
        ]
        command = issue_token(parent, clock, "command")
        assert api(client, command, "/api/v1/cascade/procedure-overrides").json() == []
    # The page at the child says where each came from.
    with TestClient(create_app(child)) as below_client:
        add_user(child, clock, "viewer", "command_centre", "J-CITY")
        sign_in(below_client, "viewer", PASSWORD)
        page = below_client.get("/procedures?lang=en").text
        assert '<tr data-kind="alarm_fire" data-tier="*" data-origin="parent">' in page


def test_an_allowed_override_is_kept_and_the_parent_sees_it_by_scope(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    _edit(parent, clock, "alarm_fire", "*", DISTRICT_FIRE)
    _edit(parent, clock, "alarm_tamper", "minor", DISTRICT_TAMPER)
    _edit(child, clock, "alarm_fire", "*", COMMUNITY_FIRE, user_id=LOCAL_USER)
    with _sync(parent, child, clock, allow=True) as client:
        below = _procedures(child)
        assert below[("alarm_fire", "*")].steps == COMMUNITY_FIRE
        assert below[("alarm_fire", "*")].origin == "local"
        assert below[("alarm_tamper", "minor")].steps == DISTRICT_TAMPER  # not overridden
        command = issue_token(parent, clock, "command")
        seen = api(client, command, "/api/v1/cascade/procedure-overrides")
        assert seen.status_code == 200, seen.text
        assert [(o["node_id"], o["kind"], o["tier"]) for o in seen.json()] == [
            (CHILD_ID, "alarm_fire", "*")
        ]
        outsider = issue_token(parent, clock, "outsider")
        assert api(client, outsider, "/api/v1/cascade/procedure-overrides").json() == []
        sign_in(client, "command", PASSWORD)
        page = client.get("/alerts").text
        assert 'data-figure="overrides">procedure:alarm_fire/*</td>' in page


def test_a_procedure_the_parent_stops_pushing_returns_to_the_default_below(
    parent: Node, child: Node, clock: ManualClock
) -> None:
    _edit(parent, clock, "alarm_fire", "*", DISTRICT_FIRE)
    _edit(parent, clock, "alarm_tamper", "minor", DISTRICT_TAMPER)
    with _sync(parent, child, clock, allow=False):
        assert _procedures(child)[("alarm_fire", "*")].steps == DISTRICT_FIRE
    _edit(parent, clock, "alarm_fire", "*", DEFAULTS[("alarm_fire", "*")])
    _edit(parent, clock, "alarm_tamper", "minor", ())
    with _sync(parent, child, clock, allow=False):
        below = _procedures(child)
        assert below[("alarm_fire", "*")].steps == DEFAULTS[("alarm_fire", "*")]
        assert below[("alarm_fire", "*")].origin == "local"
        assert ("alarm_tamper", "minor") not in below
