"""Vehicles: zombie vehicles (僵尸车) and restricted vehicles in residential communities."""

from __future__ import annotations

from datetime import timedelta

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.models.base import ModelRun, parameter_figures
from zhian.models.place_rules import VehiclePassage, residential_rules
from zhian.models.settings import ModelSettings


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
    """Hazmat vehicles entering a residential community at any hour, and muck trucks
    entering outside their permitted night hours (default 22:00–05:00 local)."""

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
        drafts = []
        entries = run.queries.restricted_vehicle_entries(
            run.master.reference, since, run.now, utc_offset_seconds=run.utc_offset_seconds
        )
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
