"""Watchlist hits (布控): a plate, a subject reference or a face feature matches an active entry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from zhian.alerts.drafts import TIER_ORDER, AlertDraft, Candidate, RuleOutput, Tier
from zhian.alerts.identifiers import LEGAL_BASIS_REF, PLATE_KIND, PLATE_MASKED, PLATE_TOKEN
from zhian.ingest.events import Event, FaceEvent, VehicleEvent
from zhian.rules.base import ref
from zhian.rules.directory import PlaceDirectory
from zhian.store.identifiers import IdentifierKind, ProtectedIdentifier
from zhian.watchlists.matcher import EMPTY, Match, WatchlistMatcher

WATCHLIST_RULE = "watchlist"

# Seals an identifier in the vault and returns its token and masked form.
Protect = Callable[[IdentifierKind, str], ProtectedIdentifier]


def _tier(matches: list[Match]) -> Tier:
    best = max((m.item.tier for m in matches), key=lambda t: TIER_ORDER.get(t, 0))
    return best if best in ("minor", "general", "major") else "general"  # type: ignore[return-value]


class WatchlistRule:
    """Matches vehicle and face events against a snapshot of the active watchlist.

    The engine replaces the snapshot (`set_matcher`) every few seconds, so additions,
    withdrawals and expiries take effect without a restart; expiry is also checked
    against the event time on every match.

    The rule reads the intake log, so it sees plates in the clear; its alerts carry only
    the masked plate and its token (`protect` seals the value in the identifier vault),
    because alerts go to pages, the API, the live feed and webhooks. A face hit names
    no subject reference at all, only the watchlist entry.
    """

    # The engine hands this rule only these event types (see rules_by_event_type).
    event_types: ClassVar[frozenset[type]] = frozenset({VehicleEvent, FaceEvent})

    key: ClassVar[str] = WATCHLIST_RULE

    def __init__(self, protect: Protect) -> None:
        self._protect = protect
        self.directory = PlaceDirectory({})
        self.matcher: WatchlistMatcher = EMPTY

    def set_directory(self, directory: PlaceDirectory) -> None:
        self.directory = directory

    def set_matcher(self, matcher: WatchlistMatcher) -> None:
        self.matcher = matcher

    def on_event(self, event: Event, received_at: datetime) -> RuleOutput | None:
        if self.matcher.is_empty:
            return None
        if isinstance(event, VehicleEvent):
            matches = self.matcher.match_plate(event.plate, event.time)
            if matches:
                return RuleOutput(drafts=[self._plate(event, matches)])
            return None
        if isinstance(event, FaceEvent):
            matches: list[Match] = []  # type: ignore[no-redef]
            if event.subject is not None:
                matches = self.matcher.match_subject(event.subject.ref, event.time)
            if not matches and isinstance(event.feature, str):
                candidates, is_hit = self.matcher.match_face(event.feature, event.time)
                if is_hit:
                    return RuleOutput(drafts=[self._face(event, candidates)])
                return None
            if matches:
                return RuleOutput(drafts=[self._face(event, matches)])
        return None

    def evaluate(self, now: datetime) -> RuleOutput | None:
        return None

    def _place(self, device_id: str) -> tuple[str, str, str | None]:
        place = self.directory.get(device_id)
        if place is None:
            return device_id, device_id, None
        return place.name, place.place_id, place.community_id

    def _plate(self, event: VehicleEvent, matches: list[Match]) -> AlertDraft:
        name, place_id, community_id = self._place(event.device_id)
        best = matches[0]
        plate = self._protect("plate", event.plate)
        exact = best.score >= 1.0
        how_zh = "" if exact else "（一位字符可能误识）"
        how_en = "" if exact else " (one character may be misread)"
        return AlertDraft(
            rule=WATCHLIST_RULE,
            kind=PLATE_KIND,
            tier=_tier(matches),
            subject=f"entry:{best.item.entry_id}",
            place_id=place_id,
            observed_at=event.time,
            explanation_zh=f"布控车辆{plate.masked}经过{name}{how_zh}：{best.item.label}",
            explanation_en=(
                f"watchlisted plate {plate.masked} passed {event.device_id}{how_en}: "
                f"{best.item.label}"
            ),
            device_id=event.device_id,
            community_id=community_id,
            place_name=name,
            events=(ref(event),),
            images=() if event.image is None else (event.image,),
            figures={
                PLATE_MASKED: plate.masked,
                PLATE_TOKEN: plate.token,
                LEGAL_BASIS_REF: best.item.legal_basis_ref,
            },
            candidates=tuple(
                Candidate(m.item.entry_id, m.item.label, m.score) for m in matches[:3]
            ),
        )

    def _face(self, event: FaceEvent, matches: list[Match]) -> AlertDraft:
        name, place_id, community_id = self._place(event.device_id)
        best = matches[0]
        return AlertDraft(
            rule=WATCHLIST_RULE,
            kind="watchlist_person",
            tier=_tier(matches[:1]),
            subject=f"entry:{best.item.entry_id}",
            place_id=place_id,
            observed_at=event.time,
            explanation_zh=f"{name}抓拍到布控人员（相似度{best.score:.2f}）：{best.item.label}",
            explanation_en=(
                f"watchlisted person seen at {event.device_id} (similarity {best.score:.2f}): "
                f"{best.item.label}"
            ),
            device_id=event.device_id,
            community_id=community_id,
            place_name=name,
            events=(ref(event),),
            images=() if event.image is None else (event.image,),
            figures={"similarity": best.score, LEGAL_BASIS_REF: best.item.legal_basis_ref},
            candidates=tuple(
                Candidate(m.item.entry_id, m.item.label, m.score) for m in matches[:3]
            ),
        )
