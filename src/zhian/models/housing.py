"""Registry freshness from absence: suspected moved out (疑似已搬离) and vacant house (疑似空置)."""

from __future__ import annotations

from datetime import timedelta

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.models.base import ModelRun, parameter_figures
from zhian.models.settings import ModelSettings
from zhian.models.sightings import last_sightings
from zhian.models.utilities import (
    READINGS_KEY,
    UTILITY_PARAMETERS,
    DailyReading,
    UsageSummary,
    summarise_usage,
)
from zhian.store.queries import ResidentSighting

# From this age a resident is expected to pass a reader (the youngest go out with an adult
# and read no card): a registered adult never seen at all counts as absent.
ADULT_AGE = 18


def _usage_sentence(usage: UsageSummary | None) -> tuple[str, str]:
    """The readings' part of the vacant-house sentence, zh and en; empty without readings."""
    if usage is None:
        return "", ""
    zh: list[str] = []
    en: list[str] = []
    if usage.water_m3_per_day is not None:
        zh.append(f"日均用水{usage.water_m3_per_day:.2f}m³")
        en.append(f"{usage.water_m3_per_day:.2f} m³ water")
    if usage.electricity_kwh_per_day is not None:
        zh.append(f"日均用电{usage.electricity_kwh_per_day:.1f}kWh")
        en.append(f"{usage.electricity_kwh_per_day:.1f} kWh electricity")
    return (
        f"，期间{usage.days}天水电读数{'、'.join(zh)}，仅{usage.consuming_days}天超过基线",
        f"; over {usage.days} days of utility readings it used {' and '.join(en)} a day, "
        f"above the baseline on {usage.consuming_days} of them",
    )


def _ref(seen: ResidentSighting) -> EventRef:
    return EventRef(id=seen.event_id, type=seen.event_type, device_id=seen.device_id, time=seen.at)


class MovedOutModel:
    """A registered resident with no passage of any kind (door, camera, own car) for N
    consecutive days, after having been seen: the registry may be stale. When a whole
    household is gone, one task for the house. An adult never seen at all while the rest of
    the household has been seen for N days or more is as absent (moved out before the
    store's records begin, or the readers missed the way out); children never seen (the
    youngest read no card) and households never seen at all raise nothing."""

    name = "model.moved_out"
    scenario = "moved_out"
    title_zh = "疑似已搬离"
    title_en = "Suspected moved out"
    parameters = ("moved_out_absent_days", "lookback_days")

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.moved_out_absent_days)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        seen = last_sightings(run)
        drafts: list[AlertDraft] = []
        for house, members in run.master.members.items():
            community = run.master.house_community.get(house)
            params = run.params(community)
            limit = timedelta(days=params.moved_out_absent_days)
            known = [seen[m] for m in members if m in seen]
            if not known:
                continue
            absent = [s for s in known if run.now - s.at >= limit]
            label_zh, label_en = run.master.house_label[house]
            figures = parameter_figures(params, self.parameters)
            if len(absent) == len(known):
                last = max(known, key=lambda s: s.at)
                days = (run.now - last.at).days
                drafts.append(
                    AlertDraft(
                        rule=self.name,
                        kind="moved_out",
                        tier="minor",
                        subject=house,
                        place_id=house,
                        community_id=community,
                        place_name=label_zh,
                        observed_at=run.now,
                        explanation_zh=f"{label_zh}全户{len(members)}人已连续{days}天无任何通行记录，"
                        f"最后出现于{run.local(last.at):%m-%d %H:%M}，请核实并更新实有人口登记",
                        explanation_en=f"No passage by any of the {len(members)} registered "
                        f"residents of {label_en} for {days} days (last seen "
                        f"{run.local(last.at):%m-%d %H:%M}): please check and update the registry",
                        events=(_ref(last),),
                        figures={**figures, "absent_days": days, "household": len(members)},
                    )
                )
                continue
            # Only while the rest of the household is still about: a household that left
            # together is reported once, as a household, when the last of them passes N.
            recent = run.now - max(s.at for s in known) < limit / 2
            if recent:
                drafts += self._never_seen(run, house, members, known, limit)
            for s in absent if recent else ():
                days = (run.now - s.at).days
                drafts.append(
                    AlertDraft(
                        rule=self.name,
                        kind="moved_out",
                        tier="minor",
                        subject=s.resident_id,
                        place_id=house,
                        community_id=community,
                        place_name=label_zh,
                        observed_at=run.now,
                        explanation_zh=f"{label_zh}登记居民{s.resident_id}已连续{days}天无通行记录"
                        f"（同户其他人仍在），最后出现于{run.local(s.at):%m-%d %H:%M}，请核实登记",
                        explanation_en=f"Registered resident {s.resident_id} of {label_en} has "
                        f"not passed for {days} days while the household still has; last seen "
                        f"{run.local(s.at):%m-%d %H:%M}: please check the registry",
                        events=(_ref(s),),
                        figures={**figures, "absent_days": days},
                    )
                )
        return drafts

    def _never_seen(
        self,
        run: ModelRun,
        house: str,
        members: list[str],
        known: list[ResidentSighting],
        limit: timedelta,
    ) -> list[AlertDraft]:
        """Adults of a household still about who have not been seen once since the store
        first saw the household, N days ago or more: as absent as one last seen then (a
        resident who moved out before the records begin, or whose way out the readers
        missed). Children are left out: the youngest read no card."""
        watched_since = min(s.first_at or s.at for s in known)
        days = (run.now - watched_since).days
        if run.now - watched_since < limit:
            return []
        seen = {s.resident_id for s in known}
        year = run.local(run.now).year
        community = run.master.house_community.get(house)
        label_zh, label_en = run.master.house_label[house]
        figures = parameter_figures(run.params(community), self.parameters)
        # The evidence: the newest sighting of the household, which is still about.
        latest = max(known, key=lambda s: s.at)
        since = run.local(watched_since)
        drafts = []
        for resident in members:
            born = run.master.birth_year.get(resident)
            if resident in seen or born is None or year - born < ADULT_AGE:
                continue
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="moved_out",
                    tier="minor",
                    subject=resident,
                    place_id=house,
                    community_id=community,
                    place_name=label_zh,
                    observed_at=run.now,
                    explanation_zh=f"{label_zh}登记居民{resident}自{since:%m-%d}起{days}天从未出现"
                    f"（同户其他人仍在），请核实登记",
                    explanation_en=f"Registered resident {resident} of {label_en} has not been "
                    f"seen once in the {days} days since the household was first seen "
                    f"({since:%m-%d}), while the household has: please check the registry",
                    events=(_ref(latest),),
                    figures={**figures, "absent_days": days, "household_seen_days": days},
                )
            )
        return drafts


