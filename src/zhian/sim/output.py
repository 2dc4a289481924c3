"""Writing an event stream as NDJSON, one event per line, without holding the stream."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import msgspec

from zhian.ingest.events import Event

# Called after every batch with the number of events written so far and the batch itself.
Progress = Callable[[int, Sequence[Event]], None]
BATCH_EVENTS = 8192


def write_ndjson(events: Iterable[Event], path: Path, progress: Progress | None = None) -> int:
    """Encode `events` to `path` in batches; returns how many were written."""
    encoder = msgspec.json.Encoder()
    batch: list[Event] = []
    written = 0
    with path.open("wb") as handle:
        for event in events:
            batch.append(event)
            if len(batch) >= BATCH_EVENTS:
                handle.write(encoder.encode_lines(batch))
                written += len(batch)
                if progress is not None:
                    progress(written, batch)
                batch = []
        if batch:
            handle.write(encoder.encode_lines(batch))
            written += len(batch)
            if progress is not None:
                progress(written, batch)
    return written
