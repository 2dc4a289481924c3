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
from zhian.store.queries import RestrictedPlacePassage


class ZombieVehicleModel:
    """A vehicle not registered to the community entered through its gate and has not
    passed any of its gates for more than N days: a property task (abandoned or stored)."""

    name = "model.zombie_vehicle"
    scenario = "zombie_vehicle"
    identifier = "plate"  # its subjects: store tokens of this kind
    title_zh = "僵尸车"
    title_en = "Zombie vehicle"
    parameters = ("zombie_absent_days",)

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.zombie_absent_days)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        since = run.now - timedelta(days=run.settings.lookback_days)
        drafts = []
        for (
            plate,
            masked,
            community,
            direction,
            entered,
            event_id,
            device,
            passes,
        ) in run.queries.gate_vehicle_stays(run.master.reference, since, run.now):
            params = run.params(community)
            days = (run.now - entered).total_seconds() / 86400
            if direction != "in" or days <= params.zombie_absent_days:
                continue
            name = run.master.community_name.get(community, community)
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="zombie_vehicle",
                    tier="minor",
                    subject=plate,
                    place_id=community,
                    community_id=community,
                    place_name=name,
                    device_id=device,
                    observed_at=run.now,
                    explanation_zh=f"车辆{masked}于{run.local(entered):%m-%d %H:%M}驶入{name}后"
                    f"已{days:.0f}天无通行记录，疑似僵尸车",
                    explanation_en=f"Vehicle {masked} entered {name} on "
                    f"{run.local(entered):%m-%d %H:%M} and has not passed a gate for "
                    f"{days:.0f} days",
                    events=(EventRef(event_id, "vehicle", device, entered),),
                    figures={
                        **parameter_figures(params, self.parameters),
                        "days_since_entry": round(days, 1),
                        "passages": passes,
                    },
                )
            )
        return drafts


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
        entries = run.queries.restricted_vehicle_entries(
            run.master.reference, since, run.now, utc_offset_seconds=run.utc_offset_seconds
        )
        drafts = self._place_rule_drafts(run, since)
        for plate, masked, vclass, community, event_id, device, at, hour in entries:
            params = run.params(community)
            rule = residential_rules(params)[vclass]
            passage = VehiclePassage(plate, vclass, "in", hour)
            broken = rule.broken_by(passage)
            if broken is None:
                continue
            name = run.master.community_name.get(community, community)
            what_zh = "危化品运输车" if vclass == "hazmat" else "渣土车"
            when = run.local(at)
            reason_zh = (
                "禁止驶入居住区"
                if vclass == "hazmat"
                else (f"非许可时段（{rule.hours_text}）驶入居住区")
            )
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="restricted_vehicle",
                    tier="general",
                    subject=plate,
                    place_id=community,
                    community_id=community,
                    place_name=name,
                    device_id=device,
                    observed_at=at,
                    explanation_zh=f"{what_zh}{masked}于{when:%m-%d %H:%M}{reason_zh}：{name}",
                    explanation_en=f"{vclass} {masked} entered the residential community {name} "
                    f"at {when:%m-%d %H:%M}"
                    + ("" if vclass == "hazmat" else f", outside {rule.hours_text}"),
                    events=(EventRef(event_id, "vehicle", device, at),),
                    figures={
                        **parameter_figures(params, self.parameters),
                        "vehicle_class": vclass,
                        "local_hour": hour,
                        # The rule it broke, and which part (docs/models.md, place rules).
                        "place_rule": rule.key,
                        "rule_broken": broken.value,
                    },
                )
            )
        return drafts

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


def _owner(row: RestrictedPlacePassage, community: str | None) -> OwnerType:
    if not row.is_registered:
        return OwnerType.UNREGISTERED
    if community is not None and row.registered_community_id == community:
        return OwnerType.COMMUNITY
    return OwnerType.REGISTERED
