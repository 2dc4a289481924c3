"""The NATS JetStream server the NATS log's tests run against, and throwaway clusters.

The shared server listens on 127.0.0.1:4222 (ZHIAN_TEST_NATS overrides). Each test gets a
stream of its own, deleted afterwards. Without the server the tests skip, except in CI
(`services_required`), where a missing server fails the run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import services_required
from zhian.log.nats import NatsLogConfig, delete_nats_log

NATS_URL = os.environ.get("ZHIAN_TEST_NATS", "nats://127.0.0.1:4222")
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def _reachable(url: str) -> bool:
    host, _, port = url.removeprefix("nats://").partition(":")
    try:
        with socket.create_connection((host, int(port or 4222)), timeout=2) as conn:
            return conn.recv(4).startswith(b"INFO")
    except OSError:
        return False


def require_nats() -> str:
    if not _reachable(NATS_URL):
        message = f"NATS JetStream unreachable at {NATS_URL}"
        if services_required():
            pytest.fail(f"{message}; it is required in CI")
        pytest.skip(message)
    return NATS_URL


def unique_stream() -> str:
    return f"TEST_{uuid.uuid4().hex[:12].upper()}"


@pytest.fixture
def nats_config() -> Iterator[NatsLogConfig]:
    """A stream of this test's own on the shared server, deleted afterwards."""
    config = NatsLogConfig(
        servers=(require_nats(),),
        stream=unique_stream(),
        subject=f"zhian.test.{uuid.uuid4().hex[:12]}",
        segment_records=4,
        timeout_seconds=5.0,
    )
    yield config
    delete_nats_log(config)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class NatsCluster:
    """Three `nats-server` processes on loopback ports, routed to each other."""

    folder: Path
    client_ports: list[int] = field(default_factory=list)
    cluster_ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes] | None] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{port}" for port in self.client_ports]

    def start(self, size: int = 3) -> None:
        if not Path(NATS_SERVER).exists():
            message = f"{NATS_SERVER} is not installed"
            if services_required():
                pytest.fail(f"{message}; it is required in CI")
            pytest.skip(message)
        self.client_ports = [_free_port() for _ in range(size)]
        self.cluster_ports = [_free_port() for _ in range(size)]
        routes = ",".join(f"nats-route://127.0.0.1:{port}" for port in self.cluster_ports)
        for index in range(size):
            store = self.folder / f"n{index}"
            store.mkdir(parents=True)
            command = [
                NATS_SERVER,
                "-a", "127.0.0.1",
                "-p", str(self.client_ports[index]),
                "-n", f"n{index}",
                "-js",
                "-sd", str(store),
                "--cluster_name", "zhian-test",
                "--cluster", f"nats://127.0.0.1:{self.cluster_ports[index]}",
                "--routes", routes,
                "-l", str(self.folder / f"n{index}.log"),
            ]  # fmt: skip
            self.processes.append(subprocess.Popen(command))
        self._wait_for_meta_leader()

    def _wait_for_meta_leader(self) -> None:
        """JetStream in a cluster answers once the nodes have elected a meta leader."""
        import asyncio

        import nats

        async def ready() -> bool:
            try:
                nc = await nats.connect(servers=self.urls, connect_timeout=2)
            except Exception:
                return False
            try:
                await nc.jetstream(timeout=2).account_info()
                return True
            except Exception:
                return False
            finally:
                await nc.close()

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if asyncio.run(ready()):
                return
            time.sleep(0.5)
        raise RuntimeError(f"the NATS cluster in {self.folder} did not elect a leader")

    def kill(self, index: int) -> None:
        process = self.processes[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        self.processes[index] = None

    def stop(self) -> None:
        for process in self.processes:
            if process is not None:
                process.terminate()
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
