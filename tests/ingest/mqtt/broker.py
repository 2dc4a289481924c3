"""Stopping and starting the shared Mosquitto broker, for the restart test only."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ingest.mqtt.conftest import broker_is_up, wait_until

PID_FILE = Path("/run/mosquitto/mosquitto.pid")
CONFIG = "/etc/mosquitto/mosquitto.conf"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_broker() -> None:
    """SIGTERM to the broker named in its pid file; it saves its persistence file and exits."""
    pid = int(PID_FILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not _alive(pid), 10), f"mosquitto {pid} did not stop"


def start_broker() -> None:
    subprocess.run(["mosquitto", "-d", "-c", CONFIG], check=True)
    assert wait_until(broker_is_up, 10), "mosquitto did not come back"


@contextmanager
def restarted_broker() -> Iterator[Callable[[], None]]:
    """Yields `restart()`; whatever happens, the broker runs again afterwards (it is shared)."""

    def restart() -> None:
        stop_broker()
        start_broker()

    try:
        yield restart
    finally:
        if not broker_is_up():
            start_broker()