class VacantHouseModel:
    """Every registered resident of a house absent for N days (measured from the last
    sighting of any of them): the house seems empty, a check for the property and officer.
    Where the optional utility feed has readings for the absent days, they decide: real
    consumption on most days means someone lives there (perhaps unregistered: the
    unregistered-resident model's matter) and raises nothing; near-zero consumption is added
    to the evidence."""

    name = "model.vacant_house"
    scenario = "vacant_house"
    title_zh = "疑似空置"
    title_en = "Suspected vacant house"
    parameters = ("vacant_absent_days", "lookback_days")

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.vacant_absent_days)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        seen = last_sightings(run)
        # The optional feed, loaded by `prepare_run`; absent, the model reads passages only.
        readings: dict[str, list[DailyReading]] = run.shared.get(READINGS_KEY, {})
        drafts: list[AlertDraft] = []
        for house, members in run.master.members.items():
            known = [seen[m] for m in members if m in seen]
            if not known:
                continue
            community = run.master.house_community.get(house)
            params = run.params(community)
            last = max(known, key=lambda s: s.at)
            days = (run.now - last.at).days
            if run.now - last.at < timedelta(days=params.vacant_absent_days):
                continue
            usage = summarise_usage(
                readings.get(house, ()),
                after=run.local(last.at).date(),
                before=run.local(run.now).date(),
                params=params,
            )
            if usage is not None and usage.is_occupied:
                continue
            label_zh, label_en = run.master.house_label[house]
            used_zh, used_en = _usage_sentence(usage)
            names = self.parameters + (UTILITY_PARAMETERS if usage is not None else ())
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="vacant_house",
                    tier="minor",
                    subject=house,
                    place_id=house,
                    community_id=community,
                    place_name=label_zh,
                    observed_at=run.now,
                    explanation_zh=f"{label_zh}登记的{len(members)}名居民近{days}天均无通行记录"
                    f"{used_zh}，疑似空置",
                    explanation_en=f"None of the {len(members)} registered residents of "
                    f"{label_en} has passed for {days} days{used_en}: the house seems vacant",
                    events=(_ref(last),),
                    figures={
                        **parameter_figures(params, names),
                        "absent_days": days,
                        "registered_residents": len(members),
                        **(usage.figures() if usage is not None else {}),
                    },
                )
            )
        return drafts
