"""`zhian demo`: a whole synthetic district, live, in the browser, on the embedded default."""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from zhian.access.roles import Role, role_name
from zhian.access.service import AccessService
from zhian.cli.common import console, progress_bar
from zhian.cli.node_commands import WORKSPACE_MARKER, write_workspace
from zhian.cli.running import claim_for_serving
from zhian.config import load_settings
from zhian.db.migrate import upgrade_url
from zhian.devices.service import DeviceService
from zhian.ingest.events import HISTORY_SUFFIX, Event
from zhian.kit.clock import Clock, SystemClock
from zhian.kit.running import find_running_node, loopback_url
from zhian.models.optins import add_welfare_optins
from zhian.node import Node
from zhian.registry.importer import import_paths
from zhian.rules.crowd_data import CrowdDataService, FlowPointIn
from zhian.sim import District, Simulation, build_district
from zhian.sim.replay import ArrivalClock, ReplayProgress
from zhian.sim.scenarios import SCENARIOS, Scenario
from zhian.sim.scenarios_crowd import TempleFair, fair_flow_points, has_fair, with_temple_fair
from zhian.sim.scenarios_demo import demo_scenarios
from zhian.sim.scenarios_housing import WELFARE_OPTIN
from zhian.sim.stream import default_start
from zhian.watchlists.demo import seed_demo_watchlist, watched_cars

logger = logging.getLogger(__name__)

REPLAY_CHUNK = 5000
# No more simulated time than this per chunk: a chunk arrives at once (at its last
# event's time), so this is how finely the replay shows a device's silence; well under
# the device-offline period (15 min by default), so only real outages raise alerts.
REPLAY_CHUNK_SPAN = timedelta(minutes=5)
# The longest model window (a resident unseen for 21 days has moved out) and a day more.
DEFAULT_DAYS = 22.0
# During the replay the batch models run every this many simulated hours, as they would
# have run live, so their alerts open over the replayed weeks; once more at its end.
MODEL_STEP_HOURS = 6.0
# How long stopping the demo waits for the replay to put down its chunk (or model run).
STOP_WAIT_SECONDS = 120.0
# Replayed days are history: their alerts open at their own times (zhian.rules.engine).
HISTORY_SOURCE = "sim" + HISTORY_SUFFIX


def prepare_workspace(workspace: Path, *, fresh: bool) -> None:
    """Start from an empty workspace; only ever delete a folder Zhian made itself."""
    running = find_running_node(workspace)
    if running is not None:
        console.print(
            f"[red]A node is running on {workspace} (pid {running.pid}, {running.url}); "
            "stop it first, or choose another --workspace."
        )
        raise typer.Exit(2)
    if fresh and workspace.exists():
        if not (workspace / WORKSPACE_MARKER).exists():
            console.print(
                f"[red]{workspace} exists and is not a Zhian workspace; refusing to delete it. "
                "Choose another --workspace."
            )
            raise typer.Exit(2)
        shutil.rmtree(workspace)
    write_workspace(workspace)


def load_district(node: Node, district: District) -> dict[str, str]:
    """Import the district's master data through the CSV importer; issue device tokens."""
    folder = node.settings.workspace / "masterdata"
    # Residents come with enrolled face features (sealed on import by the node's keys), so
    # the unregistered-resident alerts can name registry candidates as in the field.
    # Residents also carry synthetic names, ID numbers and phones (sealed on import), so
    # masking and audited reveal can be seen.
    district.write_csv(folder, face_features=True, identities=True)
    reports = import_paths(
        node.db, sorted(folder.glob("*.csv")), identity=node.governance.require_sealer()
    )
    rejected = sum(report.rejected for report in reports)
    if rejected:
        raise RuntimeError(
            f"the simulator produced {rejected} master-data rows the importer refused"
        )
    with node.db.session() as session:
        service = DeviceService(session)
        tokens = service.issue_tokens(
            [str(row["id"]) for row in district.tables["devices"]], now=node.clock.now()
        )
        # The temple fair's flow-limiting points: what the crowd warning recommends closing
        # (only a district built with the fair has its zones).
        if has_fair(district):
            CrowdDataService(session).put_flow_points(
                [FlowPointIn.model_validate(row) for row in fair_flow_points()]
            )
    node.refresh_directory()
    return tokens


