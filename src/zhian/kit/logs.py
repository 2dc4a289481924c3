"""Process logging: plain text or one JSON object a line, each line naming its request id.

A log shipper (journald, Loki, Elasticsearch) reads JSON lines without a parsing rule per
message, and the request id ties every line a request caused, in any module, to the
`X-Request-ID` the client got back (docs/operations.md). The request id lives in a context
variable, so threads and tasks that serve other requests never see it.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final, Literal, TextIO

LogFormat = Literal["text", "json"]

REQUEST_ID: ContextVar[str | None] = ContextVar("zhian_request_id", default=None)
# Marks the handler this module installed, so configuring twice replaces it.
_HANDLER_NAME: Final = "zhian"
# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD_ATTRIBUTES: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or None) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, process id,
    request id, the exception's traceback when there is one, and `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
            "request_id": getattr(record, "request_id", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and key not in line:
                line[key] = value
        return json.dumps(line, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at each record, as logging's last resort does: a
    command run inside another program (a test's CLI runner) swaps stderr and closes it."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


_TEXT_FORMAT: Final = (
    "%(asctime)s %(levelname)s %(name)s [pid %(process)d request %(request_id)s] %(message)s"
)


def configure_logging(
    log_format: LogFormat, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Send this process's log to `stream` (stderr) in `log_format` at `level`.

    Called once by each process's entry point (`zhian serve`, its web processes, `zhian
    worker`); a second call replaces the handler rather than adding one.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's loggers (started with log_config=None) pass their records up to ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
