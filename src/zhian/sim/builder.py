"""Lays out the demo district's rows and the simulator's indexes, one community at a time."""

from __future__ import annotations

import math
import random

from zhian.devices.models import DeviceKind
from zhian.ingest.events import AccessMethod, Subject
from zhian.registry.models import CommunityKind, JurisdictionLevel, PoiKind, RegisteredUse
from zhian.sim.layout import (
    CENTRE,
    J_CITY,
    J_COMMUNITY,
    J_DISTRICT,
    J_PROVINCE,
    J_STATION,
    SiteSpec,
    offset,
    rectangle_wkt,
    scaled,
)
from zhian.sim.people import (
    REFERENCE_YEAR,
    Car,
    Person,
    Role,
    card_ref,
    draw_age,
    draw_role,
    private_car,
    trade_vehicle,
    unique_plate,
)
from zhian.sim.tables import TABLE_ORDER, CrowdCounter, Entrance, PublicPlaces, Row, Site


class Builder:
    """Accumulates the tables and indexes while the district is laid out."""

    def __init__(self, seed: int, scale: float) -> None:
        self.rng = random.Random(f"zhian-sim-district:{seed}")
        self.seed = seed
        self.scale = scale
        self.tables: dict[str, list[Row]] = {entity: [] for entity in TABLE_ORDER}
        self.people: list[Person] = []
        self.cars: list[Car] = []
        self.sites: list[Site] = []
        self.plates: set[str] = set()
        self.disabled: set[str] = set()

    def add(self, entity: str, **row: object) -> None:
        self.tables[entity].append(row)

    def device(
        self,
        device_id: str,
        kind: DeviceKind,
        name: str,
        community: str | None,
        at: tuple[float, float],
        *,
        building: str | None = None,
        unit: str | None = None,
        house: str | None = None,
        zone: str | None = None,
        gateway: str | None = None,
        enabled: bool = True,
    ) -> str:
        if not enabled:
            self.disabled.add(device_id)
        self.add(
            "devices",
            id=device_id,
            kind=kind.value,
            name=name,
            community_id=community,
            building_id=building,
            unit_id=unit,
            house_id=house,
            zone_id=zone,
            gateway_id=gateway,
            latitude=at[0],
            longitude=at[1],
            is_enabled=enabled,
        )
        return device_id

    def jurisdictions(self) -> None:
        nodes = (
            (J_PROVINCE, None, JurisdictionLevel.PROVINCE, "浙江省"),
            (J_CITY, J_PROVINCE, JurisdictionLevel.CITY, "杭州市"),
            (J_DISTRICT, J_CITY, JurisdictionLevel.DISTRICT, "上城区"),
            (J_STATION, J_DISTRICT, JurisdictionLevel.STATION, "安和派出所"),
            (J_COMMUNITY[0], J_STATION, JurisdictionLevel.COMMUNITY, "梧桐社区"),
            (J_COMMUNITY[1], J_STATION, JurisdictionLevel.COMMUNITY, "锦绣社区"),
            (J_COMMUNITY[2], J_STATION, JurisdictionLevel.COMMUNITY, "新塘社区"),
        )
        for node_id, parent, level, name in nodes:
            self.add("jurisdictions", id=node_id, parent_id=parent, level=level.value, name=name)

    def site(self, spec: SiteSpec) -> None:
        rng = self.rng
        centre = offset(*CENTRE, spec.north_m, spec.east_m)
        c = spec.code
        self.add(
            "communities",
            id=c,
            jurisdiction_id=spec.jurisdiction,
            name=spec.name,
            kind=spec.kind.value,
            latitude=centre[0],
            longitude=centre[1],
        )
        gateway = self.device(f"{c}-GW", DeviceKind.GATEWAY, f"{spec.name}门禁网关", c, centre)
        n_buildings = scaled(spec.buildings, self.scale)
        cols = math.ceil(math.sqrt(n_buildings))
        spacing = 45.0
        half = spacing * (cols + 1) / 2
        entrances = []
        # (north, east) offsets of the four sides; an entrance named after a side sits there.
        sides = {"南": (-half - 10, 0.0), "北": (half + 10, 0.0), "西": (0.0, -half - 10),
                 "东": (0.0, half + 10)}  # fmt: skip
        by_index = list(sides.values())
        for e, (name, has_door) in enumerate(spec.entrances):
            at = offset(*centre, *sides.get(name[0], by_index[e % len(by_index)]))
            door = (
                self.device(
                    f"{c}-E{e + 1}-DOOR",
                    DeviceKind.DOOR,
                    f"{spec.name}{name}门禁",
                    c,
                    at,
                    gateway=gateway,
                )
                if has_door
                else None
            )
            camera = self.device(
                f"{c}-E{e + 1}-FACE", DeviceKind.FACE_CAMERA, f"{spec.name}{name}人脸抓拍", c, at
            )
            entrances.append(Entrance(name, door, camera))
        gates = [
            self.device(
                f"{c}-VG{g + 1}",
                DeviceKind.VEHICLE_GATE,
                f"{spec.name}{g + 1}号车辆道闸",
                c,
                offset(*centre, *by_index[(g + 2) % len(by_index)]),
            )
            for g in range(spec.vehicle_gates)
        ]
        # A car-park camera where cars park inside (#20); no random draw, so the rest of
        # the district is laid out as before.
        parking = [
            self.device(f"{c}-PK1", DeviceKind.PARKING_CAMERA, f"{spec.name}车位相机", c, centre)
            for _ in range(1 if gates else 0)
        ]
        site = Site(c, spec.kind.value, entrances, gates, gateway, parking=parking)
        site_index = len(self.sites)
        self.sites.append(site)
        for b in range(n_buildings):
            row, col = divmod(b, cols)
            at = offset(*centre, (row - cols / 2 + 0.5) * spacing, (col - cols / 2 + 0.5) * spacing)
            self.building(spec, site, site_index, b + 1, at)
        fence = scaled(spec.perimeter, self.scale) if spec.perimeter else 0
        for p in range(fence):
            angle = 2 * math.pi * p / fence
            at = offset(*centre, half * math.sin(angle), half * math.cos(angle))
            site.perimeter.append(
                self.device(
                    f"{c}-PER{p + 1:02d}",
                    DeviceKind.PERIMETER_ALARM,
                    f"{spec.name}周界{p + 1}号",
                    c,
                    at,
                )
            )
        for s in range(scaled(spec.sos, self.scale)):
            at = offset(*centre, rng.uniform(-half, half), rng.uniform(-half, half))
            site.sos.append(
                self.device(
                    f"{c}-SOS{s + 1:02d}",
                    DeviceKind.SOS_BUTTON,
                    f"{spec.name}一键报警{s + 1}号",
                    c,
                    at,
                )
            )

    def building(
        self, spec: SiteSpec, site: Site, site_index: int, number: int, at: tuple[float, float]
    ) -> None:
        rng = self.rng
        c = spec.code
        building_id = f"{c}-B{number:03d}"
        self.add(
            "buildings",
            id=building_id,
            community_id=c,
            name=f"{number}幢",
            floors=spec.floors,
            latitude=at[0],
            longitude=at[1],
        )
        smoke = site.smoke_by_building.setdefault(building_id, [])
        for u in range(1, spec.units + 1):
            unit_id = f"{building_id}-U{u}"
            self.add("units", id=unit_id, building_id=building_id, name=f"{u}单元")
            unit_at = offset(*at, -8.0, (u - (spec.units + 1) / 2) * 12)
            door = None
            if spec.door_share >= 1 or rng.random() < spec.door_share:
                door = self.device(
                    f"{unit_id}-DOOR",
                    DeviceKind.DOOR,
                    f"{spec.name}{number}幢{u}单元门禁",
                    c,
                    unit_at,
                    building=building_id,
                    unit=unit_id,
                    gateway=site.gateway,
                )
                site.unit_doors.append(door)
                site.residents_by_door[door] = []
            for k in range(spec.smoke_per_unit):
                smoke.append(
                    self.device(
                        f"{unit_id}-SMK{k + 1}",
                        DeviceKind.SMOKE_SENSOR,
                        f"{spec.name}{number}幢{u}单元烟感{k + 1}",
                        c,
                        unit_at,
                        building=building_id,
                        unit=unit_id,
                        enabled=rng.random() > 0.01,
                    )
                )
            for floor in range(1, spec.floors + 1):
                for h in range(1, spec.per_floor + 1):
                    self.house(spec, site, site_index, unit_id, door, f"{floor}{h:02d}", unit_at)
        # A sensor that is switched off stays silent on purpose: not an offline device.
        site.smoke_by_building[building_id] = [d for d in smoke if d not in self.disabled]

    def house(
        self,
        spec: SiteSpec,
        site: Site,
        site_index: int,
        unit_id: str,
        door: str | None,
        number: str,
        at: tuple[float, float],
    ) -> None:
        rng = self.rng
        house_id = f"{unit_id}-{number}"
        owner, rented, _ = spec.use_weights
        roll = rng.random()
        use = (
            RegisteredUse.OWNER_OCCUPIED
            if roll < owner
            else RegisteredUse.RENTED
            if roll < owner + rented
            else RegisteredUse.IDLE
        )
        area = round(rng.uniform(*spec.area_m2), 1)
        self.add(
            "houses",
            id=house_id,
            unit_id=unit_id,
            number=number,
            area_m2=area,
            registered_use=use.value,
        )
        if spec.kind is CommunityKind.RENTAL and unit_id.startswith(f"{spec.code}-B001-"):
            # The rental block's first building has a smart door lock (智能门锁) at every
            # house: a door of the house itself, unlike a unit door serving many houses.
            site.house_locks[house_id] = self.device(
                f"{house_id}-LOCK",
                DeviceKind.DOOR,
                f"{spec.name}{unit_id.rsplit('-', 1)[1]}·{number}室智能门锁",
                site.community_id,
                at,
                building=unit_id.rsplit("-", 1)[0],
                unit=unit_id,
                house=house_id,
                gateway=site.gateway,
            )
        if use is RegisteredUse.IDLE:
            return
        members: list[int] = []
        floating = rng.random() < spec.floating_share
        for m in range(rng.randint(*spec.household)):
            members.append(self.resident(spec, site, site_index, house_id, door, floating, m == 0))
        site.households.append((house_id, members))
        if door is not None:
            site.residents_by_door[door].extend(members)
        drivers = [i for i in members if self.people[i].role >= Role.COMMUTER]
        rate = spec.cars_per_house
        n_cars = int(rate) + (rng.random() < rate - int(rate))
        for k in range(n_cars):
            owner_index = drivers[k] if k < len(drivers) else -1
            self.car(site_index, spec.code, owner_index)

    def resident(
        self,
        spec: SiteSpec,
        site: Site,
        site_index: int,
        house_id: str,
        door: str | None,
        floating: bool,
        first: bool,
    ) -> int:
        rng = self.rng
        index = len(self.people)
        resident_id = f"R{index + 1:07d}"
        age = draw_age(rng, spec.kind.value, adult=first)
        role = draw_role(rng, spec.kind.value, age)
        card = None if role is Role.CHILD or (age >= 70 and rng.random() < 0.3) else card_ref(index)
        method: AccessMethod = "face" if card is None or rng.random() < spec.face_share else "card"
        face_subject = Subject("resident", resident_id)
        access_subject = face_subject if method == "face" else Subject("card", card or "")
        n_entrances = len(site.entrances)
        entrance = 0 if rng.random() < 0.6 else int(rng.random() * n_entrances)
        self.people.append(
            Person(
                index,
                resident_id,
                house_id,
                site_index,
                role,
                door,
                entrance,
                method,
                access_subject,
                face_subject,
            )
        )
        self.add(
            "residents",
            id=resident_id,
            house_id=house_id,
            birth_year=REFERENCE_YEAR - age,
            is_floating=floating,
            card_ref=card,
        )
        return index

    def car(self, site_index: int, community: str, owner: int) -> None:
        color, vehicle_class = private_car(self.rng)
        plate = unique_plate(self.rng, color, self.plates)
        car_index = len(self.cars)
        self.cars.append(Car(plate, color, vehicle_class, site_index, owner))
        if owner >= 0 and self.people[owner].vehicle < 0:
            self.people[owner].vehicle = car_index
        self.add(
            "vehicles",
            id=f"V{car_index + 1:06d}",
            plate=plate,
            plate_color=color,
            vehicle_class=vehicle_class,
            community_id=community,
            owner_id=self.people[owner].id if owner >= 0 else None,
        )

    def company_vehicles(self, count: int, community: str) -> None:
        """Shop vans and trucks registered to a community, with no resident owner."""
        for _ in range(count):
            color, vehicle_class = trade_vehicle(self.rng)
            self.add(
                "vehicles",
                id=f"V{len(self.tables['vehicles']) + 1:06d}",
                plate=unique_plate(self.rng, color, self.plates),
                plate_color=color,
                vehicle_class=vehicle_class,
                community_id=community,
                owner_id=None,
            )

    def pool(self, size: int, kind: str) -> list[Car]:
        """Plates that pass by but belong to no resident (traffic, deliveries, muck trucks)."""
        cars = []
        for _ in range(size):
            if kind == "private":
                color, vehicle_class = private_car(self.rng)
            elif kind == "trade":
                color, vehicle_class = trade_vehicle(self.rng)
            else:
                color, vehicle_class = "yellow", "muck_truck"
            cars.append(
                Car(unique_plate(self.rng, color, self.plates), color, vehicle_class, -1, -1)
            )
        return cars


