"""`registry.draft_due_days`: the registration drafts' due time is the node's setting, and
the statistics (and the assessment built on them) count drafts as due on that day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from tests.web.test_assessment_indicators import stats_value
from tests.web.test_registry_loop import _confirm, _raise
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.models import RegistrationDraft


@pytest.fixture
def node_settings() -> dict[str, Any]:
    return {"registry": {"draft_due_days": 3}}


def test_drafts_fall_due_after_the_configured_days(
    client: TestClient, node: Node, clock: ManualClock
) -> None:
    assert node.settings.registry.draft_due_days == 3
    node.rule_engine.stop()
    log_in(client, "station")
    for token in ("card:tok_a", "card:tok_b"):
        _confirm(client, _raise(node, "model.unregistered_resident", token, "C1-B1-U1"))
    created = clock.now()
    with node.db.session() as session:
        drafts = sorted(d.id for d in session.query(RegistrationDraft).all())
    assert len(drafts) == 2
    # One draft dismissed after two days (inside its 3 days); the other left open.
    clock.advance(timedelta(days=2))
    log_in(client, "station")
    dismissed = client.post(f"/registration-drafts/{drafts[0]}/dismiss",
                            data={"reason": "核实为临时访客，不需登记"})  # fmt: skip
    assert dismissed.status_code == 303, dismissed.text
    clock.advance(timedelta(days=6))

    log_in(client, "command")
    due_day = (created + timedelta(days=3)).strftime("%Y-%m-%d")
    default_due_day = (created + timedelta(days=7)).strftime("%Y-%m-%d")
    # Due on the third day: one done in time, one still open (late).
    assert stats_value(client, "registry_tasks_completed", due_day) == 50.0
    # Nothing falls due on the seventh day (the default) under this setting.
    assert stats_value(client, "registry_tasks_completed", default_due_day) is None
