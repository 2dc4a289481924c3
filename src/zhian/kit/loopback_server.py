"""The answering side of the loopback channel between a node's processes (zhian.kit.loopback)."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

from zhian.errors import ZhianError
from zhian.kit.loopback import QUERY_PATH_PREFIX, TOKEN_HEADER, LoopbackEndpoint

# Answers query `name` with argument bytes `body`: JSON bytes, or KeyError for a name it
# does not serve, or a msgspec error for arguments that do not fit.
QueryAnswer = Callable[[str, bytes], bytes]

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class QueryEndpointError(ZhianError):
    code = "query_endpoint_refused"


class QueryServer:
    """Serves named queries on a loopback port, token required.

    A plain threading HTTP server: a handful of queries a second, no framework needed,
    and it runs beside a process's loops without an event loop of its own.
    """

    def __init__(self, answer: QueryAnswer, *, host: str, port: int) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise QueryEndpointError(
                f"worker.query_host must be a loopback address, not {host!r}: the channel "
                "between a node's processes carries personal-data tokens"
            )
        self._answer_query = answer
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        bound_host, bound_port = self._server.server_address[:2]
        self.endpoint = LoopbackEndpoint.new(str(bound_host), int(bound_port))
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="query-server", daemon=True
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
                logger.debug("query endpoint: " + format, *args)

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
            return HTTPStatus.OK, self._answer_query(
                request.path.removeprefix(QUERY_PATH_PREFIX), body
            )
        except KeyError:
            return HTTPStatus.NOT_FOUND, b'{"error": "unknown query"}'
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            return HTTPStatus.UNPROCESSABLE_ENTITY, msgspec.json.encode({"error": str(exc)})
        except Exception:
            logger.exception("query %s failed", request.path)
            return HTTPStatus.INTERNAL_SERVER_ERROR, b'{"error": "query failed"}'
