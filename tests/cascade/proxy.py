"""A small fault-injecting TCP proxy for links between nodes in tests.

It forwards loopback connections to a target port and can be told to cut the link (open
connections are reset and new ones closed at once), to slow it (each chunk waits
`delay_seconds` before it goes on), to hold connections back so that a later one
overtakes them (`hold_seconds`: each new connection waits a random share of it before it is
joined to the target; a request the sender gave up on and sent again on a new connection
may then reach the target after its copy, in another order than it was sent) and to lose
answers (`loss_rate`: that share of the answers are lost on the way back, the request
having gone through, and their connection dropped, so the sender sends again). The random draws
come from `seed`, so a run can be repeated.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time


class FaultProxy:
    """127.0.0.1:`port` → 127.0.0.1:`target_port`, with faults on demand."""

    def __init__(self, target_port: int, *, seed: int = 17) -> None:
        self.target_port = target_port
        self.is_cut = False
        self.delay_seconds = 0.0
        self.hold_seconds = 0.0
        self.loss_rate = 0.0
        self.answers_lost = 0
        self._random = random.Random(seed)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def cut(self) -> None:
        """Drop the link: reset every open connection, refuse new ones until `heal`."""
        self.is_cut = True
        with self._lock:
            for sock in list(self._open):
                _close(sock)
            self._open.clear()

    def heal(self) -> None:
        self.is_cut = False

    def reconnect(self) -> None:
        """Drop the open connections (the sender opens new ones, each drawing its hold)."""
        with self._lock:
            for sock in list(self._open):
                _close(sock)
            self._open.clear()

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.is_cut:
                _close(client)
                continue
            threading.Thread(target=self._join, args=(client,), daemon=True).start()

    def _join(self, client: socket.socket) -> None:
        with self._lock:
            hold = self._random.uniform(0, self.hold_seconds)
        if hold:
            time.sleep(hold)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            _close(client)  # the target is down: the client sees the connection drop
            return
        upstream.settimeout(None)
        with self._lock:
            if self.is_cut:
                _close(client)
                _close(upstream)
                return
            self._open.update((client, upstream))
        for source, sink, answers in ((client, upstream, False), (upstream, client, True)):
            threading.Thread(target=self._pump, args=(source, sink, answers), daemon=True).start()

    def _lose(self) -> bool:
        with self._lock:
            lost = self._random.random() < self.loss_rate
            self.answers_lost += lost
        return lost

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                if answers and self.loss_rate and self._lose():
                    break  # the request went through; its answer goes nowhere
                if self.delay_seconds:
                    time.sleep(self.delay_seconds)
                if self.is_cut:
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
