"""What officers type about an alert, sealed at rest (#12).

A note on a step, a skipped step's reason and the handling feedback may name a person or
a phone number. They are kept encrypted with the node's key ring, sealed for the alert's
id (the form of `zhian.governance.identity.field_context`, so key rotation re-seals them),
and opened only when the alert is read by someone allowed to read it.
"""

from __future__ import annotations

from typing import Literal

from zhian.alerts.webhooks import BodyCipher
from zhian.errors import ConfigurationError

# The sealed free-text columns, as `table.column`.
NoteColumn = Literal[
    "alert_actions.note_enc", "alerts.feedback_enc", "alert_procedure_steps.reason_enc"
]


def note_context(column: NoteColumn, alert_id: int) -> str:
    """What a text is sealed for: its column and the alert it belongs to."""
    return f"{column}:{alert_id}"


class NoteSealer:
    """Seals and opens officers' free text; empty text is stored as NULL, needing no key."""

    def __init__(self, cipher: BodyCipher | None) -> None:
        self._cipher = cipher

    def seal(self, column: NoteColumn, alert_id: int, text: str) -> bytes | None:
        if not text:
            return None
        return self._require().seal_bytes(text.encode("utf-8"), note_context(column, alert_id))

    def open(self, column: NoteColumn, alert_id: int, sealed: bytes | None) -> str:
        if sealed is None:
            return ""
        opened = self._require().open_bytes(sealed, note_context(column, alert_id))
        return opened.decode("utf-8")

    def _require(self) -> BodyCipher:
        if self._cipher is None:
            raise ConfigurationError(
                "officers' notes are sealed at rest and this service was given no key ring "
                "(open it through the node, which holds the key ring)",
                field="governance",
            )
        return self._cipher