def public_places(b: Builder) -> PublicPlaces:
    """The shopping street and the school: zones, points of interest, counters, cameras."""
    street = offset(*CENTRE, 520, 150)
    school = offset(*CENTRE, 120, -120)
    b.add(
        "communities",
        id="C04",
        jurisdiction_id=J_COMMUNITY[0],
        name="南星商业街",
        kind=CommunityKind.COMMERCIAL.value,
        latitude=street[0],
        longitude=street[1],
    )
    b.add(
        "communities",
        id="C05",
        jurisdiction_id=J_COMMUNITY[1],
        name="明德小学",
        kind=CommunityKind.CAMPUS.value,
        latitude=school[0],
        longitude=school[1],
    )
    plaza = offset(*street, -50, 230)
    school_gate = offset(*school, 0, 70)
    for zone_id, community, jurisdiction, name, at, size in (
        ("Z01", "C04", J_COMMUNITY[0], "南星商业街步行街", street, (400.0, 50.0)),
        ("Z02", "C04", J_COMMUNITY[0], "南星广场", plaza, (50.0, 50.0)),
        ("Z03", "C05", J_COMMUNITY[1], "明德小学校门口", school_gate, (20.0, 60.0)),
    ):
        b.add(
            "zones",
            id=zone_id,
            community_id=community,
            jurisdiction_id=jurisdiction,
            name=name,
            polygon_wkt=rectangle_wkt(*at, *size),
            area_m2=size[0] * size[1],
        )
    pois: tuple[tuple[str, str, str | None, PoiKind, str, tuple[float, float]], ...] = (
        ("P01", J_COMMUNITY[1], "C05", PoiKind.SCHOOL, "明德小学", school),
        ("P02", J_COMMUNITY[0], "C04", PoiKind.MALL, "南星购物中心", offset(*street, 30, -120)),
        ("P03", J_COMMUNITY[0], "C04", PoiKind.SHOP, "南星便利店", offset(*street, -10, 60)),
        (
            "P04",
            J_STATION,
            None,
            PoiKind.HOSPITAL,
            "安和社区卫生服务中心",
            offset(*CENTRE, -300, 80),
        ),
    )
    for poi_id, jurisdiction, poi_community, kind, name, at in pois:
        b.add(
            "points_of_interest",
            id=poi_id,
            jurisdiction_id=jurisdiction,
            community_id=poi_community,
            kind=kind.value,
            name=name,
            latitude=at[0],
            longitude=at[1],
        )
    b.device("C04-GW", DeviceKind.GATEWAY, "南星商业街网关", "C04", street)
    b.device("C05-GW", DeviceKind.GATEWAY, "明德小学网关", "C05", school)
    checkpoint = b.device(
        "C04-CP1", DeviceKind.CHECKPOINT, "南星路卡口", "C04", offset(*street, 0, -220)
    )
    street_cameras = [
        b.device(
            f"C04-FACE{i + 1}",
            DeviceKind.FACE_CAMERA,
            f"商业街人脸抓拍{i + 1}",
            "C04",
            offset(*street, 0, -150 + 100 * i),
            zone="Z01",
        )
        for i in range(4)
    ]
    school_cameras = [
        b.device(
            f"C05-FACE{i + 1}",
            DeviceKind.FACE_CAMERA,
            f"校门人脸抓拍{i + 1}",
            "C05",
            offset(*school_gate, 0, -10 + 20 * i),
            zone="Z03",
        )
        for i in range(2)
    ]
    counters = []
    for zone_id, community, at, lines in (
        ("Z01", "C04", street, 2),
        ("Z02", "C04", plaza, 1),
        ("Z03", "C05", school_gate, 2),
    ):
        name = {"Z01": "步行街", "Z02": "广场", "Z03": "校门口"}[zone_id]
        occupancy = b.device(
            f"{community}-CNT-{zone_id}-OCC",
            DeviceKind.CROWD_COUNTER,
            f"{name}人数统计",
            community,
            at,
            zone=zone_id,
        )
        counters.append(CrowdCounter(occupancy, zone_id, "occupancy", 1.0))
        for k in range(lines):
            line = b.device(
                f"{community}-CNT-{zone_id}-L{k + 1}",
                DeviceKind.CROWD_COUNTER,
                f"{name}{k + 1}号客流计数",
                community,
                offset(*at, 0, (k - lines / 2) * 40),
                zone=zone_id,
            )
            counters.append(CrowdCounter(line, zone_id, "line", 1.0 / lines))
    public_smoke = [
        b.device(
            f"C04-SMK{i + 1:02d}",
            DeviceKind.SMOKE_SENSOR,
            f"商业街商铺烟感{i + 1}",
            "C04",
            offset(*street, 10, -180 + 40 * i),
        )
        for i in range(10)
    ] + [
        b.device(
            f"C05-SMK{i + 1}",
            DeviceKind.SMOKE_SENSOR,
            f"明德小学烟感{i + 1}",
            "C05",
            offset(*school, 10 * i, 0),
        )
        for i in range(6)
    ]
    public_sos = [
        b.device(
            f"C04-SOS{i + 1:02d}",
            DeviceKind.SOS_BUTTON,
            f"商业街一键报警{i + 1}",
            "C04",
            offset(*street, 0, -120 + 120 * i),
            zone="Z01",
        )
        for i in range(3)
    ] + [
        b.device(
            f"C05-SOS{i + 1:02d}",
            DeviceKind.SOS_BUTTON,
            f"明德小学一键报警{i + 1}",
            "C05",
            offset(*school_gate, 5, 10 * i),
        )
        for i in range(2)
    ]
    campus_perimeter = [
        b.device(
            f"C05-PER{i + 1:02d}",
            DeviceKind.PERIMETER_ALARM,
            f"明德小学周界{i + 1}号",
            "C05",
            offset(*school, 60 * math.sin(i * 1.57), 60 * math.cos(i * 1.57)),
        )
        for i in range(4)
    ]
    return PublicPlaces(
        checkpoint=checkpoint,
        street_cameras=street_cameras,
        school_cameras=school_cameras,
        crowd_counters=counters,
        smoke=public_smoke,
        sos=public_sos,
        perimeter=campus_perimeter,
    )
