"""Every query on the device table."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Row, or_, select, update
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope, require_scope
from zhian.devices.models import Device
from zhian.ingest.quarantine.models import QuarantineItem

# Ids per IN (...) list: well under SQLite's bound-parameter limit, even on old builds.
CHUNK_SIZE = 500


class DeviceRepository:
    """Reads and writes devices; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, device_id: str) -> Device | None:
        return self.session.get(Device, device_id)

    def id_for_token_hash(self, digest: str) -> str | None:
        return self.session.scalar(select(Device.id).where(Device.token_sha256 == digest))

    def existing_ids(self, device_ids: Collection[str]) -> set[str]:
        ids = list(device_ids)
        found: set[str] = set()
        for start in range(0, len(ids), CHUNK_SIZE):
            chunk = ids[start : start + CHUNK_SIZE]
            found.update(self.session.scalars(select(Device.id).where(Device.id.in_(chunk))))
        return found

    def communities_of(self, device_ids: Collection[str]) -> dict[str, str | None]:
        ids = list(device_ids)
        found: dict[str, str | None] = {}
        for start in range(0, len(ids), CHUNK_SIZE):
            chunk = ids[start : start + CHUNK_SIZE]
            query = select(Device.id, Device.community_id).where(Device.id.in_(chunk))
            found.update((row.id, row.community_id) for row in self.session.execute(query))
        return found

    def set_token_hashes(self, hashes: Sequence[tuple[str, str]], issued_at: datetime) -> None:
        """Store (device id, token sha256) pairs in one executemany, replacing old hashes."""
        if hashes:
            self.session.execute(
                update(Device),
                [
                    {"id": device_id, "token_sha256": digest, "token_issued_at": issued_at}
                    for device_id, digest in hashes
                ],
            )

    def list_devices(
        self, *, community_id: str | None = None, scope: JurisdictionScope
    ) -> list[Device]:
        statement = select(Device).order_by(Device.id)
        if community_id is not None:
            statement = statement.where(Device.community_id == community_id)
        statement = statement.where(require_scope(scope).community_clause(Device.community_id))
        return list(self.session.scalars(statement))

    def directory_rows(
        self,
    ) -> Sequence[Row[str, str, str | None, str | None, str | None, bool, str | None]]:
        """The columns the device directory holds, for every device."""
        statement = select(
            Device.id,
            Device.kind,
            Device.community_id,
            Device.zone_id,
            Device.gateway_id,
            Device.is_enabled,
            Device.token_sha256,
        )
        return self.session.execute(statement).all()

    def rejected_input(self, device_id: str, limit: int) -> list[QuarantineItem]:
        """Quarantined items about or sent by the device, newest first (read only)."""
        statement = (
            select(QuarantineItem)
            .where(
                or_(
                    QuarantineItem.device_id == device_id,
                    QuarantineItem.sender_device_id == device_id,
                )
            )
            .order_by(QuarantineItem.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(statement))
