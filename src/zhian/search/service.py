"""The search box (综合查询): one text, looked up across plates, people, communities,
addresses (buildings), houses, devices, alerts and cases, within the user's scope.

Personal identifiers are never compared in clear: a plate is looked up by the keyed tokens
of it and of every plate one character away (a camera's misread, `zhian.search.plates`);
a person by the keyed token of the exact ID-card number or name. A person look-up is
reported back (`SearchResults.person_lookup`) so that the caller audits it; hits show
masked identities only. The caller picks the kinds the user may see (their permissions).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.alerts.service import AlertService
from zhian.cases.service import CaseService
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, NotFoundError
from zhian.governance.tokens import Tokeniser
from zhian.governance.validation import InvalidValueError, normalise_id_number
from zhian.registry.search import RegistrySearch
from zhian.registry.service import RegistryService
from zhian.search.plates import plate_query

MAX_QUERY_CHARS = 100
HITS_PER_KIND = 20
MAX_ALERT_ID = 2**31 - 1
# A name the box looks people up by: 2-6 Chinese characters, or names joined by a middle
# dot (买买提·艾力). Other text (a community's name, say) is not taken for a person's
# name, so that searching a place neither looks up nor audits a person.
_PERSON_NAME = re.compile(r"[\u4e00-\u9fff]{2,6}|[\u4e00-\u9fff]{1,10}(·[\u4e00-\u9fff]{1,10})+")


class SearchKind(StrEnum):
    PLATE = "plate"
    PERSON = "person"
    COMMUNITY = "community"
    ADDRESS = "address"
    HOUSE = "house"
    DEVICE = "device"
    ALERT = "alert"
    CASE = "case"


@dataclass(frozen=True)
class SearchHit:
    """One result: what it is, how the list names it, and where its page is."""

    kind: SearchKind
    id: str
    label: str  # identities and plates masked
    detail: str
    href: str
    is_exact: bool = True  # False: a plate one character away from the one typed


@dataclass(frozen=True)
class PersonLookup:
    """A look-up of people by identity (to be audited): how, its token, who matched."""

    by: str  # "id_number" or "name"
    token: str
    resident_ids: list[str]


@dataclass
class SearchResults:
    query: str
    groups: dict[SearchKind, list[SearchHit]] = field(default_factory=dict)
    person_lookup: PersonLookup | None = None
    plate_tokens: list[str] = field(default_factory=list)  # the typed plate's, exact first

    @property
    def total(self) -> int:
        return sum(len(hits) for hits in self.groups.values())


def checked_query(text: str) -> str:
    """The query with blanks collapsed, or BadRequestError naming the field `q`."""
    query = " ".join(text.split())
    if not query:
        raise BadRequestError("type something to search for", field="q")
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequestError(f"the query must be at most {MAX_QUERY_CHARS} characters", field="q")
    return query


def _id_number(query: str) -> str | None:
    try:
        return normalise_id_number(query)
    except InvalidValueError:
        return None


class SearchService:
    """Runs one search; every read takes the user's scope. The caller owns the session."""

    def __init__(
        self,
        session: Session,
        *,
        scope: JurisdictionScope,
        kinds: Collection[SearchKind],
        tokeniser: Tokeniser | None,
        alerts: AlertService,
        cases: CaseService,
    ) -> None:
        self.session = session
        self.scope = scope
        self.kinds = frozenset(kinds)
        self.tokeniser = tokeniser  # None: the node has no key ring, identities unsearchable
        self.alerts = alerts
        self.cases = cases
        self.registry = RegistrySearch(session)

    def search(self, text: str) -> SearchResults:
        query = checked_query(text)
        results = SearchResults(query)
        steps: dict[SearchKind, Callable[[SearchResults], list[SearchHit]]] = {
            SearchKind.PLATE: self._plates,
            SearchKind.PERSON: self._people,
            SearchKind.COMMUNITY: self._communities,
            SearchKind.ADDRESS: self._addresses,
            SearchKind.HOUSE: self._houses,
            SearchKind.DEVICE: self._devices,
            SearchKind.ALERT: self._alerts,
            SearchKind.CASE: self._cases,
        }
        for kind, step in steps.items():
            if kind in self.kinds:
                hits = step(results)
                if hits:
                    results.groups[kind] = hits
        return results

    # --- identities, by keyed token only ----------------------------------------------------

    def _plates(self, results: SearchResults) -> list[SearchHit]:
        typed = plate_query(results.query)
        if typed is None or self.tokeniser is None:
            return []
        token = self.tokeniser.token
        exact = token("plate", typed.plate)
        near = {token("plate", plate): plate for plate in typed.near}
        results.plate_tokens = [exact, *near]
        vehicles = self.registry.vehicles_by_plate_tokens(
            results.plate_tokens, scope=self.scope, limit=HITS_PER_KIND
        )
        vehicles.sort(key=lambda v: v.plate_token != exact)
        return [
            SearchHit(
                SearchKind.PLATE,
                v.id,
                v.plate_masked,
                v.community,
                f"/archives/vehicles/{v.id}",
                is_exact=v.plate_token == exact,
            )
            for v in vehicles
        ]

    def _people(self, results: SearchResults) -> list[SearchHit]:
        if self.tokeniser is None:
            return []
        query = results.query
        id_number = _id_number(query)
        if id_number is not None:
            by, token = "id_number", self.tokeniser.token("id_number", id_number)
        elif _PERSON_NAME.fullmatch(query):
            by, token = "name", self.tokeniser.token("name", query)
        else:
            return []
        registry = RegistryService(self.session)
        found = registry.residents(
            scope=self.scope,
            id_number_token=token if by == "id_number" else None,
            name_token=token if by == "name" else None,
            limit=HITS_PER_KIND,
        )
        results.person_lookup = PersonLookup(by, token, [r.id for r in found])
        # The label is filled with the masked name by the caller, which holds the reveal
        # service; here the place stands in.
        return [
            SearchHit(
                SearchKind.PERSON,
                r.id,
                r.id,
                f"{r.community} {r.building} {r.unit} {r.house}",
                f"/residents/{r.id}",
            )
            for r in found
        ]

    # --- places and things -----------------------------------------------------------------

    def _communities(self, results: SearchResults) -> list[SearchHit]:
        return [
            SearchHit(SearchKind.COMMUNITY, c.id, c.name, c.id, f"/archives/communities/{c.id}")
            for c in self.registry.communities(results.query, scope=self.scope, limit=HITS_PER_KIND)
        ]

    def _addresses(self, results: SearchResults) -> list[SearchHit]:
        return [
            SearchHit(
                SearchKind.ADDRESS,
                b.id,
                f"{b.community} {b.name}",
                b.id,
                f"/archives/buildings/{b.id}",
            )
            for b in self.registry.buildings(results.query, scope=self.scope, limit=HITS_PER_KIND)
        ]

    def _houses(self, results: SearchResults) -> list[SearchHit]:
        return [
            SearchHit(
                SearchKind.HOUSE, h.id, f"{h.community} {h.name}", h.id, f"/archives/houses/{h.id}"
            )
            for h in self.registry.houses(results.query, scope=self.scope, limit=HITS_PER_KIND)
        ]

    def _devices(self, results: SearchResults) -> list[SearchHit]:
        wanted = results.query.casefold()
        devices = DeviceService(self.session).list_devices(scope=self.scope)
        matched = [d for d in devices if wanted == d.id.casefold() or wanted in d.name.casefold()]
        return [
            SearchHit(SearchKind.DEVICE, d.id, d.name, f"{d.id} · {d.kind}", f"/devices/{d.id}")
            for d in matched[:HITS_PER_KIND]
        ]

    def _alerts(self, results: SearchResults) -> list[SearchHit]:
        number = results.query.removeprefix("#")
        # Alert ids are the database's 32-bit integers: a longer number names none.
        if not number.isdigit() or int(number) > MAX_ALERT_ID:
            return []
        try:
            alert = self.alerts.get_alert(int(number), scope=self.scope)
        except NotFoundError:
            return []
        return [
            SearchHit(
                SearchKind.ALERT,
                str(alert.id),
                alert.title_zh,
                f"{alert.state} · {alert.title_en}",
                f"/alerts/{alert.id}",
            )
        ]

    def _cases(self, results: SearchResults) -> list[SearchHit]:
        try:
            case = self.cases.get(results.query)
        except (NotFoundError, BadRequestError):
            return []
        return [
            SearchHit(
                SearchKind.CASE,
                case.id,
                case.id,
                f"{case.category} · {case.address or ''}".strip(" ·"),
                f"/cases/{case.id}",
            )
        ]
