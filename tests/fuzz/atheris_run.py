"""Coverage-guided fuzzing (atheris, libFuzzer) of the hand-written parsers, by hand.

The Hypothesis tests beside this file run in CI; this runs longer and lets coverage steer
the input into the branches of the code Zhian wrote itself (the depth scan, the body
framing, the GA/T 1400 query grammar, topics and the event decoder's checks), checking the
same property: a value or the parser's own refusal, never another exception. atheris is
the `fuzz` extra (`pip install -e '.[fuzz]'`); see docs/dev/fuzzing.md.

    .venv/bin/python -m tests.fuzz.atheris_run native -max_total_time=60

Targets: native (split_body + decode_event), depth (depth_error), viid_body
(parse_body), viid_query (parse_query), topic (parse_topic + read_identity). Arguments
after the target go to libFuzzer (`-max_total_time`, `-runs`, a corpus folder). A crash
writes `crash-<sha1>` with the input; add it to the Hypothesis test as an `@example`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["zhian"]):
    from zhian.errors import ZhianError
    from zhian.ingest.events import Event
    from zhian.ingest.json_depth import depth_error
    from zhian.ingest.mqtt.topics import PayloadIdentity, TopicAddress, parse_topic, read_identity
    from zhian.ingest.native.framing import split_body
    from zhian.ingest.validate import FieldError, ItemRejected, decode_event
    from zhian.ingest.viid.query import ViidQuery, parse_query
    from zhian.ingest.viid.wire import ViidRequestError, parse_body

_CONTENT_TYPES = ["application/json", "application/x-ndjson", "application/VIID+JSON", None]


def native(data: bytes) -> None:
    content_type = _CONTENT_TYPES[data[0] % len(_CONTENT_TYPES)] if data else None
    try:
        framed = split_body(data[1:], content_type)
    except ZhianError:
        return
    for item in framed.items:
        assert isinstance(decode_event(item), Event | ItemRejected)


def depth(data: bytes) -> None:
    found = depth_error(data)
    assert found is None or isinstance(found, str)


def viid_body(data: bytes) -> None:
    with contextlib.suppress(ViidRequestError):
        parse_body(data, "application/VIID+JSON")


def viid_query(data: bytes) -> None:
    raw = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        query = parse_query(raw, default_page_size=20, max_page_size=100)
    except ViidRequestError:
        return
    assert isinstance(query, ViidQuery) and 1 <= query.page_size <= 100


def topic(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    name = provider.ConsumeUnicodeNoSurrogates(200)
    assert isinstance(parse_topic("zhian", name), TopicAddress | FieldError)
    assert isinstance(
        read_identity(provider.ConsumeBytes(provider.remaining_bytes())), PayloadIdentity | None
    )


TARGETS: dict[str, Callable[[bytes], None]] = {
    "native": native,
    "depth": depth,
    "viid_body": viid_body,
    "viid_query": viid_query,
    "topic": topic,
}


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in TARGETS:
        sys.exit(
            f"usage: python -m tests.fuzz.atheris_run {{{','.join(TARGETS)}}} [libFuzzer args]"
        )
    target = TARGETS[argv[1]]
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
