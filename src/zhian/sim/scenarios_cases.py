"""Planted case series for case linkage (串并), with their ground truth.

A series is one offender's: the same category, a consistent modus operandi (each feature
keeps the offender's habit most of the time), a spatial cluster around an anchor and a
time rhythm (a case every few days at a preferred hour). Around them: background cases of
no series, with the MO values drawn by how common they are, and near-repeat burglaries
(another burglary close to a recent one, days later, by someone else), the hard negatives
that distance and time alone mistake for a series. Solved cases carry an offender
reference (synthetic, `S-…`), the label linkage trains on.

Where the background falls follows the criminology that hotspot forecasting rests on, not
the forecasting models: crime concentrates (about half of it at a few per cent of places:
shopping streets, transport stops, car parks), so half the background cases fall around a
few dozen lasting crime attractors of very unequal pull and the rest anywhere; a burglary
raises the risk nearby for a couple of weeks, most in the first days (near-repeat
victimisation; Johnson et al. 2007, Townsley et al. 2003), and a near-repeat may itself be
followed by another.
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from zhian.cases.geo import wgs84_to_gcj02
from zhian.sim.layout import CENTRE, offset
from zhian.sim.truth import BACKGROUND_CASE, CASE_SERIES, NEAR_REPEAT, TruthRecord

# category code -> (name in the export, base rate of background cases)
CATEGORIES: dict[str, tuple[str, float]] = {
    "burglary": ("入室盗窃", 0.25),
    "theft_from_vehicle": ("盗窃车内财物", 0.15),
    "vehicle_theft": ("盗窃机动车", 0.05),
    "pickpocketing": ("扒窃", 0.1),
    "robbery": ("抢劫", 0.05),
    "fraud": ("诈骗", 0.15),
    "assault": ("故意伤害", 0.05),
    "dispute": ("纠纷", 0.2),
}
SERIES_CATEGORIES = {"burglary": 0.55, "theft_from_vehicle": 0.25, "vehicle_theft": 0.08,
                     "robbery": 0.12}  # fmt: skip

# MO feature -> values with their weights (common values are common in the background too,
# so sharing one is weak evidence).
MO_VOCABULARY: dict[str, dict[str, float]] = {
    "entry_point": {"正门": 5, "窗户": 3, "阳台": 2, "车窗": 2, "后门": 1, "天窗": 0.5,
                    "空调外机": 0.3},
    "entry_method": {"撬锁": 4, "技术开锁": 2, "插片开锁": 1.5, "破窗": 2, "攀爬": 1.5,
                     "未锁门": 2, "钥匙": 0.5, "砸玻璃": 1.5},
    "target": {"住宅": 5, "车辆": 3, "商铺": 2, "行人": 2, "办公室": 1, "仓库": 0.5},
    "property_taken": {"现金": 5, "手机": 4, "首饰": 2, "电脑": 1.5, "电动车": 1,
                       "烟酒": 1, "车内物品": 2, "汽车": 0.5},
    "tools": {"螺丝刀": 3, "撬棍": 2, "锡纸": 1, "万能钥匙": 1, "破窗器": 1, "无": 4,
              "刀具": 0.5},
}  # fmt: skip
EXPORT_COLUMNS = ("案件编号", "案件类别", "发案时间起", "发案时间止", "发案地址", "building_id",
                  "经度", "纬度", "进入部位", "作案手段", "侵害目标", "损失物品", "作案工具",
                  "案件状态", "是否破案", "嫌疑人编号", "所属辖区")  # fmt: skip
MO_COLUMNS = {"entry_point": "进入部位", "entry_method": "作案手段", "target": "侵害目标",
              "property_taken": "损失物品", "tools": "作案工具"}  # fmt: skip

MAPPING_TOML = """\
# The columns of the simulator's case export (a case system's names), for
# `zhian cases import cases.csv --mapping cases-mapping.toml` and `zhian eval linkage`.
[columns]
id = "案件编号"
category = "案件类别"
time_from = "发案时间起"
time_to = "发案时间止"
address = "发案地址"
building_id = "building_id"
x = "经度"
y = "纬度"
status = "案件状态"
solved = "是否破案"
offender = "嫌疑人编号"
jurisdiction_id = "所属辖区"

[mo]
entry_point = "进入部位"
entry_method = "作案手段"
target = "侵害目标"
property_taken = "损失物品"
tools = "作案工具"

[coordinates]
crs = "GCJ02"

[values.category]
"入室盗窃" = "burglary"
"盗窃车内财物" = "theft_from_vehicle"
"盗窃机动车" = "vehicle_theft"
"扒窃" = "pickpocketing"
"抢劫" = "robbery"
"诈骗" = "fraud"
"故意伤害" = "assault"
"纠纷" = "dispute"

[values.solved]
"是" = true
"否" = false

