"""Run the worker process: open the node in the worker role and serve until told to stop."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from zhian.config import Settings
from zhian.node import Node, NodeRole
from zhian.store.remote import WorkerEndpoint
from zhian.worker.query_server import StoreQueryServer

logger = logging.getLogger(__name__)


def run_worker(settings: Settings, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the background loops of a split node until SIGTERM or SIGINT.

    The web process must have opened the log first (it owns the log's writer); the worker
    owns the event store and answers the web's store queries on a loopback port, which it
    publishes with a fresh token in the workspace while it runs.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    with Node.open(settings, role=NodeRole.WORKER) as node:
        server = StoreQueryServer(
            node.store, host=settings.worker.query_host, port=settings.worker.query_port
        )
        server.start()
        endpoint = server.endpoint
        endpoint.publish(settings.workspace)
        try:
            if on_ready is not None:
                on_ready(endpoint.url)
            stop.wait()
        finally:
            WorkerEndpoint.withdraw(settings.workspace, endpoint.token)
            server.stop()
