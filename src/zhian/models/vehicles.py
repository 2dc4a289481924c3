"""Vehicles: zombie vehicles (僵尸车) and restricted vehicles in residential communities."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.models.base import ModelRun, parameter_figures
from zhian.models.place_rules import (
    BROKEN_NAMES,
    Broken,
    OwnerType,
    PlaceRule,
    VehiclePassage,
    residential_rules,
)
from zhian.models.rarity import PassageHistory
from zhian.models.settings import ModelSettings
from zhian.store.queries import (
    GateVehicleStay,
    RestrictedPlacePassage,
    RestrictedVehicleEntry,
)

# Vans and trucks (deliveries, trades, muck) come and go many times a day: an exit the gate
# did not read is far likelier than one left for good, so they wait longer.
COMMERCIAL_CLASSES = frozenset({"van", "truck", "muck_truck"})
# A read elsewhere this long after the entry here means the vehicle left (devices' clocks
# may disagree by minutes).
SEEN_AFTER_MARGIN = timedelta(hours=1)
# A way out is matched with a way in read at most this long before it (a muck truck or a
# hazmat vehicle unloads and leaves); an exit without one tells of a missed entry read.
TRIP_CONTEXT = timedelta(hours=12)
# The same exit reported twice by a reader, seconds apart, is one passage.
DUPLICATE_READ = timedelta(minutes=10)
# The hours before an exit in which its unread entry is taken to lie.
INFERRED_ENTRY_HOURS = 1
# Where the community has car-park cameras (#20), a zombie was read parked this recently:
# they read each parked car a few times a day, so two days without a read means it left
# (its way out unread by the gate).
PARKED_RECENT = timedelta(days=2)


class ZombieVehicleModel:
    """A vehicle not registered to the community entered through its gate and has not
    passed any of its gates, nor been read anywhere else, for more than N days (vans and
    trucks: `zombie_commercial_absent_days`): a property task (abandoned or stored).
    Where the community has car-park cameras, it must also have been read parked there
    within `PARKED_RECENT`: one not read parked since (or at all) left unseen."""

    name = "model.zombie_vehicle"
    scenario = "zombie_vehicle"
    identifier = "plate"  # its subjects: store tokens of this kind
    title_zh = "僵尸车"
    title_en = "Zombie vehicle"
    parameters = ("zombie_absent_days", "zombie_commercial_absent_days")

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.zombie_absent_days)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        since = run.now - timedelta(days=run.settings.lookback_days)
        drafts = []
        for stay in run.queries.gate_vehicle_stays(run.master.reference, since, run.now):
            if stay.last_direction != "in":
                continue
            entered = stay.last_at
            # Read at any gate or checkpoint after it entered here: it left, and the gate
            # missed its way out (the margin covers devices' clocks that disagree).
            if stay.seen_at is not None and stay.seen_at - entered > SEEN_AFTER_MARGIN:
                continue
            params = run.params(stay.community_id)
            commercial = stay.vehicle_class in COMMERCIAL_CLASSES
            threshold = (
                params.zombie_commercial_absent_days if commercial else params.zombie_absent_days
            )
            days = (run.now - entered).total_seconds() / 86400
            if days <= threshold:
                continue
            parked = stay.parked_readers is True
            if parked and (
                stay.last_parked_at is None or run.now - stay.last_parked_at > PARKED_RECENT
            ):
                continue  # not read parked lately: it left, the gate missed its way out
            drafts.append(self._draft(run, stay, days, params, parked=parked))
        return drafts

    def _draft(
        self,
        run: ModelRun,
        stay: GateVehicleStay,
        days: float,
        params: ModelSettings,
        *,
        parked: bool,
    ) -> AlertDraft:
        """The alert, naming its evidence: the car-park cameras' reads where the community
        has them, else gate reads only and their limit (docs/models.md, zombie vehicle)."""
        community = stay.community_id
        masked = stay.plate_masked
        name = run.master.community_name.get(community, community)
        entered = run.local(stay.last_at)
        figures: dict[str, float | int | str] = {
            **parameter_figures(params, self.parameters),
            "days_since_entry": round(days, 1),
            "passages": stay.passages,
            "vehicle_class": stay.vehicle_class,
        }
        elsewhere_zh, elsewhere_en = "其他点位", "any other device"
        if parked and stay.last_parked_at is not None:
            elsewhere_zh, elsewhere_en = (
                "本小区车位相机以外的点位",
                "any device but its car-park camera",
            )
            last = run.local(stay.last_parked_at)
            evidence_zh = (
                f"车位相机最近于{last:%m-%d %H:%M}识读到其停放，共{stay.parked_days}天有停放识读"
            )
            evidence_en = (
                f"the car-park camera last read it parked on {last:%m-%d %H:%M}, on "
                f"{stay.parked_days} days in all"
            )
            figures["evidence"] = "parked_reads"
            figures["days_read_parked"] = stay.parked_days
            figures["last_parked_read"] = f"{last:%Y-%m-%d %H:%M}"
        else:
            evidence_zh = "仅依据道闸识读：驶出漏读的车辆表现相同，请现场核实"
            evidence_en = "gate reads only: a car whose way out the gate missed reads the same"
            evidence_en += "; please check on site"
            figures["evidence"] = "gate_reads_only"
        return AlertDraft(
            rule=self.name,
            kind="zombie_vehicle",
            tier="minor",
            subject=stay.plate,
            place_id=community,
            community_id=community,
            place_name=name,
            device_id=stay.last_device_id,
            observed_at=run.now,
            explanation_zh=f"车辆{masked}于{entered:%m-%d %H:%M}驶入{name}后"
            f"已{days:.0f}天无通行记录，其间也未在{elsewhere_zh}被识读，疑似僵尸车（{evidence_zh}）",
            explanation_en=f"Vehicle {masked} entered {name} on {entered:%m-%d %H:%M} and has "
            f"not passed a gate, nor been read at {elsewhere_en}, for {days:.0f} days "
            f"({evidence_en})",
            events=(EventRef(stay.last_event_id, "vehicle", stay.last_device_id, stay.last_at),),
            figures=figures,
        )


class RestrictedVehicleModel:
    """Vehicles breaking a place rule: hazmat vehicles entering a residential community at
    any hour, muck trucks entering outside their permitted night hours (default
    22:00–05:00 local), and any passage through a restricted device or zone of the master
    data (`place_restrictions`) that its rule does not allow."""

    name = "model.restricted_vehicle"
    scenario = "restricted_vehicle"
    identifier = "plate"  # its subjects: store tokens of this kind
    title_zh = "限行车辆"
    title_en = "Restricted vehicle"
    parameters = ("muck_allowed_from_hour", "muck_allowed_until_hour")

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(0)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        since = run.now - timedelta(days=2)
        # Read from a little earlier: a way out is matched with the way in before it.
        passages = run.queries.restricted_vehicle_entries(
            run.master.reference,
            since - TRIP_CONTEXT,
            run.now,
            utc_offset_seconds=run.utc_offset_seconds,
        )
        drafts = self._place_rule_drafts(run, since)
        previous: dict[tuple[str, str], RestrictedVehicleEntry] = {}
        for row in passages:
            key = (row.plate, row.community_id)
            before, previous[key] = previous.get(key), row
            inferred = row.direction != "in"
            if inferred and not _entry_missed(row, before):
                continue
            if row.at < since:
                continue
            draft = self._residential_draft(run, row, inferred=inferred)
            if draft is not None:
                drafts.append(draft)
        return drafts

    def _residential_draft(
        self, run: ModelRun, row: RestrictedVehicleEntry, *, inferred: bool
    ) -> AlertDraft | None:
        """The alert for a muck truck or hazmat vehicle that entered against its rule: read
        entering, or read leaving when its entry was not read (`inferred`). An inferred
        entry lies within `INFERRED_ENTRY_HOURS` before the exit: it breaks the hours only
        when every hour it could have come in is outside them."""
        params = run.params(row.community_id)
        rule = residential_rules(params)[row.vehicle_class]
        hours = [row.local_hour]
        if inferred:
            hours += [(row.local_hour - h) % 24 for h in range(1, INFERRED_ENTRY_HOURS + 1)]
        broken = [
            rule.broken_by(VehiclePassage(row.plate, row.vehicle_class, "in", h)) for h in hours
        ]
        part = broken[0]
        if part is None or any(b is None for b in broken):
            return None
        name = run.master.community_name.get(row.community_id, row.community_id)
        hazmat = row.vehicle_class == "hazmat"
        what_zh = "危化品运输车" if hazmat else "渣土车"
        when = run.local(row.at)
        reason_zh = "禁止驶入居住区" if hazmat else f"非许可时段（{rule.hours_text}）驶入居住区"
        if inferred:
            how_zh = (
                f"于{when:%m-%d %H:%M}驶出{name}"
                f"（驶入未被识读，应在此前{INFERRED_ENTRY_HOURS}小时内）"
            )
            how_en = (
                f"left the residential community {name} at {when:%m-%d %H:%M} (its entry, "
                f"within the hour{'s' if INFERRED_ENTRY_HOURS > 1 else ''} before, was not read)"
            )
            sentence_zh = f"{what_zh}{row.plate_masked}{how_zh}，{reason_zh}"
        else:
            how_en = f"entered the residential community {name} at {when:%m-%d %H:%M}"
            sentence_zh = f"{what_zh}{row.plate_masked}于{when:%m-%d %H:%M}{reason_zh}：{name}"
        figures: dict[str, float | int | str] = {
            **parameter_figures(params, self.parameters),
            "vehicle_class": row.vehicle_class,
            "local_hour": row.local_hour,
            # The rule it broke, and which part (docs/models.md, place rules).
            "place_rule": rule.key,
            "rule_broken": part.value,
        }
        if inferred:
            figures["entry_read"] = "missed"  # judged by the way out (docs/models.md)
        return AlertDraft(
            rule=self.name,
            kind="restricted_vehicle",
            tier="general",
            subject=row.plate,
            place_id=row.community_id,
            community_id=row.community_id,
            place_name=name,
            device_id=row.device_id,
            observed_at=row.at,
            explanation_zh=sentence_zh,
            explanation_en=f"{row.vehicle_class} {row.plate_masked} {how_en}"
            + ("" if hazmat else f", outside {rule.hours_text}"),
            events=(EventRef(row.event_id, "vehicle", row.device_id, row.at),),
            figures=figures,
        )

    def _place_rule_drafts(self, run: ModelRun, since: datetime) -> list[AlertDraft]:
        """An alert per passage through a restricted device that breaks one of its rules,
        naming the rule and the part broken."""
        if not run.master.place_rules:
            return []
        drafts = []
        # The lookback before the window is read as history only: rarity (a second signal,
        # never an alert by itself) compares each passage with those before it.
        history = PassageHistory()
        for row in run.queries.restricted_place_passages(
            run.master.reference,
            run.now - timedelta(days=run.settings.lookback_days),
            run.now,
            utc_offset_seconds=run.utc_offset_seconds,
        ):
            if row.at >= since:
                draft = self._first_breach(run, row)
                if draft is not None:
                    rarity = history.figures(row.device_id, row.plate, row.local_hour)
                    drafts.append(replace(draft, figures={**draft.figures, **rarity}))
            history.add(row.device_id, row.plate, row.local_hour)
        return drafts

    def _first_breach(self, run: ModelRun, row: RestrictedPlacePassage) -> AlertDraft | None:
        """The alert for the first of the device's rules the passage breaks, if any."""
        community = run.master.device_community.get(row.device_id)
        passage = VehiclePassage(
            row.plate, row.vehicle_class, row.direction, row.local_hour, _owner(row, community)
        )
        for rule in run.master.place_rules.get(row.device_id, []):
            broken = rule.broken_by(passage)
            if broken is not None:
                return self._place_rule_draft(run, row, community, rule, broken)
        return None

    def _place_rule_draft(
        self,
        run: ModelRun,
        row: RestrictedPlacePassage,
        community: str | None,
        rule: PlaceRule,
        broken: Broken,
    ) -> AlertDraft:
        place = run.master.device_name.get(row.device_id, row.device_id)
        when = run.local(row.at)
        way_zh, way_en = (
            ("驶入", "entered through") if row.direction == "in" else ("驶出", "left through")
        )
        part_zh, part_en = BROKEN_NAMES[broken]
        hours = f"（许可时段{rule.hours_text}）" if broken is Broken.HOURS else ""
        return AlertDraft(
            rule=self.name,
            kind="restricted_vehicle",
            tier="general",
            subject=row.plate,
            place_id=row.device_id,
            community_id=community,
            place_name=place,
            device_id=row.device_id,
            observed_at=row.at,
            explanation_zh=f"车辆{row.plate_masked}于{when:%m-%d %H:%M}{way_zh}{place}，"
            f"违反限行规则“{rule.name_zh}”：{part_zh}{hours}",
            explanation_en=f"Vehicle {row.plate_masked} {way_en} {place} at "
            f"{when:%m-%d %H:%M}, breaking the place rule '{rule.name_en}': {part_en}"
            + (f" ({rule.hours_text})" if broken is Broken.HOURS else ""),
            events=(EventRef(row.event_id, "vehicle", row.device_id, row.at),),
            figures={
                "vehicle_class": row.vehicle_class,
                "local_hour": row.local_hour,
                "place_rule": rule.key,
                "rule_broken": broken.value,
            },
        )


def _entry_missed(exit: RestrictedVehicleEntry, before: RestrictedVehicleEntry | None) -> bool:
    """Whether a way out had no way in read before it: the vehicle's previous passage at the
    community's gates was not an entry within `TRIP_CONTEXT`, nor the same exit read twice
    (a reader reporting one passage again seconds later)."""
    if before is None:
        return True
    if before.direction == "in":
        return exit.at - before.at > TRIP_CONTEXT
    return exit.at - before.at > DUPLICATE_READ


def _owner(row: RestrictedPlacePassage, community: str | None) -> OwnerType:
    if not row.is_registered:
        return OwnerType.UNREGISTERED
    if community is not None and row.registered_community_id == community:
        return OwnerType.COMMUNITY
    return OwnerType.REGISTERED
