"""What the event store keeps of face features: sealed values, opened only by audited readers.

A face capture's feature (base64 of little-endian float32) is biometric data. The store
seals it on the way in, bound to its row (`face_events.feature:<device_id>/<event_id>`),
so a sealed feature copied into another row does not open, and models open only the
captures they link, auditing the read (`face_capture.features.read`).
"""

from __future__ import annotations

from typing import Final, Protocol

from zhian.store.identifiers import IdentifierProtector

FEATURE_TABLE: Final = "face_events"
FEATURE_COLUMN: Final = "feature"


def feature_row_id(device_id: str, event_id: str) -> str:
    """The row a feature is sealed for: event ids are unique per device, not overall."""
    return f"{device_id}/{event_id}"


class FeatureSealer(Protocol):
    """Seals face features for the store and opens them for the models that link them."""

    def seal_feature(self, device_id: str, event_id: str, feature: str) -> bytes:
        """`feature` (base64 text) sealed under the active key, bound to its row."""
        ...

    def open_feature(self, device_id: str, event_id: str, sealed: bytes) -> str:
        """The base64 text of a feature; DecryptionError when sealed for another row."""
        ...

    def reseal_feature(self, device_id: str, event_id: str, sealed: bytes) -> bytes | None:
        """The feature under the active key, or None when it already is (key rotation)."""
        ...

    def feature_key_id(self, sealed: bytes) -> str:
        """The id of the key a feature is sealed with (nothing is decrypted)."""
        ...


class StoreProtector(IdentifierProtector, FeatureSealer, Protocol):
    """Everything the store needs to keep personal data out of its file: identifier
    tokens and sealed face features, both from the node's key ring (the vault)."""
