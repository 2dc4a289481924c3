"""Process logging (zhian.kit.logs): JSON lines or text, the request id on each record,
stderr as it is when a record is written."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from zhian.kit.logs import REQUEST_ID, configure_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_request_id_and_extra_fields() -> None:
    written = io.StringIO()
    configure_logging("json", "INFO", stream=written)
    token = REQUEST_ID.set("req-1")
    try:
        logging.getLogger("zhian.test").info("stored %d events", 3, extra={"device": "CAM1"})
    finally:
        REQUEST_ID.reset(token)
    logging.getLogger("zhian.test").info("outside a request")
    first, second = (json.loads(line) for line in written.getvalue().splitlines())
    assert first["message"] == "stored 3 events" and first["request_id"] == "req-1"
    assert first["device"] == "CAM1" and first["level"] == "INFO"
    assert second["request_id"] is None


def test_records_below_the_level_are_not_written_and_a_second_call_replaces_the_first() -> None:
    written = io.StringIO()
    configure_logging("text", "INFO", stream=io.StringIO())
    configure_logging("text", "WARNING", stream=written)
    logging.getLogger("zhian.test").info("quiet")
    logging.getLogger("zhian.test").warning("loud")
    assert written.getvalue().count("\n") == 1
    assert "WARNING zhian.test [pid " in written.getvalue() and "loud" in written.getvalue()


def test_the_default_stream_is_stderr_as_it_is_at_each_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure_logging("json", "INFO")
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)  # as a CLI runner does, then closes it
    logging.getLogger("zhian.test").warning("to the new stderr")
    assert json.loads(swapped.getvalue())["message"] == "to the new stderr"
