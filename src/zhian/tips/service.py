"""Resident tips: receiving them from the public, triage into alerts, the resident's view.

A tip is received only whole: text checked (plain text, no markup), photos cleaned of
metadata and sealed, the contact tokenised and sealed, the sender's address kept as a
token for its rate limit; then it waits in the moderation queue. Triage turns it into
an alert (tier and place chosen; the alert loop's routing, SLA and escalation take over)
or closes it with a reason the resident reads. Nothing commits here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from zhian.access.scope import JurisdictionScope
from zhian.alerts.drafts import AlertDraft, Tier
from zhian.alerts.schemas import AlertState
from zhian.alerts.service import AlertService
from zhian.errors import BadRequestError, ConflictError, NotFoundError, TooManyRequestsError
from zhian.governance.identity import IdentitySealer
from zhian.governance.masking import (
    IDENTIFIER_NAMES,
    identifiers_in,
    mask_identifiers,
    mask_phone,
)
from zhian.governance.validation import InvalidValueError, normalise_phone
from zhian.kit.characters import plain_text_fault
from zhian.kit.clock import Clock
from zhian.maps.coords import distance_m
from zhian.registry.schemas import BuildingRead, CommunityRead
from zhian.tips.categories import tip_alert_titles, tip_place_name
from zhian.tips.models import Tip
from zhian.tips.photos import clean_photo
from zhian.tips.repository import TipRepository
from zhian.tips.schemas import (
    ResidentStage,
    Satisfaction,
    TipPublicStatus,
    TipQueueItem,
    TipReceipt,
    TipStatus,
    TipSubmission,
)
from zhian.tips.settings import TipSettings

# Unambiguous letters and digits (no 0/O, 1/I/L): read aloud or typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes: guessing one is hopeless under the lookup limit
_CODE_SHAPE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
MAX_REASON_CHARS = 500
QUEUE_LIMIT = 200
TIP_RULE = "tip"
ADDRESS_WINDOW = timedelta(hours=1)


class PlacedTip(Protocol):
    """What naming a tip's place reads of it (a stored tip or a queue item)."""

    @property
    def id(self) -> int: ...
    @property
    def community_id(self) -> str | None: ...
    @property
    def building_id(self) -> str | None: ...


class _Located(Protocol):
    @property
    def latitude(self) -> float: ...

    @property
    def longitude(self) -> float: ...


_L = TypeVar("_L", bound=_Located)


def _nearest(
    point: tuple[float, float], places: Iterable[_L], *, limit_m: float | None
) -> _L | None:
    best: tuple[float, _L] | None = None
    for place in places:
        metres = distance_m(point, (place.latitude, place.longitude))
        if (limit_m is None or metres <= limit_m) and (best is None or metres < best[0]):
            best = (metres, place)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class PhotoUpload:
    """One photo as sent: its bytes (the declared name and type are not trusted)."""

    data: bytes


def plain_text(value: str, field: str, *, max_chars: int, required: bool = True) -> str:
    """`value` if it is plain text within `max_chars`; a 400 naming `field` otherwise."""
    value = value.strip()
    if required and not value:
        raise BadRequestError(f"{field} is required", field=field)
    if len(value) > max_chars:
        raise BadRequestError(f"{field} is at most {max_chars} characters", field=field)
    fault = plain_text_fault(value)
    if fault is not None:
        raise BadRequestError(f"{field} {fault}", field=field)
    return value


def without_identifiers(text: str, field: str, *, why: str) -> str:
    """`text` when it holds no identity card, mobile or plate number in clear; otherwise
    a 400 naming `field` and the number masked, followed by `why`."""
    found = identifiers_in(text)
    if found:
        kind, value = found[0]
        raise BadRequestError(
            f"{field} holds a {IDENTIFIER_NAMES[kind]} in clear ({mask_identifiers(value)}): "
            + why,
            field=field,
        )
    return text


