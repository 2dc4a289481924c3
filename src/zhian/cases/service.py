"""Cases: entering, changing and importing them, and case linkage (串并) over them.

A `CaseService` works within one `JurisdictionScope`, given when it is made: a user's for
pages, the API and the command line; `JurisdictionScope.unscoped()` for the node's own
work (training the linkage model over every solved case). The caller owns the transaction.
Linkage only suggests: a candidate link is a probability with its reasons, and only an
analyst's decision (recorded with who made it) links two cases into a series.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.alerts.schemas import AlertState, AlertSummary, Outcome
from zhian.cases.facts import CaseFacts, TimeOfDayClasses, mo_values
from zhian.cases.linkage import (
    FEATURES,
    Blocking,
    CaseArrays,
    LinkageModel,
    compare,
    evaluate,
    pair_features,
)
from zhian.cases.models import Case, CaseLink, LinkageModelVersion
from zhian.cases.repository import CaseRepository
from zhian.cases.schemas import (
    CandidateLink,
    CaseCreate,
    CaseFromAlert,
    CaseRead,
    CaseStatus,
    CaseUpdate,
    LinkageComparisonRead,
    LinkRead,
    LinkReason,
    ModelVersionRead,
    VersionScoreRead,
)
from zhian.cases.settings import CaseSettings
from zhian.errors import BadRequestError, ConfigurationError, ConflictError, NotFoundError
from zhian.governance.tokens import Tokeniser
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.registry.service import AddressMatcher, RegistryService

_METRES_PER_DEGREE_LAT = 110_574.0


@dataclass(frozen=True)
class CaseRowError:
    row: int
    field: str
    reason: str


@dataclass
class CaseImportReport:
    source: str = ""
    created: int = 0
    updated: int = 0
    rejected: int = 0
    case_ids: list[str] = field(default_factory=list)
    errors: list[CaseRowError] = field(default_factory=list)
    retrained: ModelVersionRead | None = None

    @property
    def accepted(self) -> int:
        return self.created + self.updated


def read_case(row: Case) -> CaseRead:
    return CaseRead(
        id=row.id,
        category=row.category,
        time_from=row.time_from,
        time_to=row.time_to,
        time_of_day=row.time_of_day,
        address=row.address,
        house_id=row.house_id,
        building_id=row.building_id,
        community_id=row.community_id,
        jurisdiction_id=row.jurisdiction_id,
        latitude=row.latitude,
        longitude=row.longitude,
        mo={name: [str(v) for v in values] for name, values in (row.mo or {}).items()},
        status=CaseStatus(row.status),
        is_solved=row.is_solved,
        has_offender=row.offender_token is not None,
        alert_id=row.alert_id,
        source=row.source,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def category_tree_fault(categories: dict[str, str]) -> str | None:
    """Why a configured category tree is not a tree (a parent missing), or None."""
    for code, parent in categories.items():
        if parent and parent not in categories:
            return f"category '{code}' names the parent '{parent}', which is not a category"
    return None


class CaseService:
    """Keeps cases within `scope`, and suggests links between them."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        settings: CaseSettings,
        scope: JurisdictionScope,
        tokeniser: Tokeniser | None = None,
        sealer: IdentityProtector | None = None,
    ) -> None:
        self.repository = CaseRepository(session)
        self.registry = RegistryService(session, clock=clock)
        self.clock = clock
        self.settings = settings
        self.scope = scope
        self.tokeniser = tokeniser
        # Seals and opens the analysts' notes on links (they may name a suspect); a service
        # without one refuses a note rather than keep it in clear.
        self.sealer = sealer
        self.time_of_day = TimeOfDayClasses(
            night_from_hour=settings.night_from_hour,
            morning_from_hour=settings.morning_from_hour,
            afternoon_from_hour=settings.afternoon_from_hour,
            evening_from_hour=settings.evening_from_hour,
            max_window_hours=settings.max_window_hours_for_time_of_day,
        )
        self.blocking = Blocking(settings.linkage_radius_m, settings.linkage_window_days)

    @cached_property
    def _jurisdictions(self) -> set[str]:
        return set(self.registry.jurisdiction_tree().parents)

    def _not_found(self, case_id: str) -> NotFoundError:
        where = "" if self.scope.is_unscoped else " in your jurisdiction"
        return NotFoundError(f"no case '{case_id[:64]}'{where}", field="case_id")

    def _visible(self, case_id: str) -> Case:
        row = self.repository.get(case_id, scope=self.scope)
        if row is None:
            raise self._not_found(case_id)
        return row

    # --- checks ------------------------------------------------------------------------

    def _check_category(self, category: str) -> None:
        if category not in self.settings.categories:
            raise BadRequestError(
                f"unknown category '{category}'; one of: "
                f"{', '.join(sorted(self.settings.categories))}",
                field="category",
            )

    def _check_mo(self, mo: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned: dict[str, list[str]] = {}
        for name, values in mo.items():
            if name not in self.settings.mo_features:
                raise BadRequestError(
                    f"unknown modus-operandi feature '{name}'; one of: "
                    f"{', '.join(self.settings.mo_features)}",
                    field=f"mo.{name}",
                )
            kept = sorted(mo_values({name: values}, [name]).get(name, frozenset()))
            if kept:
                cleaned[name] = kept
        return cleaned

    def _offender_token(self, offender_ref: str | None) -> str | None:
        if offender_ref is None:
            return None
        if self.tokeniser is None:
            raise BadRequestError(
                "keeping an offender needs the node's key ring (zhian keys init): the "
                "offender is kept only as a keyed token",
                field="offender_ref",
            )
        return self.tokeniser.token("offender", offender_ref.strip().upper())

    @cached_property
    def _address_matcher(self) -> AddressMatcher:
        return self.registry.address_matcher()

    def _place(
        self, data: CaseCreate
    ) -> tuple[float, float, str | None, str | None, str, str | None]:
        """(lat, lon, building_id, community_id, jurisdiction_id, address) of a new case."""
        place = None
        if data.house_id is None and data.building_id is None and data.address:
            # A case system's address text: placed at the one building it names, if any.
            matched = self._address_matcher.building_of(data.address)
            if matched is not None:
                place = self.registry.place_of(building_id=matched)
        if data.house_id is not None or data.building_id is not None:
            place = self.registry.place_of(building_id=data.building_id, house_id=data.house_id)
            if place is None and data.latitude is None:
                which = "house_id" if data.house_id is not None else "building_id"
                raise BadRequestError(
                    f"'{data.house_id or data.building_id}' is not a {which[:-3]} of the "
                    "registry, and the case gives no coordinates",
                    field=which,
                )
        lat = data.latitude if data.latitude is not None else (place.latitude if place else None)
        lon = data.longitude if data.longitude is not None else (place.longitude if place else None)
        if (lat is None or lon is None) and data.address:
            raise BadRequestError(
                f"'{data.address[:60]}' names no single building of the registry; give "
                "coordinates, a house_id or a building_id",
                field="address",
            )
        if lat is None or lon is None:
            raise BadRequestError("a case needs a place", field="latitude")
        jurisdiction = data.jurisdiction_id or (place.jurisdiction_id if place else None)
        if jurisdiction is None:
            raise BadRequestError(
                "a case placed outside the registry's buildings needs a jurisdiction_id",
                field="jurisdiction_id",
            )
        if jurisdiction not in self._jurisdictions:
            raise BadRequestError(f"unknown jurisdiction '{jurisdiction}'", field="jurisdiction_id")
        if not self.scope.contains(jurisdiction):
            raise BadRequestError(
                f"jurisdiction '{jurisdiction}' is not in your jurisdiction",
                field="jurisdiction_id",
            )
        address = data.address or (place.address if place else None)
        return (
            lat,
            lon,
            place.building_id if place else None,
            place.community_id if place else None,
            jurisdiction,
            address,
        )

    # --- cases -------------------------------------------------------------------------

    def get(self, case_id: str) -> CaseRead:
        return read_case(self._visible(case_id))

    def list_cases(
        self,
        *,
        category: str | None = None,
        is_solved: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CaseRead]:
        rows = self.repository.list_cases(
            scope=self.scope, category=category, is_solved=is_solved, limit=limit, offset=offset
        )
        return [read_case(row) for row in rows]

    def create(
        self,
        data: CaseCreate,
        *,
        user_id: int | None,
        source: str,
        alert_id: int | None = None,
    ) -> CaseRead:
        """A new case; ConflictError when its number is taken."""
        if self.repository.exists(data.id):
            raise ConflictError(f"case '{data.id}' exists already", field="id")
        self._check_category(data.category)
        mo = self._check_mo(data.mo)
        lat, lon, building, community, jurisdiction, address = self._place(data)
        time_to = data.time_to or data.time_from
        now = self.clock.now()
        row = Case(
            id=data.id,
            category=data.category,
            time_from=data.time_from,
            time_to=time_to,
            time_of_day=self.time_of_day.classify(data.time_from, time_to),
            address=address,
            house_id=data.house_id if building is not None else None,
            building_id=building,
            community_id=community,
            jurisdiction_id=jurisdiction,
            latitude=lat,
            longitude=lon,
            mo=mo,
            status=data.status.value,
            is_solved=data.is_solved,
            offender_token=self._offender_token(data.offender_ref),
            alert_id=alert_id,
            source=source[:200],
            created_at=now,
            created_by=user_id,
            updated_at=now,
            updated_by=user_id,
        )
        self.repository.add(row)
        return read_case(row)

    def create_from_alert(
        self, alert: AlertSummary, request: CaseFromAlert, *, user_id: int
    ) -> CaseRead:
        """A case from a confirmed alert (signed for, and not closed as a false alarm or a
        duplicate), placed at its building or community, its window the alert's span."""
        if alert.state is AlertState.NEW:
            raise ConflictError(
                f"alert {alert.id} is not confirmed yet: sign for it first", field="alert_id"
            )
        if alert.outcome in {Outcome.FALSE_ALARM, Outcome.DUPLICATE}:
            raise ConflictError(
                f"alert {alert.id} was closed as {alert.outcome.value}", field="alert_id"
            )
        place = None
        if alert.place_id is not None:
            place = self.registry.place_of(building_id=alert.place_id)
        lat = lon = None
        if place is None and alert.community_id is not None:
            community = next(
                (c for c in self.registry.list_communities(scope=self.scope)
                 if c.id == alert.community_id),
                None,
            )  # fmt: skip
            if community is not None:
                lat, lon = community.latitude, community.longitude
        if place is None and lat is None:
            raise BadRequestError(
                f"alert {alert.id} has no place in the registry to put the case at",
                field="alert_id",
            )
        data = CaseCreate(
            id=request.id or f"AL-{alert.id}",
            category=request.category,
            time_from=alert.created_at,
            time_to=max(alert.last_seen_at, alert.created_at),
            address=request.address or alert.place_name,
            building_id=place.building_id if place is not None else None,
            latitude=lat,
            longitude=lon,
            jurisdiction_id=alert.jurisdiction_id,
            status=CaseStatus.REPORTED,
        )
        return self.create(data, user_id=user_id, source=f"alert:{alert.id}", alert_id=alert.id)

    def update(self, case_id: str, changes: CaseUpdate, *, user_id: int | None) -> CaseRead:
        row = self._visible(case_id)
        given = changes.model_dump(exclude_unset=True)
        if "category" in given and changes.category is not None:
            self._check_category(changes.category)
            row.category = changes.category
        if changes.mo is not None:
            row.mo = self._check_mo(changes.mo)
        if changes.time_from is not None:
            row.time_from = changes.time_from
        if changes.time_to is not None:
            row.time_to = changes.time_to
        if row.time_to < row.time_from:
            raise BadRequestError("time_to lies before time_from", field="time_to")
        given_time = changes.time_from or changes.time_to
        if given_time is not None:
            # Classified in the offset the change was given in: stored times are UTC.
            zone = given_time.tzinfo
            row.time_of_day = self.time_of_day.classify(
                row.time_from.astimezone(zone), row.time_to.astimezone(zone)
            )
        if (changes.latitude is None) != (changes.longitude is None):
            raise BadRequestError("give both latitude and longitude, or neither", field="latitude")
        if changes.latitude is not None and changes.longitude is not None:
            row.latitude, row.longitude = changes.latitude, changes.longitude
        if "address" in given:
            row.address = changes.address
        if changes.status is not None:
            row.status = changes.status.value
        if changes.is_solved is not None:
            row.is_solved = changes.is_solved
            if not changes.is_solved:
                row.offender_token = None
        if changes.offender_ref is not None:
            if not row.is_solved:
                raise BadRequestError("only a solved case names an offender", field="offender_ref")
            row.offender_token = self._offender_token(changes.offender_ref)
        row.updated_at, row.updated_by = self.clock.now(), user_id
        self.repository.session.flush()
        return read_case(row)

    def save_rows(
        self,
        rows: Iterable[tuple[int, CaseCreate | list[CaseRowError]]],
        *,
        user_id: int | None,
        source: str,
        column_of: Callable[[str], str] | None = None,
    ) -> CaseImportReport:
        """Create each case, or replace the one of the same number; a bad row (a
        jurisdiction outside the scope included) is reported by row, the file's column
        (`column_of` turns a field into it) and reason."""
        report = CaseImportReport(source=source)
        for number, parsed in rows:
            if isinstance(parsed, list):
                report.rejected += 1
                report.errors.extend(parsed)
                continue
            try:
                with self.repository.session.begin_nested():
                    existing = self.repository.get(parsed.id, scope=self.scope)
                    if existing is not None:
                        self.repository.session.delete(existing)
                        self.repository.session.flush()
                    self.create(parsed, user_id=user_id, source=source)
            except (BadRequestError, ConflictError) as exc:
                report.rejected += 1
                name = exc.field or "row"
                column = column_of(name) if column_of is not None else name
                report.errors.append(CaseRowError(number, column, exc.message))
                continue
            if existing is not None:
                report.updated += 1
            else:
                report.created += 1
            report.case_ids.append(parsed.id)
        return report

    # --- linkage -----------------------------------------------------------------------

    def _facts(self, row: Case) -> CaseFacts:
        return CaseFacts(
            case_id=row.id,
            category=row.category,
            time_from=row.time_from,
            time_to=row.time_to,
            latitude=row.latitude,
            longitude=row.longitude,
            time_of_day=row.time_of_day,
            mo=mo_values(row.mo or {}, self.settings.mo_features),
            offender=row.offender_token,
        )

    def _active_model(self) -> tuple[LinkageModelVersion, LinkageModel]:
        version = self.repository.active_version()
        if version is None:
            raise ConflictError(
                "no linkage model yet: train one on solved cases (zhian cases train)",
                field="model",
            )
        return version, LinkageModel.from_json(version.parameters)

    def candidates(self, case_id: str, *, limit: int | None = None) -> list[CandidateLink]:
        """Cases in the scope that may be by the same offender, most probable first, each
        with its reasons (distance, time gap, MO overlap, time of day, target, category)
        and any decision already made on it."""
        row = self._visible(case_id)
        version, model = self._active_model()
        radius = self.blocking.radius_m
        window = timedelta(days=self.blocking.window_days)
        band = radius / _METRES_PER_DEGREE_LAT
        others = self.repository.near(
            scope=self.scope,
            south=row.latitude - band,
            north=row.latitude + band,
            since=row.time_from - window - (row.time_to - row.time_from),
            until=row.time_to + window,
            exclude=row.id,
        )
        if not others:
            return []
        arrays = CaseArrays([self._facts(row)] + [self._facts(o) for o in others])
        pairs = np.array([[0, index] for index in range(1, len(arrays.cases))], dtype=np.int64)
        features = pair_features(arrays, pairs)
        distance_m = 100.0 * np.expm1(features[:, 0])
        gap_days = np.expm1(features[:, 1])
        keep = (distance_m <= radius) & (gap_days <= self.blocking.window_days)
        probability = model.probability(features)
        contributions = model.contributions(features)
        decided = {
            (link.case_b if link.case_a == row.id else link.case_a): link
            for link in self.repository.links_of([row.id])
        }
        order = [i for i in np.argsort(-probability).tolist() if keep[i]]
        out = []
        for index in order[: limit or self.settings.linkage_candidates]:
            other = others[index]
            link = decided.get(other.id)
            out.append(
                CandidateLink(
                    case=read_case(other),
                    probability=round(float(probability[index]), 4),
                    distance_m=round(float(distance_m[index]), 1),
                    time_gap_days=round(float(gap_days[index]), 2),
                    reasons=self._reasons(row, other, model, features[index], contributions[index]),
                    decision=None
                    if link is None
                    else ("accepted" if link.is_accepted else "rejected"),
                    model_version=version.id,
                )
            )
        return out

    def _reasons(
        self,
        row: Case,
        other: Case,
        model: LinkageModel,
        features: NDArray[np.float64],
        contributions: NDArray[np.float64],
    ) -> list[LinkReason]:
        shared = sorted(
            f"{name}: {value}"
            for name, values in self._facts(row).mo.items()
            for value in values & self._facts(other).mo.get(name, frozenset())
        )
        words = {
            "log_distance": f"{100.0 * math.expm1(features[0]):.0f} m",
            "log_time_gap": f"{math.expm1(features[1]):.1f} d",
            "mo_overlap": f"{features[2]:.2f}" + (f" ({'; '.join(shared)})" if shared else ""),
            "same_time_of_day": f"{row.time_of_day} / {other.time_of_day}",
            "same_target": "yes" if features[4] else "no",
            "same_category": f"{row.category} / {other.category}",
        }
        reasons = [
            LinkReason(feature=name, value=words[name], weight=round(float(weight), 3))
            for name, weight in zip(model.features, contributions.tolist(), strict=True)
        ]
        return sorted(reasons, key=lambda r: -abs(r.weight))

    def decide(
        self, case_id: str, other_id: str, *, accept: bool, user_id: int, note: str = ""
    ) -> LinkRead:
        """Record an analyst's decision on a link (replacing an earlier one on the pair)."""
        if case_id == other_id:
            raise BadRequestError("a case cannot be linked to itself", field="other_id")
        self._visible(case_id)
        self._visible(other_id)
        first, second = sorted((case_id, other_id))
        sealed_note = self._seal_note(first, second, note[:1000])  # refused before any change
        probability, version_id = None, None
        version = self.repository.active_version()
        if version is not None:
            for candidate in self.candidates(case_id, limit=500):
                if candidate.case.id == other_id:
                    probability, version_id = candidate.probability, version.id
        link = self.repository.link(first, second)
        now = self.clock.now()
        if link is None:
            link = CaseLink(case_a=first, case_b=second)
            self.repository.session.add(link)
        link.is_accepted = accept
        link.probability = probability
        link.model_version = version_id
        link.note_enc = sealed_note
        link.decided_by, link.decided_at = user_id, now
        self.repository.session.flush()
        return self._read_link(link)

    def links(self, case_id: str) -> list[LinkRead]:
        self._visible(case_id)
        return [self._read_link(link) for link in self.repository.links_of([case_id])]

    def _seal_note(self, case_a: str, case_b: str, note: str) -> bytes | None:
        """The note sealed for its pair of cases (`case_links.note_enc:<a>/<b>`); None
        for no note, which needs no key."""
        if not note:
            return None
        if self.sealer is None:
            raise ConfigurationError(
                "notes on case links are sealed at rest and this node has no key ring yet; "
                "run `zhian keys init` first",
                field="note",
            )
        return self.sealer.seal("case_links", "note_enc", f"{case_a}/{case_b}", note)

    def _read_link(self, link: CaseLink) -> LinkRead:
        note = ""
        if link.note_enc is not None:
            if self.sealer is None:
                raise ConfigurationError(
                    "notes on case links are sealed at rest and this service was given no "
                    "key ring (open it through the node, which holds the key ring)",
                    field="note",
                )
            pair = f"{link.case_a}/{link.case_b}"
            note = self.sealer.open("case_links", "note_enc", pair, link.note_enc)
        return LinkRead(
            case_a=link.case_a,
            case_b=link.case_b,
            is_accepted=link.is_accepted,
            probability=link.probability,
            model_version=link.model_version,
            note=note,
            decided_by=link.decided_by,
            decided_at=link.decided_at,
        )

    def series(self, case_id: str) -> list[CaseRead]:
        """The series of a case: every case reached from it through accepted links, by
        time (the case itself included); cases outside the scope are left out."""
        self._visible(case_id)
        seen = {case_id}
        frontier = [case_id]
        while frontier:
            links = self.repository.links_of(frontier)
            frontier = []
            for link in links:
                if not link.is_accepted:
                    continue
                for other in (link.case_a, link.case_b):
                    if other not in seen:
                        seen.add(other)
                        frontier.append(other)
        rows = self.repository.get_many(sorted(seen), scope=self.scope)
        return [read_case(row) for row in sorted(rows, key=lambda r: (r.time_from, r.id))]

    # --- model versions ----------------------------------------------------------------

    def train(self, *, user_id: int | None, reason: str) -> ModelVersionRead:
        """Train a new version on every solved case of the node (earlier 70 %), evaluate it
        on the later 30 %, keep both, and make it the active version."""
        rows = self.repository.labelled()
        result = evaluate([self._facts(row) for row in rows], blocking=self.blocking)
        version = LinkageModelVersion(
            created_at=self.clock.now(),
            created_by=user_id,
            reason=reason[:200],
            labelled_cases=len(rows),
            train_cases=result.train_cases,
            test_cases=result.test_cases,
            train_pairs=result.train_pairs,
            test_pairs=result.test_pairs,
            auc=result.auc_model,
            auc_distance=result.auc_distance,
            auc_time=result.auc_time,
            auc_distance_time=result.auc_distance_time,
            brier=result.brier,
            parameters=result.model.to_json(),
            is_active=False,
        )
        self.repository.add(version)
        self.repository.activate(version.id)
        self.repository.session.refresh(version)
        return ModelVersionRead.model_validate(version)

    def retrain_if_due(self) -> ModelVersionRead | None:
        """Retrain once `retrain_every_labelled` solved cases were added since the newest
        version was trained; None when not due, or when the data cannot train a model.

        Counted from the newest version, not the active one: an analyst's rollback to an
        older version stands until that many more cases are labelled, rather than being
        undone by the next write."""
        trained_on = max((v.labelled_cases for v in self.repository.versions()), default=0)
        labelled = self.repository.count_labelled()
        if labelled - trained_on < self.settings.retrain_every_labelled:
            return None
        try:
            with self.repository.session.begin_nested():
                return self.train(
                    user_id=None,
                    reason=f"automatic: {labelled - trained_on} newly labelled cases",
                )
        except BadRequestError:
            return None

    def versions(self) -> list[ModelVersionRead]:
        return [ModelVersionRead.model_validate(v) for v in self.repository.versions()]

    def compare(self, version_ids: Iterable[int]) -> LinkageComparisonRead:
        """Score the versions named on the same test pairs: the later 30 % of the node's
        solved cases now (the split a version trained now is tested on), so an analyst
        can see which version ranks today's cases best before rolling back or forward."""
        wanted = list(dict.fromkeys(version_ids))
        if not 2 <= len(wanted) <= 10:
            raise BadRequestError("name two to ten versions to compare", field="versions")
        versions = []
        for version_id in wanted:
            version = self.repository.version(version_id)
            if version is None:
                raise NotFoundError(f"no linkage model version {version_id}", field="versions")
            versions.append(version)
        rows = self.repository.labelled()
        result = compare(
            {v.id: LinkageModel.from_json(v.parameters) for v in versions},
            [self._facts(row) for row in rows],
            blocking=self.blocking,
        )
        return LinkageComparisonRead(
            test_cases=result.test_cases,
            test_pairs=result.test_pairs,
            test_linked_pairs=result.test_linked_pairs,
            versions=[
                VersionScoreRead(
                    id=v.id,
                    created_at=v.created_at,
                    is_active=v.is_active,
                    labelled_cases=v.labelled_cases,
                    auc_when_trained=v.auc,
                    auc=result.scores[v.id][0],
                    brier=result.scores[v.id][1],
                )
                for v in versions
            ],
        )

    def activate(self, version_id: int) -> ModelVersionRead:
        """Make an earlier (or later) version the active one: a rollback."""
        version = self.repository.version(version_id)
        if version is None:
            raise NotFoundError(f"no linkage model version {version_id}", field="version")
        self.repository.activate(version_id)
        self.repository.session.refresh(version)
        return ModelVersionRead.model_validate(version)


__all__ = ["FEATURES", "CaseImportReport", "CaseRowError", "CaseService", "read_case"]
