"""The pages under load: 50 signed-in users on the workbench and the alert wall at once.

Run: .venv/bin/python bench/pages.py [--users 50] [--seconds 20] [--days 2] [--baseline REF]

A node process on the embedded default (SQLite, the in-process log, DuckDB, one uvicorn
process: what `zhian serve` runs) is prepared as `zhian demo` prepares one: the synthetic
district's master data, the demo accounts, the demo watchlist and `--days` of simulated
history replayed through the intake, so the rules have raised the alerts the pages show.
Then this process signs `--users` users in through the login form (spread over the
roles that see alerts: command centre, station officer, community officer, grid worker,
property security, analyst) and each user requests the pages in turn, as fast as the answers come
(closed loop, no think time: the worst case of a busy shift). Prints requests/s and
p50/p95/p99 per page (target: p99 <= 500 ms for the workbench and the alert wall).

With `--baseline REF` (a git commit, e.g. the one before the fix) the same run is made
first against a checkout of REF in a temporary git worktree, then against this tree, and
the ratio is printed: both under the same load generator, on the same machine, minutes
apart.

`serve` is the node half, started by the load half in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
# Pages each user asks for in turn; the workbench and the wall are the target's pages, the
# partials are what the live feed makes every open page reload when alerts move.
PAGES: tuple[str, ...] = (
    "/workbench",
    "/alerts",
    "/workbench/_todos",
    "/alerts/_rows",
    "/workbench/_counts",
)
TARGET_PAGES = ("/workbench", "/alerts")
CPU_PER_REQUEST = "cpu ms per request"
# Demo accounts that see alerts (auditors and admins do not have `alerts.view`).
ROLES = ("command", "station", "community", "grid", "property", "analyst")
READY_TIMEOUT_SECONDS = 900.0
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- the node half ------------------------------------------------------------------------


def serve(workspace: Path, port: int, days: float, scale: float, accounts_file: Path) -> None:
    """Prepare a demo-like workspace, write its accounts, and serve the app (blocks); a
    workspace whose accounts file exists is served as it is."""
    import uvicorn

    from zhian.cli.demo import load_district, place_demo_accounts, seed_watchlist
    from zhian.cli.node_commands import write_workspace
    from zhian.config import load_settings
    from zhian.db.migrate import upgrade_url
    from zhian.kit.clock import SystemClock
    from zhian.node import Node
    from zhian.sim import build_district, stream_events
    from zhian.sim.replay import ArrivalClock
    from zhian.web.app import create_app

    if accounts_file.exists():  # prepared by an earlier run: serve it as it is
        settings = load_settings(workspace, web={"secret_key": secrets.token_urlsafe(32)})
        with Node.open(settings) as node:
            uvicorn.run(create_app(node), host="127.0.0.1", port=port, log_level="warning")
        return
    write_workspace(workspace)
    settings = load_settings(workspace, web={"secret_key": secrets.token_urlsafe(32)})
    upgrade_url(settings.database_url)
    district = build_district(seed=7, scale=scale)
    clock = SystemClock()
    now = clock.now()
    start = now - timedelta(days=days)
    arrival = ArrivalClock(start, live=clock)
    began = time.perf_counter()
    with Node.open(settings, arrival) as node:
        load_district(node, district)
        accounts = place_demo_accounts(node, district)
        seed_watchlist(node, district)
        history = arrival.follow(stream_events(district, start=start, end=now, seed=7))
        accepted = 0
        while chunk := list(itertools.islice(history, 5000)):
            accepted += node.intake.submit_events(chunk, source="sim").accepted
        arrival.go_live()
        node.feeder.wait_caught_up(timeout_seconds=600)
        node.rule_engine.drain()
        print(
            f"node: {accepted:,} events replayed in {time.perf_counter() - began:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        accounts_file.write_text(json.dumps(accounts), encoding="utf-8")
        uvicorn.run(create_app(node), host="127.0.0.1", port=port, log_level="warning")


# -- the load half ------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0
    alerts: str = ""
    server_cpu_seconds: float | None = None
    # The machine's 1-minute load average as the measured window began and ended: on a
    # shared machine the latencies depend on it, the node's CPU per request hardly does.
    load_average: tuple[float, float] = (0.0, 0.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _sign_in(base: str, username: str, password: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=60.0, follow_redirects=False)
    form = await client.get("/login")
    found = CSRF_FIELD.search(form.text)
    if found is None:
        raise RuntimeError("the login form carries no CSRF token")
    answer = await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": found.group(1),
            "next": "/workbench",
        },
    )
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in of {username} failed: {answer.status_code}")
    return client


async def _user(
    client: httpx.AsyncClient, offset: int, run: Run, deadline: float, warm_until: float
) -> None:
    n = offset
    while (now := time.perf_counter()) < deadline:
        page = PAGES[n % len(PAGES)]
        n += 1
        began = time.perf_counter()
        try:
            answer = await client.get(page)
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server closed while idle (uvicorn: after 5 s, as
            # while the other users sign in): ask again on a fresh one, time that.
            began = time.perf_counter()
            answer = await client.get(page)
        took = time.perf_counter() - began
        if now < warm_until:
            continue
        if answer.status_code != 200:
            run.errors[page] += 1
        run.samples[page].append(took)


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the process has used so far; None where /proc is absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(
    base: str, accounts: list[list[str]], users: int, seconds: float, run: Run, pid: int | None
) -> None:
    by_name = {username: password for username, password, _role in accounts}
    clients = []
    for i in range(users):
        username = ROLES[i % len(ROLES)]
        clients.append(await _sign_in(base, username, by_name[username]))
    first = await clients[0].get("/alerts/_rows")
    total = re.search(r'id="alert-total">(\d+)<', first.text)
    run.alerts = total.group(1) if total else "?"
    warm_up = min(5.0, seconds / 4)
    began = time.perf_counter()
    users_done = asyncio.gather(
        *(
            _user(client, i, run, began + warm_up + seconds, began + warm_up)
            for i, client in enumerate(clients)
        )
    )
    await asyncio.sleep(warm_up)
    cpu_before = None if pid is None else _cpu_seconds(pid)
    load_before = os.getloadavg()[0]
    await asyncio.sleep(seconds)
    cpu_after = None if pid is None else _cpu_seconds(pid)
    run.load_average = (load_before, os.getloadavg()[0])
    await users_done
    if cpu_before is not None and cpu_after is not None:
        run.server_cpu_seconds = cpu_after - cpu_before
    run.seconds = seconds
    for client in clients:
        await client.aclose()


def _start_node(
    src: Path, workspace: Path, port: int, days: float, scale: float
) -> tuple[subprocess.Popen[bytes], Path]:
    accounts_file = workspace.parent / f"{workspace.name}-accounts.json"
    env = {**os.environ, "PYTHONPATH": str(src)}
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "serve",
            "--workspace",
            str(workspace),
            "--port",
            str(port),
            "--days",
            str(days),
            "--scale",
            str(scale),
            "--accounts",
            str(accounts_file),
        ],
        env=env,
        start_new_session=True,
    )
    return child, accounts_file


def _wait_ready(child: subprocess.Popen[bytes], accounts_file: Path, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the node exited with {child.returncode}")
        if accounts_file.exists():
            with suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                    return
        time.sleep(0.5)
    raise RuntimeError("the node did not become ready")


def measure(label: str, src: Path, args: argparse.Namespace, tmp: Path) -> Run:
    port = _free_port()
    workspace = tmp / label
    child, accounts_file = _start_node(src, workspace, port, args.days, args.scale)
    run = Run(label)
    try:
        _wait_ready(child, accounts_file, port)
        accounts = json.loads(accounts_file.read_text(encoding="utf-8"))
        asyncio.run(
            _drive(f"http://127.0.0.1:{port}", accounts, args.users, args.seconds, run, child.pid)
        )
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return run


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(run: Run, users: int) -> dict[str, float]:
    """Print the run's table; return p99 (ms) per target page, and the node's CPU per request
    (ms) under `CPU_PER_REQUEST`."""
    print(f"\n{run.label}: {users} users, {run.seconds:.0f} s, wall shows {run.alerts} alerts")
    print(
        f"load average (1 min) {run.load_average[0]:.1f} at the start, "
        f"{run.load_average[1]:.1f} at the end, on {os.cpu_count()} CPUs"
    )
    print(f"{'page':<22}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    everything: list[float] = []
    p99s = {}
    for page in PAGES:
        values = run.samples.get(page, [])
        everything += values
        if not values:
            continue
        p99 = _percentile(values, 0.99) * 1000
        if page in TARGET_PAGES:
            p99s[page] = p99
        print(
            f"{page:<22}{len(values) / run.seconds:>8.1f}"
            f"{statistics.median(values) * 1000:>9.0f}{_percentile(values, 0.95) * 1000:>9.0f}"
            f"{p99:>9.0f}{run.errors.get(page, 0):>8}"
        )
    if everything:
        print(
            f"{'all pages':<22}{len(everything) / run.seconds:>8.1f}"
            f"{statistics.median(everything) * 1000:>9.0f}"
            f"{_percentile(everything, 0.95) * 1000:>9.0f}"
            f"{_percentile(everything, 0.99) * 1000:>9.0f}{sum(run.errors.values()):>8}"
        )
        if run.server_cpu_seconds is not None:
            # CPU the node spent per answer: unlike the latencies, hardly moved by other
            # work on a shared machine.
            cpu_ms = run.server_cpu_seconds / len(everything) * 1000
            p99s[CPU_PER_REQUEST] = cpu_ms
            print(
                f"node CPU: {run.server_cpu_seconds:.1f} s in {run.seconds:.0f} s, "
                f"{cpu_ms:.1f} ms per request"
            )
    return p99s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    node = sub.add_parser("serve")
    node.add_argument("--workspace", type=Path, required=True)
    node.add_argument("--port", type=int, required=True)
    node.add_argument("--days", type=float, required=True)
    node.add_argument("--scale", type=float, required=True)
    node.add_argument("--accounts", type=Path, required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--days", type=float, default=2.0, help="simulated days of history")
    parser.add_argument("--scale", type=float, default=1.0, help="district size (1 = a pilot)")
    parser.add_argument("--baseline", help="git commit to measure first, for the ratio")
    parser.add_argument(
        "--attach",
        nargs=2,
        metavar=("URL", "ACCOUNTS"),
        help="drive a node already serving (e.g. one `serve` left running, under a profiler)",
    )
    parser.add_argument("--pid", type=int, help="with --attach: the node's process, for its CPU")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.workspace, args.port, args.days, args.scale, args.accounts)
        return
    if args.attach:
        url, accounts_file = args.attach
        run = Run("attached")
        accounts = json.loads(Path(accounts_file).read_text(encoding="utf-8"))
        asyncio.run(_drive(url, accounts, args.users, args.seconds, run, args.pid))
        report(run, args.users)
        return

    with tempfile.TemporaryDirectory(prefix="zhian-pages-") as tmp_name:
        tmp = Path(tmp_name)
        before: dict[str, float] = {}
        if args.baseline:
            checkout = tmp / "baseline-src"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(checkout), args.baseline],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
            try:
                before = report(measure("baseline", checkout / "src", args, tmp), args.users)
            finally:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(checkout)], cwd=REPO, check=False
                )
        after = report(measure("this tree", REPO / "src", args, tmp), args.users)
        cpu_ms = after.pop(CPU_PER_REQUEST, None)
        cpu_before = before.pop(CPU_PER_REQUEST, None)
        if cpu_ms is not None:
            ratio = f", {cpu_before / cpu_ms:.1f}x less than the baseline" if cpu_before else ""
            print(f"node CPU per request: {cpu_ms:.1f} ms{ratio}")
        for page, p99 in after.items():
            ratio = (
                f", {before[page] / p99:.1f}x better than the baseline" if page in before else ""
            )
            verdict = "met" if p99 <= 500 else "MISSED"
            print(f"{page}: p99 {p99:.0f} ms (target <= 500 ms: {verdict}){ratio}")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
