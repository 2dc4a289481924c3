"""What every streaming rule is: a key, a config schema, an event hook and a timer hook."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol

from zhian.alerts.drafts import EventRef, RuleOutput
from zhian.ingest.events import Event
from zhian.rules.directory import PlaceDirectory


class Rule(Protocol):
    """A streaming rule. `on_event` sees every logged event in log order; `evaluate` is the
    timer tick (for conditions made of silence). Both return drafts and clears only."""

    key: ClassVar[str]

    def set_directory(self, directory: PlaceDirectory) -> None: ...

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None: ...

    def evaluate(self, now: datetime) -> RuleOutput | None: ...


def ref(event: Event) -> EventRef:
    return EventRef(
        id=event.id,
        type=type(event).__name__.removesuffix("Event").lower(),
        device_id=event.device_id,
        time=event.time,
    )
