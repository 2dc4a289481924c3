"""The event store's named queries: what pages and batch models may ask of the events.

Every read of the events outside `zhian.store` goes through `EventQueries`, one typed
method per question, so the same question runs on DuckDB (the embedded tier,
`zhian.store.duckdb_queries`) and later on Spark (the scaled tier) and can be routed by
its name to the process that holds the store. A new query is added here first, with its
meaning in the domain, then to each engine and to `tests/store/test_queries.py`.

Times going in are timezone-aware; times coming out are aware UTC. Subjects and plates are
the store's tokens (`zhian.store.identifiers`), never the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple, Protocol

import msgspec
import pyarrow as pa

# --- what the queries are given -------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceTables:
    """Registry and device master data the analytical queries join against, as Arrow
    tables (any engine reads them: DuckDB registers them, Spark makes data frames).

    - `keys`: key (`<subject_kind>:<token>`, how a door or camera names a resident or
      their card), resident_id
    - `devices`: device_id, kind, community_id, unit_id, house_id, building_id,
      is_residential (its community is one people live in), watches_stays (residential, a
      campsite or a long-stay car park: where vehicles' stays are watched), is_restricted
      (a place rule holds at it)
    - `vehicles`: plate (token), community_id, owner_id (a resident, or null)
    - `residents`: resident_id, house_id;  `optins`: resident_id (welfare checks)
    """

    keys: pa.Table
    devices: pa.Table
    vehicles: pa.Table
    residents: pa.Table
    optins: pa.Table

    def by_name(self) -> dict[str, pa.Table]:
        """The tables under the names the SQL engines know them by (`m_<name>`)."""
        return {
            "m_keys": self.keys,
            "m_devices": self.devices,
            "m_vehicles": self.vehicles,
            "m_residents": self.residents,
            "m_optins": self.optins,
        }


# --- what the queries return ----------------------------------------------------------------


class StoredEventSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event as lists show it: the common fields and a one-line summary."""

    type: str
    seq: int
    event_id: str
    device_id: str
    time: datetime
    received_at: datetime
    source: str
    summary: str  # plates and subject references masked
    identifiers: list[str] = []  # the tokens of the identifiers the summary masks


class PlatePassage(msgspec.Struct, frozen=True, kw_only=True):
    """One vehicle passage as a trajectory reads it: where, when, and the plate's token and
    masked form (never the plate)."""

    seq: int
    event_id: str
    device_id: str
    time: datetime
    plate_token: str
    plate_masked: str


class SubjectPassage(msgspec.Struct, frozen=True, kw_only=True):
    """One access passage or matched face capture of a person's key (a resident's card or
    subject reference) as a trajectory reads it: where, when, which key (its kind and
    token) and its masked form (never the value). `type` is "access" or "face"."""

    seq: int
    event_id: str
    device_id: str
    time: datetime
    type: str
    subject_kind: str
    subject_token: str
    subject_masked: str


class PassageCount(msgspec.Struct, frozen=True, kw_only=True):
    """Access or vehicle passages of one device in one direction in one UTC hour of event
    time (`direction` "" when the device did not say)."""

    device_id: str
    type: str  # "access" | "vehicle"
    direction: str
    hour: datetime
    count: int


class PlateSeen(msgspec.Struct, frozen=True, kw_only=True):
    """A plate (its token) seen at least once by one device in a window (the statistics'
    visiting vehicles and the list behind them): one row per device and plate, with its
    masked form, its first and last passage there and how many passages."""

    device_id: str
    plate: str
    plate_masked: str
    first_seen: datetime
    last_seen: datetime
    passages: int


class ArrivalStats(msgspec.Struct, frozen=True, kw_only=True):
    """What arrived from one device through one source in one hour, and how late.

    Lag is arrival minus event time, in seconds; `ahead` counts negative lags (a device
    clock running fast). `complete` counts events carrying every optional field their
    type should have.
    """

    device_id: str
    source: str
    hour: datetime
    accepted: int
    mean_lag_seconds: float
    max_lag_seconds: float
    min_lag_seconds: float
    late: int
    ahead: int
    complete: int


class EvidenceEvent(NamedTuple):
    """A stored event cited as evidence (a short list of them, newest or oldest first as
    the query says)."""

    event_id: str
    device_id: str
    time: datetime


class SealedCapture(NamedTuple):
    """A face capture with its sealed feature (opened only by an audited reader)."""

    event_id: str
    device_id: str
    time: datetime
    feature: bytes


class ResidentSighting(NamedTuple):
    """A registered resident's newest sighting (a granted door passage by their card or
    face, a face capture matched to them, or their own car at a gate), their newest
    passage that has a direction, and their first sighting in the window (since when the
    store has watched them: a housemate's first sighting dates the absence of a resident
    never seen at all)."""

    resident_id: str
    at: datetime
    event_id: str
    device_id: str
    event_type: str
    direction: str | None
    direction_at: datetime | None
    first_at: datetime | None = None


class GateVehicleStay(NamedTuple):
    """A vehicle not registered to a residential community, at that community's gates:
    its last passage and how many it made, its class as last read, and its newest read at
    any vehicle device of the store (a read elsewhere after its entry here: it left)."""

    plate: str
    plate_masked: str
    community_id: str
    last_direction: str
    last_at: datetime
    last_event_id: str
    last_device_id: str
    passages: int
    vehicle_class: str = "other"
    seen_at: datetime | None = None
    # Car-park cameras (#20): whether the community has any (None: this engine does not
    # read them, gate reads only), on how many days they read it parked since its last
    # passage, and when last. A read elsewhere than these cameras sets `seen_at`.
    parked_readers: bool | None = None
    parked_days: int = 0
    last_parked_at: datetime | None = None


class RestrictedVehicleEntry(NamedTuple):
    """A muck truck or hazmat vehicle passing a residential community's gate, either way:
    its way out tells of an entry the gate did not read."""

    plate: str
    plate_masked: str
    vehicle_class: str
    community_id: str
    event_id: str
    device_id: str
    at: datetime
    local_hour: int
    direction: str = "in"


class RestrictedPlacePassage(NamedTuple):
    """A vehicle passing a restricted device (a place rule holds there), with the
    community its plate is registered to (None: unregistered)."""

    plate: str
    plate_masked: str
    vehicle_class: str
    direction: str
    device_id: str
    event_id: str
    at: datetime
    local_hour: int
    registered_community_id: str | None
    is_registered: bool


class UnitDoorPassage(NamedTuple):
    """A granted entry through a unit door by someone the registry does not know (no
    resident, card or visitor pass), who entered at least `min_units` unit doors."""

    subject: str  # `<subject_kind>:<token>`
    community_id: str
    unit_id: str
    event_id: str
    device_id: str
    at: datetime


class CommunityDayEntries(NamedTuple):
    """Someone the registry does not know entering several residential communities on
    one local day."""

    subject: str
    day: date
    community_ids: list[str]
    communities: int
    events: list[EvidenceEvent]  # the first eight, oldest first


class HouseDoorOccupant(NamedTuple):
    """Someone passing a house's own door: a resident (their card and face are one
    person) or any other subject, with the local days they passed it."""

    house_id: str
    who: str  # a resident id, or `<subject_kind>:<token>`
    subject_kind: str
    first_at: datetime
    days: list[date]
    events: list[EvidenceEvent]  # the newest two


class NightPresence(NamedTuple):
    """Someone the registry does not know whose last passage of a night (17:00–03:00
    local, named by its evening) through residential doors was coming in."""

    subject: str
    subject_kind: str
    first_at: datetime
    nights: list[date]  # oldest first
    unit_id: str | None  # the unit door they pass most, if any
    community_id: str
    events: list[EvidenceEvent]  # the newest eight


# --- the interface --------------------------------------------------------------------------


class EventQueries(Protocol):
    """The named questions every event-store engine answers."""

    # Operations pages and data quality.

    def count_by_type(self) -> dict[str, int]:
        """Number of stored events of each type, zero included."""
        ...

    def recent_events(
        self, limit: int = 50, device_id: str | None = None
    ) -> list[StoredEventSummary]:
        """The newest events by event time, of every type, optionally of one device."""
        ...

    def device_last_seen(self) -> dict[str, datetime]:
        """The newest event time of each device, over events of every type."""
        ...

    def events_per_minute(self, since: datetime) -> list[tuple[datetime, int]]:
        """Events per UTC minute of event time from `since` on; minutes without any are
        left out."""
        ...

    def arrival_stats(
        self, since: datetime, until: datetime, *, late_after_seconds: float
    ) -> list[ArrivalStats]:
        """Per device, source and UTC hour of arrival in [since, until): counts, lateness
        and completeness."""
        ...

    def passage_counts(self, since: datetime, until: datetime) -> list[PassageCount]:
        """Access and vehicle passages per device, direction and UTC hour of event time in
        [since, until) (the statistics' passages by hour, day and direction)."""
        ...

    def plates_seen(self, since: datetime, until: datetime) -> list[PlateSeen]:
        """Each distinct (device, plate token) of the vehicle passages with a plate in
        [since, until), with its first and last passage and their count (the statistics'
        visiting vehicles), ordered by device and plate token."""
        ...

    # Batch models: events in [since, until), joined to the reference tables.

    def resident_sightings(
        self, reference: ReferenceTables, since: datetime, until: datetime
    ) -> list[ResidentSighting]:
        """Each registered resident's last sighting (residency, welfare, vacant house); a
        car-park camera's read of their car is none (the car is parked, not its owner)."""
        ...

    def gate_vehicle_stays(
        self, reference: ReferenceTables, since: datetime, until: datetime
    ) -> list[GateVehicleStay]:
        """Vehicles seen at the gates of residential communities, campsites and long-stay
        car parks they are not registered to, one row per vehicle and community (zombie
        vehicles)."""
        ...

    def restricted_vehicle_entries(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[RestrictedVehicleEntry]:
        """Muck trucks and hazmat vehicles passing the gates of residential communities,
        either way, oldest first, with the local hour of the passage."""
        ...

    def restricted_place_passages(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[RestrictedPlacePassage]:
        """Every vehicle passage through a restricted device (`devices.is_restricted`),
        oldest first, with the local hour and the plate's registration."""
        ...

    def unit_door_passages(
        self, reference: ReferenceTables, since: datetime, until: datetime, *, min_units: int
    ) -> list[UnitDoorPassage]:
        """Unknown subjects' entries through unit doors, by subject then time, for those
        who entered at least `min_units` distinct units (theft casing)."""
        ...

    def community_day_entries(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
        min_communities: int,
    ) -> list[CommunityDayEntries]:
        """Unknown subjects entering at least `min_communities` residential communities
        in one local day (theft casing)."""
        ...

    def house_door_occupants(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[HouseDoorOccupant]:
        """Who passes each house's own door, on which local days (group rental)."""
        ...

    def night_presences(
        self,
        reference: ReferenceTables,
        since: datetime,
        until: datetime,
        *,
        utc_offset_seconds: int,
    ) -> list[NightPresence]:
        """Unknown subjects present overnight at residential doors (unregistered
        residents)."""
        ...

    def door_face_captures(
        self,
        reference: ReferenceTables,
        door_cameras: pa.Table,
        subjects: list[str],
        since: datetime,
        until: datetime,
        *,
        link_seconds: int,
        max_captures: int,
    ) -> dict[str, list[SealedCapture]]:
        """For each of `subjects`, the face captures with a feature at a camera watching a
        residential door (`door_cameras`: door_id, camera_id) within `link_seconds` of one
        of their passages there, newest first: linked by place and time alone."""
        ...


def query_names() -> tuple[str, ...]:
    """The name of every named query, in the order `EventQueries` declares them: the one
    list a process that routes reads to the store's owner by name checks against."""
    return tuple(name for name in vars(EventQueries) if not name.startswith("_"))
