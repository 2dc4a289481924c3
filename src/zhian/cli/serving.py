"""`zhian serve --workers N`: N intake and web processes behind one port, on the NATS log.

Each web process opens the node in the web role and binds the same address with
SO_REUSEPORT, so the kernel shares the connections out between them; they append to the
one NATS stream, which stores a batch sent to two of them once (its batch id is the
message id, log/nats.py). The parent process holds the workspace's running-node marker,
starts the web processes, starts again one that dies, and (unless `--web-only`) runs the
background loops itself, as `zhian worker` does (docs/deploy-scaled.md).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from zhian.config import Settings
from zhian.kit.logs import configure_logging

logger = logging.getLogger(__name__)

# Where the web processes keep their counters for /metrics; the variable prometheus_client reads.
METRICS_FOLDER: Final = "metrics-processes"
MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# A web process that dies is started again, but not more often than this.
RESTART_PAUSE_SECONDS: Final = 1.0
STOP_PATIENCE_SECONDS: Final = 30.0


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port) that other processes may bind as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def run_web_process(workspace: Path, host: str, port: int, index: int) -> None:
    """One web process (the target of a spawned child): open the node as web, serve."""
    import uvicorn

    from zhian.cli.common import settings_for
    from zhian.node import Node, NodeRole
    from zhian.web.app import create_app

    settings = settings_for(workspace)
    configure_logging(settings.logging.format, settings.logging.level)
    if index > 0 and settings.mqtt.enabled:
        # One MQTT subscription per node: the broker would hand every message to each.
        settings = settings.model_copy(
            update={"mqtt": settings.mqtt.model_copy(update={"enabled": False})}
        )
    sock = reuse_port_socket(host, port)
    with Node.open(settings, role=NodeRole.WEB) as node:
        # log_config=None: uvicorn's records go to the handler configure_logging installed.
        config = uvicorn.Config(create_app(node), log_level="warning", log_config=None)
        uvicorn.Server(config).run(sockets=[sock])


class WebProcesses:
    """The web processes of one `zhian serve --workers N`, kept running until `stop`."""

    def __init__(self, workspace: Path, host: str, port: int, count: int) -> None:
        if count < 1:
            raise ValueError("at least one web process")
        self._args = (workspace, host, port)
        self._context = multiprocessing.get_context("spawn")
        self._processes: list[multiprocessing.process.BaseProcess | None] = [None] * count
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="web-processes", daemon=True)
        self.restarts = 0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p is not None and p.pid is not None]

    def start(self) -> None:
        for index in range(len(self._processes)):
            self._start(index)
        self._watcher.start()

    def _start(self, index: int) -> None:
        process = self._context.Process(
            target=run_web_process,
            args=(*self._args, index),
            name=f"zhian-web-{index}",
            daemon=False,
        )
        process.start()
        self._processes[index] = process

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_PAUSE_SECONDS):
            for index, process in enumerate(self._processes):
                if process is not None and not process.is_alive() and not self._stopping.is_set():
                    logger.warning(
                        "web process %d (pid %s) ended with %s; starting it again",
                        index,
                        process.pid,
                        process.exitcode,
                    )
                    self.restarts += 1
                    self._start(index)

    def stop(self) -> None:
        """Ask every web process to finish its requests and close its node, then wait."""
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        for process in self._processes:
            if process is not None and process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_PATIENCE_SECONDS
        for process in self._processes:
            if process is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def share_metrics_between_processes(workspace: Path) -> Path:
    """Have the web processes (spawned after this) count into prometheus_client's
    multiprocess files, so a scrape of any one reports the sum of all (zhian.web.metrics).

    The folder is emptied first: figures of an earlier run would be summed with this
    one's. Counts of a web process that died stay in it, as a counter should.
    """
    folder = workspace / METRICS_FOLDER
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder.resolve())
    return folder


def serve_several(
    settings: Settings,
    host: str,
    port: int,
    count: int,
    *,
    run_all: bool,
    on_ready: Callable[[str], None],
) -> None:
    """Run `count` web processes on (host, port), and the worker's loops here when
    `run_all`, until SIGTERM or SIGINT."""
    from zhian.worker.main import run_worker

    # Bound here first: a port in use fails at once, in this process, with one line.
    reuse_port_socket(host, port).close()
    share_metrics_between_processes(settings.workspace)
    web = WebProcesses(settings.workspace, host, port, count)
    web.start()
    try:
        if run_all:
            run_worker(settings, on_ready=on_ready)
        else:
            stop = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda _signum, _frame: stop.set())
            on_ready("")
            stop.wait()
    finally:
        web.stop()
