"""What governance needs at run time, built once per process from settings and the key ring."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from zhian.audit.service import AuditService
from zhian.db.engine import Database
from zhian.errors import ConfigurationError
from zhian.governance.crypto import FieldCipher
from zhian.governance.identity import IdentitySealer
from zhian.governance.keys import (
    KeyRing,
    KeyRingError,
    generate_keyring,
    key_file_path,
    try_load_keyring,
    write_keyring,
)
from zhian.governance.settings import GovernanceSettings
from zhian.governance.tokens import Tokeniser
from zhian.governance.vault import IdentifierVault, database_persister
from zhian.kit.clock import Clock

logger = logging.getLogger(__name__)


class Governance:
    """The key ring (if the node has one) and the clock, handing out governance services.

    A fresh workspace has no key ring: auditing still works (unsealed head), but sealing
    or revealing identity fields raises ConfigurationError until `zhian keys init` ran.
    `wall_clock` (default `clock`) stamps the audit entries of people's actions
    (`zhian.audit.service.Actor.acts_now`).
    """

    def __init__(
        self,
        settings: GovernanceSettings,
        clock: Clock,
        ring: KeyRing | None,
        *,
        wall_clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.wall_clock = wall_clock or clock
        self.ring = ring
        self._sealer = (
            IdentitySealer(FieldCipher(ring), Tokeniser(ring.token_key)) if ring else None
        )

    @classmethod
    def load(cls, settings: GovernanceSettings, workspace: Path, clock: Clock) -> Governance:
        return cls(settings, clock, try_load_keyring(settings, workspace))

    @classmethod
    def for_node(
        cls,
        settings: GovernanceSettings,
        workspace: Path,
        clock: Clock,
        sealed_data: Sequence[Path] = (),
        *,
        wall_clock: Clock | None = None,
    ) -> Governance:
        """The node's governance: a node keeps identifiers only as tokens, so it needs a
        key ring; a workspace without one (and no key in the environment) gets a fresh
        random ring in its key file, with a warning to back it up. Unless any of
        `sealed_data` exists: a fresh ring would never open what the lost one sealed, and
        the node would go on writing data no one can join with the old."""
        ring = try_load_keyring(settings, workspace)
        if ring is None:
            path = key_file_path(settings, workspace)
            if any(_holds_data(place) for place in sealed_data):
                raise KeyRingError(
                    f"the key ring is missing ({path.name} or {settings.key_env}) but this "
                    "workspace holds data sealed with one: restore the key ring from its "
                    "backup; a new one cannot open that data"
                )
            ring = generate_keyring()
            write_keyring(path, ring)
            logger.warning(
                "created a new key ring at %s: back it up, without it the sealed identity "
                "fields and identifiers cannot be read",
                path,
            )
        return cls(settings, clock, ring, wall_clock=wall_clock)

    def vault(self, db: Database) -> IdentifierVault:
        """The identifier vault the event store writes through (needs the key ring)."""
        return IdentifierVault(self.require_sealer(), database_persister(db), self.clock.now)

    @property
    def sealer(self) -> IdentitySealer | None:
        """Seals and tokenises identity values; None without a key ring."""
        return self._sealer

    def require_sealer(self) -> IdentitySealer:
        if self._sealer is None:
            raise ConfigurationError(
                f"this node has no key ring; run `zhian keys init` or set {self.settings.key_env}"
            )
        return self._sealer

    def cipher(self) -> FieldCipher:
        """The field cipher of the key ring (needs one): it also seals the intake log."""
        return self.require_sealer().cipher

    def tokeniser(self) -> Tokeniser:
        """The keyed tokeniser for the event store and analytics (needs the key ring)."""
        return self.require_sealer().tokeniser

    def audit(self, session: Session) -> AuditService:
        """An audit service in the caller's transaction, sealing the head when keys exist."""
        seal_key = self.ring.seal_key if self.ring is not None else None
        return AuditService(
            session, clock=self.clock, seal_key=seal_key, wall_clock=self.wall_clock
        )


def migration_identity(settings: GovernanceSettings, workspace: Path) -> IdentitySealer | None:
    """The sealer a schema upgrade converts clear personal data with (#12), or None when
    the workspace has no key ring yet (then it holds nothing sealed to join with either)."""
    ring = try_load_keyring(settings, workspace)
    return IdentitySealer(FieldCipher(ring), Tokeniser(ring.token_key)) if ring else None


def _holds_data(place: Path) -> bool:
    if place.is_dir():
        return any(place.iterdir())
    return place.exists()
