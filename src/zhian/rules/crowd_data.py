"""Master data of crowd safety: zones as the crowd rule sees them, and flow-limiting points.

A flow-limiting point (限流点) is a gate, a barrier line or a stair head where officers can
stop or meter people. Each admits people into one zone (`zone_id`), from another zone
(`from_zone_id`) or from outside (None). Closing the points that feed an overloaded zone
is the first recommendation; zones joined by a point are neighbours people can be sent to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhian.db.base import Base
from zhian.errors import BadRequestError
from zhian.registry.models import Zone


class CrowdFlowPoint(Base):
    """A flow-limiting point: where people enter `zone_id` (from `from_zone_id` or outside)."""

    __tablename__ = "crowd_flow_points"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"), index=True)
    from_zone_id: Mapped[str | None] = mapped_column(ForeignKey("zones.id"), index=True)
    capacity_per_minute: Mapped[int] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class FlowPointIn(BaseModel):
    """A flow-limiting point as loaded (CSV row, API body, simulator)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    zone_id: str = Field(min_length=1, max_length=64)
    from_zone_id: str | None = Field(default=None, max_length=64)
    capacity_per_minute: int = Field(gt=0, description="People per minute it passes when open.")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


@dataclass(frozen=True, slots=True)
class CrowdZone:
    id: str
    name: str
    area_m2: float
    community_id: str | None


@dataclass(frozen=True, slots=True)
class FlowPoint:
    id: str
    name: str
    zone_id: str
    from_zone_id: str | None
    capacity_per_minute: int


@dataclass(frozen=True)
class CrowdDirectory:
    """Zones with an area and the flow-limiting points between them."""

    zones: dict[str, CrowdZone]
    points: tuple[FlowPoint, ...] = ()

    def feeding(self, zone_id: str) -> list[FlowPoint]:
        """Points that admit people into the zone, largest first."""
        found = [p for p in self.points if p.zone_id == zone_id]
        return sorted(found, key=lambda p: (-p.capacity_per_minute, p.id))

    def neighbours(self, zone_id: str) -> list[str]:
        """Zones joined to this one by a flow point, either way."""
        out = {p.from_zone_id for p in self.points if p.zone_id == zone_id and p.from_zone_id}
        out |= {p.zone_id for p in self.points if p.from_zone_id == zone_id}
        return sorted(z for z in out if z in self.zones)


class CrowdDataService:
    """Reads and replaces flow-limiting points; checks each against the zones."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put_flow_points(self, points: Sequence[FlowPointIn]) -> int:
        """Insert or update points by id; every zone they name must exist."""
        zones = set(self.session.scalars(select(Zone.id)))
        for index, point in enumerate(points):
            for name in ("zone_id", "from_zone_id"):
                value = getattr(point, name)
                if value is not None and value not in zones:
                    raise BadRequestError(
                        f"flow point {point.id}: {name} {value!r} is not a known zone",
                        field=f"points[{index}].{name}",
                    )
        for point in points:
            row = self.session.get(CrowdFlowPoint, point.id)
            if row is None:
                self.session.add(CrowdFlowPoint(**point.model_dump()))
            else:
                for key, value in point.model_dump().items():
                    setattr(row, key, value)
        self.session.flush()
        return len(points)

    def directory(self) -> CrowdDirectory:
        zones = {
            z.id: CrowdZone(z.id, z.name, float(z.area_m2), z.community_id)
            for z in self.session.scalars(select(Zone).order_by(Zone.id))
            if z.area_m2 and z.area_m2 > 0
        }
        points = tuple(
            FlowPoint(p.id, p.name, p.zone_id, p.from_zone_id, p.capacity_per_minute)
            for p in self.session.scalars(select(CrowdFlowPoint).order_by(CrowdFlowPoint.id))
        )
        return CrowdDirectory(zones, points)