def normalise_code(code: str) -> str:
    """The follow-up code as stored (upper case, no blanks or dashes); 404 when malformed."""
    text = re.sub(r"[\s-]", "", code).upper()
    if not _CODE_SHAPE.match(text):
        raise NotFoundError("no tip has this follow-up code", field="code")
    return text


class TipService:
    """Receives tips from the public, triages them and tells the resident what came of it."""

    def __init__(
        self,
        session_repository: TipRepository,
        *,
        clock: Clock,
        settings: TipSettings,
        sealer: IdentitySealer,
        save_image: Callable[[bytes, str], str],
        buildings: Callable[[], Sequence[BuildingRead]],
        communities: Callable[[], Sequence[CommunityRead]],
    ) -> None:
        self.repository = session_repository
        self.clock = clock
        self.settings = settings
        self.sealer = sealer
        self._save_image = save_image
        self._buildings = buildings
        self._communities = communities

    # -- receiving ------------------------------------------------------------------------

    def submit(
        self, submission: TipSubmission, photos: Sequence[PhotoUpload], *, address: str
    ) -> TipReceipt:
        """Check and keep a tip; its receipt holds the follow-up code."""
        now = self.clock.now()
        address_token = self.sealer.token("address", address or "unknown")
        self._check_address_limit(address_token)
        category = self._category(submission.category)
        description = plain_text(
            submission.description,
            "description",
            max_chars=self.settings.max_description_chars,
        )
        contact = self._contact(submission.contact)
        if len(photos) > self.settings.max_photos:
            raise BadRequestError(
                f"at most {self.settings.max_photos} photos may be sent", field="photos"
            )
        cleaned = [
            clean_photo(photo.data, index=i, max_bytes=self.settings.max_photo_bytes)
            for i, photo in enumerate(photos, start=1)
        ]
        refs = [self._save_image(photo.data, photo.content_type) for photo in cleaned]
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        building, community = self._place(submission.latitude, submission.longitude)
        tip = Tip(
            code=code,
            category=category,
            description_enc=self.sealer.seal("tips", "description_enc", code, description),
            latitude=submission.latitude,
            longitude=submission.longitude,
            building_id=None if building is None else building.id,
            community_id=None if community is None else community.id,
            jurisdiction_id=None if community is None else community.jurisdiction_id,
            photos=refs,
            contact_token=None if contact is None else self.sealer.token("phone", contact),
            contact_enc=None
            if contact is None
            else self.sealer.seal("tips", "contact_enc", code, contact),
            contact_masked=None if contact is None else mask_phone(contact),
            address_token=address_token,
            status=TipStatus.PENDING.value,
            duplicate_of=self._duplicate_of(category, submission.latitude, submission.longitude),
            submitted_at=now,
        )
        self.repository.add(tip)
        return TipReceipt(code=code, is_duplicate=tip.duplicate_of is not None)

    def _check_address_limit(self, address_token: str) -> None:
        since = self.clock.now() - ADDRESS_WINDOW
        limit = self.settings.tips_per_address_per_hour
        if self.repository.count_from_address(address_token, since) >= limit:
            raise TooManyRequestsError(
                f"too many tips from this address: at most {limit} an hour; try again later",
                field="address",
                retry_after_seconds=int(ADDRESS_WINDOW.total_seconds()),
            )

    def _category(self, category: str) -> str:
        if category not in self.settings.categories:
            raise BadRequestError(
                f"category '{category[:32]}' is not one of: "
                + ", ".join(sorted(self.settings.categories)),
                field="category",
            )
        return category

    def _contact(self, contact: str) -> str | None:
        text = contact.strip()
        if not text:
            return None
        try:
            return normalise_phone(text)
        except InvalidValueError as error:
            raise BadRequestError(
                f"contact must be a mobile phone number: {error}", field="contact"
            ) from None

    def _place(
        self, latitude: float, longitude: float
    ) -> tuple[BuildingRead | None, CommunityRead | None]:
        """The nearest building within `place_radius_m` and its community; without one,
        the nearest community of the node (whose officers then triage the tip)."""
        point = (latitude, longitude)
        communities = {community.id: community for community in self._communities()}
        building = _nearest(point, self._buildings(), limit_m=self.settings.place_radius_m)
        if building is not None and building.community_id in communities:
            return building, communities[building.community_id]
        return None, _nearest(point, communities.values(), limit_m=None)

    def _duplicate_of(self, category: str, latitude: float, longitude: float) -> int | None:
        """The first tip of the category this close in place and time, or None."""
        since = self.clock.now() - timedelta(minutes=self.settings.duplicate_window_minutes)
        for earlier in self.repository.recent_of_category(category, since):
            metres = distance_m((latitude, longitude), (earlier.latitude, earlier.longitude))
            if metres <= self.settings.duplicate_radius_m:
                return earlier.duplicate_of or earlier.id
        return None

    # -- the resident's view ----------------------------------------------------------------

    def public_status(self, code: str, alerts: AlertService) -> TipPublicStatus:
        """What the holder of `code` may see: their tip, its stage and its outcome."""
        tip = self._by_code(code)
        stage, outcome = self._stage(tip, alerts)
        return TipPublicStatus(
            code=tip.code,
            category=tip.category,
            description=self.description(tip),
            submitted_at=tip.submitted_at,
            stage=stage,
            outcome=outcome,
            close_reason=tip.close_reason,
            rating=tip.rating,
            may_rate=tip.rating is None and stage in (ResidentStage.HANDLED, ResidentStage.CLOSED),
        )

    def rate(self, code: str, rating: int, alerts: AlertService) -> None:
        """The resident's rating (1–5) of a finished tip; once only."""
        if not 1 <= rating <= 5:
            raise BadRequestError("rating must be a whole number from 1 to 5", field="rating")
        tip = self._by_code(code)
        stage, _outcome = self._stage(tip, alerts)
        if stage not in (ResidentStage.HANDLED, ResidentStage.CLOSED):
            raise ConflictError(
                "a tip can be rated once it has been handled or closed", field="rating"
            )
        if tip.rating is not None:
            raise ConflictError("this tip has already been rated", field="rating")
        tip.rating = rating
        tip.rated_at = self.clock.now()
        self.repository.session.flush()

    def _by_code(self, code: str) -> Tip:
        tip = self.repository.by_code(normalise_code(code))
        if tip is None:
            raise NotFoundError("no tip has this follow-up code", field="code")
        return tip

    def _stage(self, tip: Tip, alerts: AlertService) -> tuple[ResidentStage, str | None]:
        if tip.status == TipStatus.CLOSED.value:
            return ResidentStage.CLOSED, None
        if tip.status == TipStatus.PENDING.value or tip.alert_id is None:
            return ResidentStage.RECEIVED, None
        alert = alerts.get_alert(tip.alert_id, scope=JurisdictionScope.unscoped())
        if alert.state == AlertState.CLOSED:
            return ResidentStage.HANDLED, alert.outcome
        return ResidentStage.HANDLING, None

    # -- triage --------------------------------------------------------------------------

    def queue(
        self, *, scope: JurisdictionScope, statuses: Sequence[TipStatus] = (TipStatus.PENDING,)
    ) -> list[TipQueueItem]:
        """Tips in the user's scope, newest first (the moderation queue by default)."""
        rows = self.repository.queue(
            scope=scope, statuses=[status.value for status in statuses], limit=QUEUE_LIMIT
        )
        return [self._item(row) for row in rows]

    def get(self, tip_id: int, *, scope: JurisdictionScope) -> TipQueueItem:
        return self._item(self._visible(tip_id, scope))

    def description(self, tip: Tip) -> str:
        """The tip's description, opened from its sealed copy."""
        return self.sealer.open("tips", "description_enc", tip.code, tip.description_enc)

    def _item(self, tip: Tip) -> TipQueueItem:
        fields = {
            name: getattr(tip, name) for name in TipQueueItem.model_fields if name != "description"
        }
        return TipQueueItem.model_validate({**fields, "description": self.description(tip)})

    def proposed_tier(self, category: str) -> str:
        return self.settings.categories.get(category, "minor")

    def accept(
        self,
        tip_id: int,
        *,
        tier: str,
        scope: JurisdictionScope,
        user_id: int,
        alerts: AlertService,
    ) -> int:
        """Raise (or join) the alert for a pending tip and its pending duplicates."""
        if tier not in ("minor", "general", "major"):
            raise BadRequestError("tier must be minor, general or major", field="tier")
        tip = self._pending(tip_id, scope)
        tips = [tip, *self.repository.pending_duplicates_of(tip.id)]
        ids = alerts.raise_drafts([self._draft(each, tier) for each in tips])  # type: ignore[arg-type]
        now = self.clock.now()
        for each, alert_id in zip(tips, ids, strict=True):
            each.status = TipStatus.ACCEPTED.value
            each.alert_id = alert_id
            each.triaged_at, each.triaged_by = now, user_id
        self.repository.session.flush()
        return ids[0]

    def close(self, tip_id: int, *, reason: str, scope: JurisdictionScope, user_id: int) -> None:
        """Close a pending tip with a reason the resident reads on the status page.

        The reason is read by whoever holds the code, so it is kept in clear and may name
        no one: an identity card, mobile or plate number in it is refused."""
        text = without_identifiers(
            plain_text(reason, "reason", max_chars=MAX_REASON_CHARS),
            "reason",
            why="the resident reads the reason with the follow-up code alone, write it without",
        )
        tip = self._pending(tip_id, scope)
        tip.status = TipStatus.CLOSED.value
        tip.close_reason = text
        tip.triaged_at, tip.triaged_by = self.clock.now(), user_id
        self.repository.session.flush()

    def satisfaction(self, *, scope: JurisdictionScope) -> Satisfaction:
        rated, mean = self.repository.ratings(scope=scope)
        return Satisfaction(rated=rated, mean_rating=None if mean is None else round(mean, 2))

    def _visible(self, tip_id: int, scope: JurisdictionScope) -> Tip:
        tip = self.repository.get(tip_id, scope=scope)
        if tip is None:
            raise NotFoundError(f"no tip {tip_id} in your jurisdiction", field="tip_id")
        return tip

    def _pending(self, tip_id: int, scope: JurisdictionScope) -> Tip:
        tip = self._visible(tip_id, scope)
        if tip.status != TipStatus.PENDING.value:
            raise ConflictError(
                f"tip {tip_id} has already been triaged (state {tip.status})", field="tip_id"
            )
        return tip

    def _draft(self, tip: Tip, tier: Tier) -> AlertDraft:
        # One open alert per category and place: a second tip about smoke at the same
        # building joins the first one's alert, and the alert loop's correlation groups
        # it with a smoke alarm there into one incident.
        place_id = tip.building_id or f"tip:{tip.code}"
        # The resident's words stay sealed (the title names the category and the place):
        # whoever sees the alert reads them through the audited tip page.
        place = self.place_names([tip])[tip.id]
        title_zh, title_en = tip_alert_titles(tip.category, place)
        return AlertDraft(
            rule=TIP_RULE,
            kind=f"tip_{tip.category}",
            tier=tier,
            subject=tip.category,
            place_id=place_id,
            observed_at=tip.submitted_at,
            explanation_zh=title_zh,
            explanation_en=title_en,
            community_id=tip.community_id,
            place_name=place,
            images=tuple(tip.photos),
            figures={"tip_id": tip.id, "latitude": tip.latitude, "longitude": tip.longitude},
        )

    def place_names(self, tips: Sequence[PlacedTip]) -> dict[int, str | None]:
        """Each tip's building (with its community), else its community, by name, by tip id:
        what its alert and the triage pages call its place (the registry read once)."""
        communities = {community.id: community.name for community in self._communities()}
        buildings = {building.id: building.name for building in self._buildings()}
        return {
            tip.id: tip_place_name(
                communities.get(tip.community_id or ""), buildings.get(tip.building_id or "")
            )
            for tip in tips
        }
