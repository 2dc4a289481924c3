"""The demo shows the whole product within its first minutes.

The demo's own steps (district with the temple fair, master data with synthetic identities,
accounts, watchlist, the stage of live scenarios, the replay as history with the models
run along it) on a small district, a short history and shorter model windows; then its
first live minutes, minute by minute on a manual clock. Every model of the catalogue and
every rule kind must have raised an alert, each with its evidence figures named in both
languages, and the crowd warning must carry its forecast and recommendations.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService
from zhian.alerts.schemas import AlertFilter
from zhian.cli.demo import (
    demo_community,
    demo_district,
    load_district,
    place_demo_accounts,
    replay,
    replay_chunks,
    seed_watchlist,
    stage,
)
from zhian.config import load_settings
from zhian.ingest.events import Event
from zhian.kit.clock import ManualClock
from zhian.models.catalogue import MODELS
from zhian.node import Node
from zhian.rules.crowd import CROWD_KIND
from zhian.sim import Simulation
from zhian.sim.replay import ArrivalClock
from zhian.sim.stream import default_start
from zhian.watchlists.service import WatchlistService
from zhian.web.evidence import figure_label

NOW = datetime(2026, 11, 18, 2, 10, tzinfo=UTC)  # 10:10 in the district
DAYS = 5
LIVE_MINUTES = 20
# Shorter windows, so that five days show what the default 22 days show.
SHORT_MODELS = {
    "moved_out_absent_days": 3,
    "vacant_absent_days": 3,
    "unregistered_window_days": 4,
    "unregistered_min_nights": 2,
    "group_rental_window_days": 4,
    "group_rental_min_days": 2,
    "zombie_absent_days": 2,
}
# The alert kind each model of the catalogue raises (every model must be here).
MODEL_KINDS = {model.name: model.name.removeprefix("model.") for model in MODELS}
RULE_KINDS = (
    "device_offline",
    "device_fault",
    "alarm_smoke",
    "alarm_fire",
    "alarm_sos",
    "alarm_perimeter",
    "denied_access",
    "watchlist_plate",
    "watchlist_person",
    "tailgating",
    CROWD_KIND,
)


def _count(node: Node, kind: str) -> int:
    with node.alerts() as alerts:
        return len(
            alerts.list_alerts(
                AlertFilter(kind=kind), scope=JurisdictionScope.unscoped(), per_page=1
            ).items
        )


def test_every_model_and_rule_fires_and_the_crowd_is_warned_within_minutes(
    tmp_path: Path,
) -> None:
    live_clock = ManualClock(NOW)
    district = demo_district(seed=7, scale=0.2)
    start = default_start(NOW, DAYS)
    arrival = ArrivalClock(start, live=live_clock)
    scenarios = stage(district, NOW)
    settings = load_settings(tmp_path / "demo", log={"fsync": False}, models=SHORT_MODELS)
    with Node.open(settings, arrival) as node:
        load_district(node, district)
        accounts = {username for username, _, _ in place_demo_accounts(node, district)}
        seed_watchlist(node, district)
        history = Simulation(district, start=start, end=NOW, seed=7, scenarios=scenarios)
        replay(node, history, arrival, model_step=timedelta(hours=12), show_progress=False)
        arrival.go_live()
        engine = node.rule_engine
        assert engine.wait_caught_up(timeout_seconds=120)

        live = Simulation(
            district,
            start=NOW,
            end=NOW + timedelta(minutes=LIVE_MINUTES),
            seed=8,
            scenarios=scenarios,
        ).events()
        pending: list[Event] = []
        for minute in range(1, LIVE_MINUTES + 1):
            until = NOW + timedelta(minutes=minute)
            live_clock.set(until)
            batch, pending = pending, []
            for event in live:
                if event.time > until:
                    pending.append(event)
                    break
                batch.append(event)
            if batch:
                node.intake.submit_events(batch, source="sim")
            assert engine.wait_caught_up(timeout_seconds=60)
            engine.evaluate(until)

        kinds = {kind: _count(node, kind) for kind in (*RULE_KINDS, *MODEL_KINDS.values())}
        with node.alerts() as alerts:
            crowd = alerts.list_alerts(
                AlertFilter(kind=CROWD_KIND), scope=JurisdictionScope.unscoped()
            ).items
            warned = [
                alerts.get_alert(a.id, scope=JurisdictionScope.unscoped())
                for a in crowd
                if a.tier in ("general", "major")
            ]
            # Every figure of every kind's evidence has a name in both languages (the
            # alert page shows the name, never the key; plate_token is not shown).
            unnamed = {
                (kind, key)
                for kind in kinds
                for summary in alerts.list_alerts(
                    AlertFilter(kind=kind), scope=JurisdictionScope.unscoped(), per_page=20
                ).items
                for key in alerts.get_alert(
                    summary.id, scope=JurisdictionScope.unscoped()
                ).evidence.figures
                if key != "plate_token"
                and key in {figure_label("zh", key), figure_label("en", key)}
            }
        with node.db.session() as session:
            community = demo_community(district)
            officer = next(
                u for u in AccessService(session).list_users() if u.username == "community"
            )
            scope = AccessService(session).scope_for(officer)
            entries = WatchlistService(session, clock=live_clock, scope=scope).list_entries()

    assert {"integrator", "community", "command"} <= accounts
    assert [name for name, kind in MODEL_KINDS.items() if not kinds[kind]] == []
    assert [kind for kind in RULE_KINDS if not kinds.get(kind)] == []
    assert sorted(unnamed) == []
    assert warned, "no crowd warning in the first live minutes"
    figures = warned[0].evidence.figures
    assert "forecast_density" in figures and figures["crossing_probability"]
    assert figures["close_points"] and figures["divert_to"]
    # The community officer sees the entries whose hits reach their workbench.
    assert len(entries) == 4 and {e.jurisdiction_id for e in entries} == {community}


def test_the_replay_goes_in_chunks_of_bounded_size_and_time() -> None:
    """A chunk arrives at once: its span bounds how finely the replay shows a silence."""
    district = demo_district(seed=7, scale=0.05)
    events = list(Simulation(district, start=NOW - timedelta(hours=2), end=NOW, seed=7).events())
    chunks = list(replay_chunks(iter(events), size=200, span=timedelta(minutes=5)))
    assert [e for chunk in chunks for e in chunk] == events  # all, in order
    assert all(len(c) <= 200 and c[-1].time - c[0].time < timedelta(minutes=5) for c in chunks)
    assert len(chunks) >= 24  # two hours in spans under five minutes
