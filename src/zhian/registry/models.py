"""Tables of the master registry. Identifiers are stable string codes shared with devices."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class JurisdictionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    DISTRICT = "district"
    STATION = "station"
    COMMUNITY = "community"


class CommunityKind(StrEnum):
    OPEN = "open"  # an old open neighbourhood, many entrances
    GATED = "gated"  # a gated estate with access control at every door
    RENTAL = "rental"  # a rental-heavy block
    COMMERCIAL = "commercial"  # a shopping street
    CAMPUS = "campus"  # a school, hospital or other key unit
    # Places where long stays and long absences are the point (#20): each place type may
    # have its own zombie-vehicle and vacancy thresholds (zhian.models.parameters).
    CAMPSITE = "campsite"  # campers stay for weeks
    LONG_STAY_PARK = "long_stay_park"  # a long-stay car park (airport, station, park and ride)
    HOLIDAY_HOMES = "holiday_homes"  # second homes, lived in for a season a year


class RegisteredUse(StrEnum):
    OWNER_OCCUPIED = "owner_occupied"
    RENTED = "rented"
    IDLE = "idle"


class PoiKind(StrEnum):
    SCHOOL = "school"
    HOSPITAL = "hospital"
    MALL = "mall"
    STATION = "station"
    SHOP = "shop"
    OTHER = "other"


class Jurisdiction(Base):
    """A node of the jurisdiction tree: province › city › district › station › community."""

    __tablename__ = "jurisdictions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))


class Community(Base):
    """A residential community, commercial street or key unit under one jurisdiction."""

    __tablename__ = "communities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Building(Base):
    __tablename__ = "buildings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    floors: Mapped[int] = mapped_column(Integer)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Unit(Base):
    """A building unit (单元): one stairwell and entrance door of a building."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    building_id: Mapped[str] = mapped_column(ForeignKey("buildings.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class House(Base):
    """One dwelling (实有房屋) with its floor area and registered use."""

    __tablename__ = "houses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    area_m2: Mapped[float] = mapped_column(Float)
    registered_use: Mapped[str] = mapped_column(String(16))


class Zone(Base):
    """An area with a polygon (WKT, WGS84) whose occupancy and density are watched."""

    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    polygon_wkt: Mapped[str] = mapped_column(String(4000))
    area_m2: Mapped[float] = mapped_column(Float)


class PointOfInterest(Base):
    __tablename__ = "points_of_interest"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jurisdiction_id: Mapped[str] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    community_id: Mapped[str | None] = mapped_column(ForeignKey("communities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Resident(Base):
    """A registered resident (实有人口). `id` is the pseudonymous reference devices report.

    Identity fields (name, ID-card number, phone, enrolled face feature) are held only
    sealed (AES-GCM, see `zhian.governance.crypto`, context `residents.<column>:<id>`);
    `id_number_token` is the keyed token of the ID-card number, for joins without the
    number itself.
    """

    __tablename__ = "residents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    house_id: Mapped[str] = mapped_column(ForeignKey("houses.id"), index=True)
    birth_year: Mapped[int] = mapped_column(Integer)
    is_floating: Mapped[bool] = mapped_column(default=False)
    # Issue #12: the access card reference is personal data: held as its keyed token (kind
    # `subject`, as the event store tokenises the card refs of access events), sealed for an
    # audited reveal (context `residents.card_ref_enc:<id>`) and masked for display.
    card_ref_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    card_ref_enc: Mapped[bytes | None] = mapped_column()
    card_ref_masked: Mapped[str | None] = mapped_column(String(64))
    # Governance (#4): sealed identity fields (bytes map to LargeBinary) and the join token.
    name_enc: Mapped[bytes | None] = mapped_column()
    id_number_enc: Mapped[bytes | None] = mapped_column()
    phone_enc: Mapped[bytes | None] = mapped_column()
    # Issue #6: the face feature a residential face access system enrolled (base64 float32),
    # sealed like the identity fields: it identifies the person as surely as a name.
    face_feature_enc: Mapped[bytes | None] = mapped_column()
    id_number_token: Mapped[str | None] = mapped_column(String(64), index=True)
    # Issue #15: the keyed token of the name (kind `name`), for exact-match search by name.
    name_token: Mapped[str | None] = mapped_column(String(64), index=True)
    # Issue #15: a confirmed move-out ends the residence; the resident stays on record.
    moved_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Vehicle(Base):
    """A registered vehicle. Its plate is held as the keyed token the event store joins on,
    a sealed copy (context `vehicles.plate_enc:<id>`) and the masked plate (#12)."""

    __tablename__ = "vehicles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plate_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    plate_enc: Mapped[bytes | None] = mapped_column()
    plate_masked: Mapped[str | None] = mapped_column(String(16))
    # The plate's kind by the plate rule (zhian.governance.plates): `other` (foreign,
    # unreadable) is kept and counted on the data-quality page.
    plate_kind: Mapped[str | None] = mapped_column(String(16), index=True)
    plate_color: Mapped[str] = mapped_column(String(16))
    vehicle_class: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[str] = mapped_column(ForeignKey("communities.id"), index=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("residents.id"), index=True)


class HouseChange(Base):
    """A change a confirmed finding made to a house (一标三实 loop, #15): its registered use,
    or a residence ended, with the alert that found it and the officer who confirmed it."""

    __tablename__ = "house_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    house_id: Mapped[str] = mapped_column(ForeignKey("houses.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    change: Mapped[str] = mapped_column(String(32))  # registered_use | moved_out
    before: Mapped[str | None] = mapped_column(String(64))
    after: Mapped[str | None] = mapped_column(String(64))
    resident_id: Mapped[str | None] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(Integer)


class RegistrationDraft(Base):
    """A registration for an officer to complete: someone a confirmed finding says lives
    at a place without being registered. `subject` is how devices name them (a keyed
    token, `<kind>:<token>`), never a name."""

    __tablename__ = "registration_drafts"
    __table_args__ = (UniqueConstraint("alert_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[str | None] = mapped_column(String(64), index=True)
    place_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    alert_id: Mapped[int] = mapped_column(Integer)
    # UtcDateTime: kept in UTC whatever zone the clock gives (SQLite keeps no zone).
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # When it was completed or dismissed (the assessment's registry tasks done on time).
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PlaceRestriction(Base):
    """A restricted place (限行点位): which vehicles may pass a device or the devices of a
    zone, when and which way (docs/models.md, place rules). Lists are comma-separated:
    vehicle classes as the events name them, owner types `community` (registered to the
    place's community), `registered` (registered anywhere) and `unregistered`."""

    __tablename__ = "place_restrictions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), index=True)
    zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    governs_classes: Mapped[str] = mapped_column(String(200), default="")
    direction: Mapped[str | None] = mapped_column(String(8))
    allowed_classes: Mapped[str] = mapped_column(String(200), default="")
    allowed_owners: Mapped[str] = mapped_column(String(64), default="")
    allowed_from_hour: Mapped[int | None] = mapped_column()
    allowed_until_hour: Mapped[int | None] = mapped_column()
    # Allowed plates, like a vehicle's plate never in clear: the tokens the event store
    # joins on (comma-separated), a sealed copy of the list and the masked plates.
    allowed_plates_token: Mapped[str | None] = mapped_column(Text)
    allowed_plates_enc: Mapped[bytes | None] = mapped_column()
    allowed_plates_masked: Mapped[str | None] = mapped_column(Text)
