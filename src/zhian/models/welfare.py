"""Welfare check (关爱): opted-in residents last seen coming home and not seen since."""

from __future__ import annotations

from datetime import timedelta

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.models.base import ModelRun, parameter_figures
from zhian.models.settings import ModelSettings
from zhian.models.sightings import last_sightings


class WelfareCheckModel:
    """For residents who themselves or whose guardian asked for it (table `welfare_optins`)
    and nobody else: their newest passage was coming *in* and nothing at all has been seen
    of them for N hours → a visit task for the grid worker. A resident whose last passage was
    going out is away, not at home unseen, and raises nothing."""

    name = "model.welfare_check"
    scenario = "welfare_check"
    title_zh = "关爱探访"
    title_en = "Welfare check"
    parameters = ("welfare_silent_hours",)

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(hours=settings.welfare_silent_hours)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        if not run.master.optins:
            return []
        seen = last_sightings(run)
        drafts: list[AlertDraft] = []
        for resident, requested_by in sorted(run.master.optins.items()):
            s = seen.get(resident)
            if s is None or s.direction != "in":
                continue
            house = run.master.resident_house.get(resident, "")
            community = run.master.house_community.get(house)
            params = run.params(community)
            hours = (run.now - s.at).total_seconds() / 3600
            if hours < params.welfare_silent_hours:
                continue
            label_zh, label_en = run.master.house_label.get(house, (house, house))
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="welfare_check",
                    tier="minor",
                    subject=resident,
                    place_id=house,
                    community_id=community,
                    place_name=label_zh,
                    observed_at=run.now,
                    explanation_zh=f"已登记关爱的{label_zh}居民回家后已{hours:.0f}小时未见出入，请网格员上门探访",
                    explanation_en=f"The resident of {label_en} enrolled for welfare checks "
                    f"came home {hours:.0f} hours ago and has not been seen since: please visit",
                    events=(EventRef(s.event_id, s.event_type, s.device_id, s.at),),
                    figures={
                        **parameter_figures(params, self.parameters),
                        "silent_hours": round(hours, 1),
                        "requested_by": requested_by,
                    },
                )
            )
        return drafts