def place_demo_accounts(node: Node, district: District) -> list[tuple[str, str, str]]:
    """One login per main role, each placed at the level of the tree where it works."""
    first_of_level: dict[str, str] = {}
    for row in district.tables["jurisdictions"]:
        first_of_level.setdefault(str(row["level"]), str(row["id"]))
    top = first_of_level.get("district") or first_of_level["city"]
    community = first_of_level.get("community", first_of_level.get("station", top))
    placement = {
        Role.COMMAND_CENTRE: top,
        Role.ANALYST: top,
        Role.AUDITOR: top,
        Role.STATION_OFFICER: first_of_level.get("station", top),
        Role.COMMUNITY_OFFICER: community,
        Role.GRID_WORKER: community,
        Role.PROPERTY_SECURITY: community,
        Role.INTEGRATOR: top,
    }
    with node.db.session() as session:
        return AccessService(session).ensure_demo_accounts(
            {role.value: jurisdiction for role, jurisdiction in placement.items()},
            now=node.clock.now(),
        )


def demo_community(district: District) -> str:
    """The community jurisdiction where the community officer's demo account works."""
    return next(
        str(row["id"]) for row in district.tables["jurisdictions"] if row["level"] == "community"
    )


def seed_watchlist(node: Node, district: District) -> None:
    """Stolen-vehicle and missing-person reports of the community officer's community,
    owned by the command centre: the officers placed there, and those above, see the
    entries and their hits."""
    with node.db.session() as session:
        owner = next(u for u in AccessService(session).list_users() if u.username == "command")
    seed_demo_watchlist(node, district, user_id=owner.id, jurisdiction_id=demo_community(district))
    node.refresh_directory()


def demo_district(seed: int, scale: float) -> District:
    """The simulated district with the temple fair's sub-zones and counters."""
    return with_temple_fair(build_district(seed=seed, scale=scale))


def stage(district: District, live_at: datetime) -> list[type[Scenario]]:
    """Every scenario but the all-day temple fair, and the demo's stage at `live_at`."""
    plates = {car.plate for car in watched_cars(district, demo_community(district))}
    driven = [
        (district.sites[car.site].vehicle_gates[0], car)
        for car in district.cars
        if car.plate in plates and district.sites[car.site].vehicle_gates
    ]
    return [
        *(s for s in SCENARIOS if s is not TempleFair),
        *demo_scenarios(live_at, watched_cars=driven),
    ]