[values.status]
"已立案" = "investigating"
"已结案" = "closed"
"""

# Crime concentration: how many lasting attractors, how far their cases spread, and the
# share of background cases they draw.
ATTRACTORS = 30
ATTRACTOR_RADIUS_M = 120.0
ATTRACTED_SHARE = 0.5
# A burglary is followed by a near-repeat with this chance; chains stop after a few links.
NEAR_REPEAT_SHARE = 0.25
NEAR_REPEAT_GENERATIONS = 3


@dataclass(frozen=True)
class Place:
    """Where a case may happen: a building of the district, or a point around it."""

    latitude: float
    longitude: float
    address: str
    building_id: str | None = None
    jurisdiction_id: str = "J-STATION"


@dataclass
class SimCase:
    case_id: str
    category: str
    time_from: datetime
    time_to: datetime
    place: Place
    mo: dict[str, str]
    offender: str  # every case has one in truth; `is_solved` says whether it is known
    is_solved: bool
    series: str | None = None


@dataclass
class CaseSimulation:
    """The planted cases of one run and what was planted."""

    cases: list[SimCase] = field(default_factory=list)
    truth: list[TruthRecord] = field(default_factory=list)

    def write_csv(self, path: Path) -> Path:
        """The cases as a case system would export them: Chinese column names, GCJ-02
        coordinates, the offender column filled only for solved cases."""
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(EXPORT_COLUMNS)
            for case in self.cases:
                lat, lon = wgs84_to_gcj02(case.place.latitude, case.place.longitude)
                writer.writerow([
                    case.case_id, CATEGORIES[case.category][0],
                    f"{case.time_from:%Y-%m-%d %H:%M}", f"{case.time_to:%Y-%m-%d %H:%M}",
                    case.place.address, case.place.building_id or "",
                    f"{lon:.6f}", f"{lat:.6f}",
                    *(case.mo.get(name, "") for name in MO_COLUMNS),
                    "已结案" if case.is_solved else "已立案",
                    "是" if case.is_solved else "否",
                    case.offender if case.is_solved else "", case.place.jurisdiction_id,
                ])  # fmt: skip
        return path


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _mo(rng: random.Random, habit: dict[str, str] | None, keep: float) -> dict[str, str]:
    out = {}
    for name, vocabulary in MO_VOCABULARY.items():
        if habit is not None and rng.random() < keep:
            out[name] = habit[name]
        else:
            out[name] = _weighted(rng, vocabulary)
    return out


def _window(rng: random.Random, category: str, moment: datetime) -> tuple[datetime, datetime]:
    # A burglary or a car broken into is found later; a robbery is reported at once.
    if category in {"burglary", "theft_from_vehicle", "vehicle_theft"}:
        before, after = rng.uniform(0.2, 3.0), rng.uniform(0.2, 3.0)
    else:
        before, after = rng.uniform(0, 0.3), rng.uniform(0, 0.3)
    start = moment - timedelta(hours=before)
    return start.replace(second=0, microsecond=0), (moment + timedelta(hours=after)).replace(
        second=0, microsecond=0
    )


class CasePlanter:
    """Draws the cases of `days` days from `start` within `area_m` of the district centre."""

    def __init__(
        self,
        *,
        seed: int,
        start: datetime,
        days: float,
        buildings: Sequence[Place] = (),
        area_m: float = 8000.0,
        jurisdiction_id: str = "J-STATION",
    ) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.buildings = list(buildings)
        self.area_m = area_m
        self.jurisdiction_id = jurisdiction_id
        self.out = CaseSimulation()
        self._offenders = 0
        self._cases = 0
        self._attractors = [
            (self._uniform_place(), self.rng.lognormvariate(0, 1.0)) for _ in range(ATTRACTORS)
        ]

    def _next_offender(self) -> str:
        self._offenders += 1
        return f"S-{self._offenders:05d}"

    def _place_near(self, lat: float, lon: float, radius_m: float) -> Place:
        if self.buildings and self.rng.random() < 0.2:
            near = [b for b in self.buildings
                    if math.hypot((b.latitude - lat) * 110_574, (b.longitude - lon) * 96_000)
                    <= radius_m]  # fmt: skip
            if near:
                return self.rng.choice(near)
        distance = radius_m * math.sqrt(self.rng.random())
        angle = self.rng.uniform(0, 2 * math.pi)
        north, east = distance * math.cos(angle), distance * math.sin(angle)
        p_lat, p_lon = offset(lat, lon, north, east)
        return Place(p_lat, p_lon, f"杭州市上城区 {north:+.0f}/{east:+.0f} 号附近",
                     None, self.jurisdiction_id)  # fmt: skip

    def _uniform_place(self) -> Place:
        return self._place_near(CENTRE[0], CENTRE[1], self.area_m / 2)

    def _random_place(self) -> Place:
        """Anywhere, or (share `ATTRACTED_SHARE`) around a crime attractor by its pull."""
        if self.rng.random() >= ATTRACTED_SHARE:
            return self._uniform_place()
        [(anchor, _)] = self.rng.choices(self._attractors, weights=[w for _, w in self._attractors])
        return self._place_near(anchor.latitude, anchor.longitude, ATTRACTOR_RADIUS_M)

    def _add(self, case: SimCase) -> SimCase:
        self._cases += 1
        case.case_id = f"A{self.start:%Y}{self._cases:06d}"
        self.out.cases.append(case)
        return case

    def _moment(self, day: float, hour: float) -> datetime:
        base = self.start + timedelta(days=math.floor(day))
        return base + timedelta(hours=hour % 24)

    def plant_series(self, count: int, *, solved_share: float = 0.7) -> None:
        for _ in range(count):
            offender = self._next_offender()
            category = _weighted(self.rng, SERIES_CATEGORIES)
            anchor = self._random_place()
            radius = self.rng.uniform(250, 800)
            habit = _mo(self.rng, None, 0.0)
            hour = self.rng.uniform(0, 24)
            keep = self.rng.uniform(0.7, 0.9)
            every = self.rng.uniform(3, 12)
            length = self.rng.randint(4, 14)
            day = self.rng.uniform(0, max(self.days - every * length, 1))
            ids = []
            for _ in range(length):
                if day >= self.days:
                    break
                moment = self._moment(day, self.rng.gauss(hour, 1.2))
                time_from, time_to = _window(self.rng, category, moment)
                case = self._add(SimCase(
                    "", category, time_from, time_to,
                    self._place_near(anchor.latitude, anchor.longitude, radius),
                    _mo(self.rng, habit, keep), offender, self.rng.random() < solved_share,
                    series=offender,
                ))  # fmt: skip
                ids.append(case.case_id)
                day += max(0.5, self.rng.gauss(every, every / 3))
            if len(ids) >= 2:
                first, last = self.out.cases[-len(ids)], self.out.cases[-1]
                self.out.truth.append(TruthRecord(
                    CASE_SERIES, offender, first.time_from, last.time_to,
                    {"cases": ids, "category": category, "radius_m": round(radius)},
                ))  # fmt: skip

    def plant_background(self, per_day: float, *, solved_share: float = 0.35,
                         near_repeat_share: float = NEAR_REPEAT_SHARE) -> None:  # fmt: skip
        names = list(CATEGORIES)
        rates = [CATEGORIES[n][1] for n in names]
        total = int(per_day * self.days)
        for _ in range(total):
            category = self.rng.choices(names, weights=rates)[0]
            day = self.rng.uniform(0, self.days)
            moment = self._moment(day, self.rng.uniform(0, 24))
            time_from, time_to = _window(self.rng, category, moment)
            case = self._add(SimCase(
                "", category, time_from, time_to, self._random_place(), _mo(self.rng, None, 0),
                self._next_offender(), self.rng.random() < solved_share,
            ))  # fmt: skip
            self.out.truth.append(
                TruthRecord(
                    BACKGROUND_CASE, case.offender, time_from, time_to, {"case": case.case_id}
                )
            )
            if category == "burglary" and self.rng.random() < near_repeat_share:
                self._near_repeat(case, solved_share, near_repeat_share)

    def _near_repeat(
        self, first: SimCase, solved_share: float, share: float, generation: int = 1
    ) -> None:
        # Risk is highest in the first days and gone after about three weeks.
        later = first.time_from + timedelta(days=self.rng.triangular(0.5, 21, 0.5))
        if (later - self.start).total_seconds() > self.days * 86400:
            return
        moment = self._moment((later - self.start).total_seconds() / 86400,
                              self.rng.uniform(0, 24))  # fmt: skip
        time_from, time_to = _window(self.rng, "burglary", moment)
        place = self._place_near(first.place.latitude, first.place.longitude, 200)
        case = self._add(SimCase(
            "", "burglary", time_from, time_to, place, _mo(self.rng, None, 0),
            self._next_offender(), self.rng.random() < solved_share,
        ))  # fmt: skip
        self.out.truth.append(TruthRecord(
            NEAR_REPEAT, case.offender, time_from, time_to,
            {"case": case.case_id, "near": first.case_id},
        ))  # fmt: skip
        if generation < NEAR_REPEAT_GENERATIONS and self.rng.random() < share:
            self._near_repeat(case, solved_share, share, generation + 1)


def simulate_cases(
    *,
    seed: int,
    start: datetime,
    days: float = 365,
    series: int = 40,
    background_per_day: float = 3.0,
    buildings: Sequence[Place] = (),
    jurisdiction_id: str = "J-STATION",
    area_m: float = 8000.0,
) -> CaseSimulation:
    """Series, background cases and near-repeats of `days` days within `area_m` of the
    district centre, sorted by time."""
    planter = CasePlanter(seed=seed, start=start, days=days, buildings=buildings,
                          jurisdiction_id=jurisdiction_id, area_m=area_m)  # fmt: skip
    planter.plant_series(series)
    planter.plant_background(background_per_day)
    out = planter.out
    out.cases.sort(key=lambda c: (c.time_from, c.case_id))
    return out
