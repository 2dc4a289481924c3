"""The real `zhian demo` process, as a new user meets it: the login page opens at once,
a demo account signs in, every page says how far the replay has come, the replay
finishes and the alert wall shows what it raised."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ingest.test_durability import free_port

pytestmark = pytest.mark.slow

# A small district and two days: every page's progress line, then the replay's end, within
# about a minute on a loaded machine (the timeouts below are generous bounds, not figures).
DEMO_COMMAND = (sys.executable, "-m", "zhian", "demo")
DEMO_ARGS = ("--days", "2", "--scale", "0.05")
START_SECONDS = 90
REPLAY_SECONDS = 240
PROGRESS = "演示数据回放中"
FAILED = "演示数据回放失败"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ALERT_ROW = re.compile(r'<tr data-alert-id="[^"]+"')


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    """`zhian demo` running on a free port; a client for it and the file of its output."""
    port = free_port()
    output = tmp_path / "demo.out"
    # Wide, plain output: the printed accounts table keeps each row on one line.
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"}
    env.pop("ZHIAN_WEB__SECRET_KEY", None)
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [*DEMO_COMMAND, "-w", str(tmp_path / "ws"), *DEMO_ARGS, "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as client:
            yield client, output
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _until(what: str, seconds: float, output: Path, check: object) -> object:
    """Poll `check()` until it returns something truthy; fail naming `what` otherwise."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = check()  # type: ignore[operator]
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what} within {seconds}s:\n{output.read_text(errors='replace')}")


def _password(output: Path, username: str) -> str | None:
    row = re.search(rf"\b{username}\b[\s│|]+([A-Za-z0-9_-]{{12,}})", output.read_text("utf-8"))
    return row.group(1) if row else None


def test_the_demo_serves_at_once_shows_progress_then_the_alerts(
    demo: tuple[httpx.Client, Path],
) -> None:
    client, output = demo
    login = _until(
        "the login page",
        START_SECONDS,
        output,
        lambda: (page := client.get("/login")).status_code == 200 and page,
    )
    assert isinstance(login, httpx.Response)
    password = _until("the demo accounts printed", 30, output, lambda: _password(output, "command"))
    token = CSRF.search(login.text)
    assert token, "the login form carries no CSRF token"
    signed_in = client.post(
        "/login",
        data={"username": "command", "password": str(password), "csrf_token": token.group(1)},
    )
    assert signed_in.status_code == 303, signed_in.text

    first = client.get("/alerts")
    assert first.status_code == 200  # the pages open while the replay goes on
    assert PROGRESS in first.text, "no progress line while the replay goes on"

    def finished() -> httpx.Response | None:
        page = client.get("/alerts")
        assert page.status_code == 200, page.text  # still signed in as days replay
        assert FAILED not in page.text, page.text
        return page if PROGRESS not in page.text else None

    wall = _until("the replay's end", REPLAY_SECONDS, output, finished)
    assert isinstance(wall, httpx.Response)
    assert ALERT_ROW.search(wall.text), "no alert on the wall after the replay"
    _until("the summary", 30, output, lambda: "Replayed" in output.read_text("utf-8"))
