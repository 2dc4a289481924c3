"""The retention registry: each domain registers the data it owns and how it is pruned.

Governance runs retention but owns no other domain's tables (NetBox's app registry is the
model): the event store registers its event classes, ingest its quarantine and images,
audit its log, and the vault its identifiers; watchlists register what their entries keep
and alerts the identifier tokens they hold. A node assembles its registry at start-up
(`zhian.retention_classes`), and `RetentionService` runs whatever is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from zhian.audit.service import Actor, AuditService
from zhian.governance.settings import GovernanceSettings


@dataclass(frozen=True)
class ClassOutcome:
    """One data class in a run: what went (or would go) and what a hold kept."""

    data_class: str
    retention_days: float | None
    cutoff: datetime | None
    removed: int
    held: int = 0


@dataclass(frozen=True)
class KeptRefs:
    """What a purge of one data class must leave alone, by the values legal holds and
    watchlists name (a store turns them into its tokens): devices, subject references,
    plates, and events (`device_id/event_id`). A domain that holds a plate only as its
    token (a watchlist entry, #12) names it in `plate_tokens`, a subject reference in
    `subject_tokens`."""

    device_ids: frozenset[str] = frozenset()
    subject_refs: frozenset[str] = frozenset()
    plates: frozenset[str] = frozenset()
    event_keys: frozenset[str] = frozenset()
    plate_tokens: frozenset[str] = frozenset()
    subject_tokens: frozenset[str] = frozenset()

    def __or__(self, other: KeptRefs) -> KeptRefs:
        return KeptRefs(
            self.device_ids | other.device_ids,
            self.subject_refs | other.subject_refs,
            self.plates | other.plates,
            self.event_keys | other.event_keys,
            self.plate_tokens | other.plate_tokens,
            self.subject_tokens | other.subject_tokens,
        )


# What a domain keeps beyond legal holds (a watchlist keeps its entries' evidence).
Keeper = Callable[[Session, datetime], KeptRefs]
# The identifier tokens a domain's own rows still hold (an alert's plate token).
TokenHolder = Callable[[Session], set[str]]


@dataclass
class RetentionRun:
    """One run, as each prune function sees it: the caller's session (it owns the
    transaction), the moment, the settings, dry run or not, and what is kept."""

    session: Session
    now: datetime
    settings: GovernanceSettings
    actor: Actor
    audit: AuditService
    dry_run: bool
    registry: RetentionRegistry
    # data class -> what legal holds keep of it (filled by the service).
    held: Callable[[str], KeptRefs]

    def cutoff(self, age_setting: str) -> tuple[float, datetime]:
        """The retention in days a `governance` setting gives, and the cutoff it makes."""
        days: float = getattr(self.settings, age_setting)
        return days, self.now - timedelta(days=days)

    def kept(self, data_class: str) -> KeptRefs:
        """What legal holds and the registered keepers keep of `data_class`."""
        kept = self.held(data_class)
        for data_classes, keeper in self.registry.keepers:
            if data_class in data_classes:
                kept |= keeper(self.session, self.now)
        return kept

    def held_tokens(self) -> set[str]:
        """The identifier tokens other domains' rows still hold."""
        tokens: set[str] = set()
        for holder in self.registry.token_holders:
            tokens |= holder(self.session)
        return tokens


# Removes (or with `run.dry_run` counts) what of one class is past its retention.
Prune = Callable[[RetentionRun], ClassOutcome]


@dataclass(frozen=True)
class RetentionClass:
    """One class of data with a retention period, and the domain that owns it.

    `age_setting` names the `governance` setting holding its days (None when the class
    has no age of its own: identifiers go when nothing holds them). `prune` removes (or
    with `run.dry_run` counts) what is past it. A class that is not `holdable` takes no
    legal hold (the log: a hold would only stop all pruning).
    """

    name: str
    owner: str  # the package that registered it, e.g. "zhian.store"
    age_setting: str | None
    prune: Prune
    holdable: bool = True
    description: str = ""


@dataclass
class RetentionRegistry:
    """The data classes a node keeps for a while, in the order a run prunes them."""

    classes: list[RetentionClass] = field(default_factory=list)
    keepers: list[tuple[frozenset[str], Keeper]] = field(default_factory=list)
    token_holders: list[TokenHolder] = field(default_factory=list)

    def register(self, data_class: RetentionClass) -> None:
        if any(c.name == data_class.name for c in self.classes):
            raise ValueError(f"retention class '{data_class.name}' is registered twice")
        self.classes.append(data_class)

    def keep(self, data_classes: tuple[str, ...], keeper: Keeper) -> None:
        """Have `keeper` spare rows of `data_classes` beyond legal holds."""
        self.keepers.append((frozenset(data_classes), keeper))

    def hold_tokens(self, holder: TokenHolder) -> None:
        """Count the tokens `holder` names as in use: their vault entries stay."""
        self.token_holders.append(holder)

    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    def holdable(self) -> tuple[str, ...]:
        """The classes a legal hold may name."""
        return tuple(c.name for c in self.classes if c.holdable)
