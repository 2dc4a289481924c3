"""Run the worker process: open the node in the worker role and serve until told to stop."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

import msgspec

from zhian.config import Settings
from zhian.kit.loopback_server import QueryServer
from zhian.node import CROWD_SNAPSHOT_QUERY, Node, NodeRole
from zhian.store.remote import answer_query

logger = logging.getLogger(__name__)


def run_worker(settings: Settings, *, on_ready: Callable[[str], None] | None = None) -> None:
    """Run the background loops of a split node until SIGTERM or SIGINT.

    The worker owns the event store and answers the web's queries (the allow-listed store
    reads, the crowd snapshot) on a loopback port, which it publishes with a fresh token
    in the workspace while it runs.
    """
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    with Node.open(settings, role=NodeRole.WORKER) as node:
        store, crowd = node.store, node.crowd

        def answer(name: str, body: bytes) -> bytes:
            if name == CROWD_SNAPSHOT_QUERY:
                return msgspec.json.encode(crowd.snapshot())
            return answer_query(store, name, body)

        server = QueryServer(
            answer, host=settings.worker.query_host, port=settings.worker.query_port
        )
        server.start()
        endpoint = server.endpoint
        endpoint.publish(settings.worker_endpoint_file)
        try:
            if on_ready is not None:
                on_ready(endpoint.url)
            stop.wait()
        finally:
            endpoint.withdraw(settings.worker_endpoint_file)
            server.stop()
