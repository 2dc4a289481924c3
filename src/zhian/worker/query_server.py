"""The worker's loopback endpoint that answers the web's allow-listed event-store queries."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

from zhian.errors import ZhianError
from zhian.store.events import EventStore
from zhian.store.remote import QUERY_PATH_PREFIX, TOKEN_HEADER, WorkerEndpoint, answer_query

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class QueryEndpointError(ZhianError):
    code = "query_endpoint_refused"


class StoreQueryServer:
    """Serves `zhian.store.remote.STORE_QUERIES` on a loopback port, token required.

    A plain threading HTTP server: a handful of page reads a second, no framework needed,
    and it runs beside the worker's loops without an event loop of its own.
    """

    def __init__(self, store: EventStore, *, host: str, port: int) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise QueryEndpointError(
                f"worker.query_host must be a loopback address, not {host!r}: the endpoint "
                "reads personal-data tokens from the event store"
            )
        self._store = store
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        bound_host, bound_port = self._server.server_address[:2]
        self.endpoint = WorkerEndpoint.new(str(bound_host), int(bound_port))
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="store-query-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, body = server._answer(self)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                logger.debug("store query: " + format, *args)

        return Handler

    def _answer(self, request: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        token = request.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(token.encode(), self.endpoint.token.encode()):
            return HTTPStatus.FORBIDDEN, b'{"error": "bad token"}'
        if not request.path.startswith(QUERY_PATH_PREFIX):
            return HTTPStatus.NOT_FOUND, b'{"error": "unknown path"}'
        length = int(request.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b'{"error": "body too large"}'
        body = request.rfile.read(length)
        try:
            return HTTPStatus.OK, answer_query(
                self._store, request.path.removeprefix(QUERY_PATH_PREFIX), body
            )
        except KeyError:
            return HTTPStatus.NOT_FOUND, b'{"error": "unknown query"}'
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return HTTPStatus.UNPROCESSABLE_ENTITY, msgspec.json.encode({"error": str(exc)})
        except Exception:
            logger.exception("store query failed")
            return HTTPStatus.INTERNAL_SERVER_ERROR, b'{"error": "query failed"}'