def replay(
    node: Node,
    simulation: Simulation,
    arrival: ArrivalClock,
    *,
    model_step: timedelta = timedelta(hours=MODEL_STEP_HOURS),
    show_progress: bool = True,
    progress_out: ReplayProgress | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Push simulated history through the real intake as history (alerts at their own
    times), running the batch models every `model_step` of it and once at its end.
    `progress_out` follows it for the pages; `stop` set ends it early (no last run)."""
    start = simulation.epoch + timedelta(seconds=simulation.timeline.start_t)
    end_t = simulation.timeline.end_t
    assert end_t is not None  # history ends
    total_seconds = end_t - simulation.timeline.start_t
    accepted = 0
    next_models = start + model_step
    began = time.perf_counter()
    with progress_bar() if show_progress else nullcontext() as progress:
        task = (
            progress.add_task("Replaying simulated days", total=total_seconds, rate="")
            if progress is not None
            else None
        )
        for chunk in replay_chunks(simulation.events()):
            if stop is not None and stop.is_set():
                return accepted
            arrival.arrive(chunk)  # the chunk arrives at its last event's time
            result = node.intake.submit_events(chunk, source=HISTORY_SOURCE)
            accepted += result.accepted
            if progress_out is not None:
                progress_out.advance(chunk[-1].time, accepted)
            if chunk[-1].time >= next_models:
                _run_models(node, simulation)
                next_models = chunk[-1].time + model_step
            if progress is not None and task is not None:
                done = (chunk[-1].time - start).total_seconds()
                rate = accepted / max(time.perf_counter() - began, 1e-9)
                progress.update(task, completed=int(done), rate=f"{rate:,.0f} ev/s")
        if progress is not None and task is not None:
            progress.update(task, completed=total_seconds)
    _run_models(node, simulation)
    return accepted


def replay_chunks(
    events: Iterator[Event], *, size: int = REPLAY_CHUNK, span: timedelta = REPLAY_CHUNK_SPAN
) -> Iterator[list[Event]]:
    """Events in time order as chunks of at most `size` events and `span` of time."""
    chunk: list[Event] = []
    for event in events:
        if chunk and (len(chunk) >= size or event.time - chunk[0].time >= span):
            yield chunk
            chunk = []
        chunk.append(event)
    if chunk:
        yield chunk


def _run_models(node: Node, simulation: Simulation) -> None:
    """One model run over what the store holds now (the replay's clock): the opt-ins the
    simulator planted so far are recorded first (residents who asked for welfare checks)."""
    optins = [
        (record.subject, str(record.detail.get("requested_by", "self")), record.start)
        for record in simulation.truth
        if record.scenario == WELFARE_OPTIN
    ]
    if optins:
        with node.db.session() as session:
            add_welfare_optins(session, optins)
    node.feeder.wait_caught_up(timeout_seconds=600)
    node.models.run_once()


class LiveStream(threading.Thread):
    """Keeps feeding the district's events at real-time speed, once a second."""

    def __init__(self, node: Node, events: Iterator[Event], clock: Clock) -> None:
        super().__init__(name="zhian-demo-live", daemon=True)
        self._node = node
        self._events = events
        self._clock = clock
        self._stop_requested = threading.Event()

    def run(self) -> None:
        pending: Event | None = None
        while not self._stop_requested.wait(1.0):
            now = self._clock.now()
            batch: list[Event] = []
            if pending is not None:
                if pending.time > now:
                    continue
                batch.append(pending)
                pending = None
            for event in self._events:
                if event.time > now:
                    pending = event
                    break
                batch.append(event)
            if batch:
                self._node.intake.submit_events(batch, source="sim")

    def stop(self) -> None:
        self._stop_requested.set()


def demo(
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Folder for the demo's data.")
    ] = Path("zhian-demo"),
    days: Annotated[
        float, typer.Option(min=0.05, help="Simulated days to replay (22: every model fires).")
    ] = DEFAULT_DAYS,
    scale: Annotated[float, typer.Option(min=0.05, help="District size (1 = a pilot).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8600,
    fresh: Annotated[bool, typer.Option(help="Start from an empty workspace.")] = True,
    serve: Annotated[bool, typer.Option(help="Start the web server and live stream.")] = True,
) -> None:
    """Build a synthetic district and serve the UI at once; replay days of history behind it
    (progress on every page), then stream live. With --no-serve: replay, then exit."""
    clock = SystemClock()
    prepare_workspace(workspace, fresh=fresh)
    # The demo signs its sessions with a fresh key each run; a real node takes its key from
    # ZHIAN_WEB__SECRET_KEY.
    settings = load_settings(workspace, web={"secret_key": secrets.token_urlsafe(32)})
    upgrade_url(settings.database_url)
    with console.status("Building the synthetic district…"):
        district = demo_district(seed, scale)
    now = clock.now()
    start = default_start(now, days)
    scenarios = stage(district, now)
    # History arrives at its own times, then the clock is live (zhian.sim.replay): an
    # outage going on at `now` is already past the offline period when the live stream
    # takes over, so the wall shows it at once.
    arrival = ArrivalClock(start, live=clock)
    # Serving, the demo publishes the running-node marker as `zhian serve` does, so other
    # commands on its workspace send their work to it (docs/cli.md).
    claim = claim_for_serving(workspace, loopback_url(host, port)) if serve else nullcontext()
    # People's sessions keep wall time while the node's clock replays history.
    with claim, Node.open(settings, arrival, wall_clock=clock) as node:
        with console.status("Importing master data and issuing device tokens…"):
            tokens = load_district(node, district)
            accounts = place_demo_accounts(node, district)
            seed_watchlist(node, district)
        history = Simulation(district, start=start, end=now, seed=seed, scenarios=scenarios)
        if not serve:
            accepted = replay(node, history, arrival)
            _go_live(node, arrival)
            _print_summary(node, district, tokens, accepted, host, port)
            _print_accounts(accounts)
            return
        live_stream = Simulation(
            district, start=now, end=None, seed=seed + 1, scenarios=scenarios
        ).events()
        # The pages open now and fill in as the replay goes on (progress on every page);
        # the live stream takes over where the replay ends.
        progress = ReplayProgress(start, now)
        background = DemoBackground(
            node, history, arrival, progress, LiveStream(node, live_stream, clock)
        )
        background.on_done = lambda accepted: _print_summary(
            node, district, tokens, accepted, host, port
        )
        _print_accounts(accounts)
        console.print(
            f"Open [bold]http://{host}:{port}/[/] now: the replay of {days:g} days goes on "
            "behind the pages, which show its progress and fill in as it goes."
        )
        background.start()
        try:
            _serve(node, host, port, progress)
        finally:
            background.stop()


def _go_live(node: Node, arrival: ArrivalClock) -> None:
    """The replay is over: the clock is live again, the store holds the history."""
    arrival.go_live()
    with console.status("Filling the event store…"):
        node.feeder.wait_caught_up(timeout_seconds=600)


class DemoBackground(threading.Thread):
    """While the pages serve: the replay of history, then the live stream."""

    def __init__(
        self,
        node: Node,
        history: Simulation,
        arrival: ArrivalClock,
        progress: ReplayProgress,
        live: LiveStream,
    ) -> None:
        super().__init__(name="zhian-demo-replay", daemon=True)
        self._node = node
        self._history = history
        self._arrival = arrival
        self._progress = progress
        self._live = live
        self._stop_requested = threading.Event()
        self.on_done: Callable[[int], None] = lambda _accepted: None

    def run(self) -> None:
        try:
            self._replay_then_go_live()
        except Exception as error:  # any failure must reach the pages
            # The thread would die silently and the pages go on showing progress: log the
            # error in full, and have every page say the replay failed and what to do.
            logger.exception("the demo's replay of its history failed")
            self._progress.fail(f"{type(error).__name__}: {error}".splitlines()[0][:200])

    def _replay_then_go_live(self) -> None:
        node, arrival = self._node, self._arrival
        accepted = replay(
            node, self._history, arrival, progress_out=self._progress, stop=self._stop_requested
        )
        if self._stop_requested.is_set():
            return
        _go_live(node, arrival)
        self._progress.finish()
        self.on_done(accepted)
        self._live.start()

    def stop(self) -> None:
        """End the replay at its next chunk (or the live stream), before the node closes."""
        self._stop_requested.set()
        self.join(timeout=STOP_WAIT_SECONDS)
        if self._live.is_alive():
            self._live.stop()
            self._live.join(timeout=5)


def _serve(node: Node, host: str, port: int, replay: ReplayProgress) -> None:
    import uvicorn

    from zhian.web.app import create_app

    app = create_app(node)
    app.state.replay = replay  # the pages' progress line (zhian.web.layout.replay_banner)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _print_summary(
    node: Node, district: District, tokens: dict[str, str], accepted: int, host: str, port: int
) -> None:
    table = Table("master data", "rows")
    for entity, rows in district.tables.items():
        table.add_row(entity, f"{len(rows):,}")
    console.print(table)
    sample_device, sample_token = next(iter(tokens.items()))
    token_file = node.settings.workspace / "demo-device-tokens.csv"
    token_file.write_text(
        "device_id,token\n" + "".join(f"{d},{t}\n" for d, t in tokens.items()), encoding="utf-8"
    )
    token_file.chmod(0o600)
    console.print(
        Panel.fit(
            f"Replayed {accepted:,} events into {node.settings.workspace}\n"
            f"Open [bold]http://{host}:{port}/[/]  (English: http://{host}:{port}/?lang=en)\n"
            f"API docs: http://{host}:{port}/docs\n"
            f"Device tokens for the intake API: {token_file}\n"
            f"  e.g. curl -H 'Authorization: Bearer {sample_token}' "
            f"-H 'Content-Type: application/json' http://{host}:{port}/api/v1/events "
            f"-d '{{…an event from device {sample_device}…}}'",
            title="Zhian demo",
        )
    )


def _print_accounts(accounts: list[tuple[str, str, str]]) -> None:
    table = Table("demo account 演示账号", "password 密码", "role 角色", title="Log in at /login")
    for username, password, role in accounts:
        table.add_row(username, password, f"{role} · {role_name(Role(role))}")
    console.print(table)
