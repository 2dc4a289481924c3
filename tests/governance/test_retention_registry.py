"""The retention registry: what domains register is what a run prunes, and the docs list
every registered class."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.vault import MemoryVault
from zhian.audit.service import Actor
from zhian.db.engine import Database
from zhian.governance.context import Governance
from zhian.governance.retention import RetentionService
from zhian.governance.retention_registry import (
    ClassOutcome,
    KeptRefs,
    RetentionClass,
    RetentionRegistry,
    RetentionRun,
)
from zhian.retention_classes import node_retention_registry
from zhian.store.events import EventStore

ACTOR = Actor.user("auditor-1")
DOCS = Path(__file__).parents[2] / "docs" / "governance.md"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(tmp_path / "events.duckdb", MemoryVault()) as opened:
        yield opened


def test_every_registered_class_is_in_the_docs_retention_table(
    store: EventStore, tmp_path: Path
) -> None:
    registry = node_retention_registry(store, tmp_path / "blobs")
    documented = set(re.findall(r"^\| `(\w+)`", DOCS.read_text(encoding="utf-8"), re.MULTILINE))
    assert set(registry.names()) <= documented
    assert registry.names()[:5] == ("face", "passage", "heartbeat", "alarm", "crowd")
    assert registry.names()[-1] == "audit"
    assert "identifiers" not in registry.holdable()


def test_a_class_registered_twice_is_refused() -> None:
    registry = RetentionRegistry()
    data_class = RetentionClass(
        "tips", "zhian.tips", None, lambda run: ClassOutcome("tips", None, None, 0)
    )
    registry.register(data_class)
    with pytest.raises(ValueError, match="'tips' is registered twice"):
        registry.register(data_class)


def test_a_run_prunes_what_a_domain_registered_with_its_holds_and_keepers(
    db: Database, governance: Governance
) -> None:
    seen: list[tuple[bool, float, frozenset[str]]] = []

    def prune(run: RetentionRun) -> ClassOutcome:
        days, cutoff = run.cutoff("quarantine_days")
        seen.append((run.dry_run, days, run.kept("tips").subject_refs))
        return ClassOutcome("tips", days, cutoff, removed=3, held=1)

    registry = RetentionRegistry()
    registry.register(RetentionClass("tips", "zhian.tips", "quarantine_days", prune))
    registry.keep(("tips",), lambda session, now: _kept("R-WATCHED"))
    registry.keep(("face",), lambda session, now: _kept("R-ELSEWHERE"))
    with db.session() as session:
        service = RetentionService(
            session,
            registry=registry,
            settings=governance.settings,
            clock=governance.clock,
            audit=governance.audit(session),
        )
        service.holds.place(
            ACTOR,
            data_class="tips",
            ref_kind="subject",
            ref="R-HELD",
            case_number="A2026-0009",
            reason="a tip names a suspect",
        )
        report = service.apply(ACTOR, dry_run=True)

    assert [o.data_class for o in report.outcomes] == ["tips"]
    assert report.by_class()["tips"].removed == 3
    assert seen == [(True, governance.settings.quarantine_days, frozenset({"R-HELD", "R-WATCHED"}))]


def _kept(subject: str) -> KeptRefs:
    return KeptRefs(subject_refs=frozenset({subject}))
