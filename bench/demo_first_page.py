"""Time to the first page of `zhian demo`, and what its wall holds once the replay is over.

Run: .venv/bin/python bench/demo_first_page.py [--scale 1] [--days 22] [--port 8611]

Starts `zhian demo` as a user would (a fresh workspace in a temporary folder), then:
the seconds until the login page answers, until the command-centre account (read from the
demo's printed table) sees the alert wall with the replay's progress line, and until the
replay is over (the line is gone). Then the alerts per kind in the demo's database: every
rule and model of the catalogue must have fired, and device-offline alerts should be about
as many as the outages the simulator planted. Stops the demo with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from zhian.models.catalogue import MODELS
from zhian.rules.crowd import CROWD_KIND

BANNER = "演示数据回放中"
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
_FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_ACCOUNT = re.compile(r"│\s*command\s*│\s*(\S+)\s*│")


def _wait(what: str, check: object, timeout: float, began: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return time.monotonic() - began
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _sign_in(client: httpx.Client, password: str) -> None:
    form = client.get("/login")
    token = _FORM_TOKEN.search(form.text)
    assert token, "no CSRF token on the login form"
    data = {"username": "command", "password": password, "csrf_token": token.group(1)}
    response = client.post("/login", data=data)
    assert response.status_code == 303, response.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=float, default=22.0)
    parser.add_argument("--port", type=int, default=8611)
    parser.add_argument(
        "--live-seconds", type=float, default=120, help="Live time before counting (crowd)."
    )
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "demo"
        out = Path(folder) / "demo.out"
        command = [sys.executable, "-m", "zhian", "demo", "--workspace", str(workspace),
                   "--scale", str(args.scale), "--days", str(args.days),
                   "--port", str(args.port)]  # fmt: skip
        began = time.monotonic()
        with out.open("w") as handle:
            demo = subprocess.Popen(
                command,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "200"},
            )
        try:
            login_s = _wait("the login page", lambda: _answers(f"{base}/login"), 900, began)
            found: list[str] = []

            def password_printed() -> bool:
                found[:] = _ACCOUNT.findall(out.read_text(encoding="utf-8", errors="replace"))
                return bool(found)

            _wait("the demo accounts", password_printed, 60, began)
            with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as client:
                _sign_in(client, found[-1])
                wall = client.get("/alerts")
                page_s = time.monotonic() - began
                assert wall.status_code == 200, wall.status_code
                replaying = BANNER in wall.text
                done_s = _wait(
                    "the end of the replay",
                    lambda: BANNER not in client.get("/alerts").text,
                    3600,
                    began,
                )
            time.sleep(args.live_seconds)  # the live stage: the temple fair's crowd warning
            database = workspace / "zhian.db"
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                kinds = dict(db.execute("SELECT kind, count(*) FROM alerts GROUP BY kind"))
                closed = db.execute(
                    "SELECT count(*) FROM alerts WHERE kind = 'device_offline' AND state = 'closed'"
                ).fetchone()[0]
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=180)
            except subprocess.TimeoutExpired:
                demo.kill()
        replayed = re.search(r"Replayed ([\d,]+) events", out.read_text(encoding="utf-8"))
    print(f"zhian demo --scale {args.scale} --days {args.days}")
    print(f"  login page answers        {login_s:7.1f} s")
    print(f"  alert wall, signed in     {page_s:7.1f} s  (replay progress shown: {replaying})")
    events = replayed.group(1) if replayed else "?"
    print(f"  replay over               {done_s:7.1f} s  ({events} events)")
    print(
        f"  device_offline alerts     {kinds.get('device_offline', 0)} ({closed} closed by return)"
    )
    for kind in (*RULE_KINDS, *(m.name.removeprefix("model.") for m in MODELS)):
        count = kinds.get(kind, 0)
        print(f"    {kind:24} {count:>7}{'' if count else '   <- none'}")


if __name__ == "__main__":
    main()
