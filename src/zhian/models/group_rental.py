"""Suspected group rental (疑似群租): more regular occupants than a house's floor area
allows, seen at the house's own door (a rental's smart lock, 智能门锁) — a fire risk."""

from __future__ import annotations

from datetime import date, timedelta

from zhian.alerts.drafts import AlertDraft
from zhian.models.base import ModelRun, event_refs, parameter_figures
from zhian.models.settings import ModelSettings
from zhian.store.queries import EvidenceEvent


class GroupRentalModel:
    """Distinct regular occupants of a house (passing its own door on ≥ N of the last M
    days) above what its floor area allows (`group_rental_m2_per_person` each), and at
    least `group_rental_min_occupants` of them → an inspection task (fire risk). Only
    houses with a door of their own are judged: a unit door serves many houses. A declared
    visitor pass counts only after `visitor_grace_days` (a grandparent staying a month);
    a party, one evening, makes no one a regular."""

    name = "model.group_rental"
    scenario = "group_rental"
    title_zh = "疑似群租"
    title_en = "Suspected group rental"
    parameters = (
        "group_rental_m2_per_person",
        "group_rental_min_occupants",
        "group_rental_min_days",
        "group_rental_window_days",
        "visitor_grace_days",
    )

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.group_rental_min_days)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        since = run.now - timedelta(days=run.settings.lookback_days)
        today = run.local(run.now).date()
        regulars: dict[str, list[tuple[str, int, list[EvidenceEvent]]]] = {}
        occupants = run.queries.house_door_occupants(
            run.master.reference, since, run.now, utc_offset_seconds=run.utc_offset_seconds
        )
        for house, who, kind, first, days, items in occupants:
            params = run.params(run.master.house_community.get(house))
            start = today - timedelta(days=params.group_rental_window_days)
            seen: list[date] = [d for d in days if start <= d <= today]
            if len(seen) < params.group_rental_min_days:
                continue
            if kind == "visitor" and (run.now - first).days < params.visitor_grace_days:
                continue
            regulars.setdefault(house, []).append((who, len(seen), items))
        drafts = []
        for house, people in sorted(regulars.items()):
            # By occupant: the query's rows come in no order, the figures must not vary.
            people.sort(key=lambda person: person[0])
            area = run.master.house_area.get(house)
            community = run.master.house_community.get(house)
            params = run.params(community)
            if area is None or len(people) < params.group_rental_min_occupants:
                continue
            per_person = area / len(people)
            if per_person >= params.group_rental_m2_per_person:
                continue
            zh, en = run.master.house_label[house]
            window = params.group_rental_window_days
            limit = params.group_rental_m2_per_person
            events = [i for _, _, items in people for i in items]
            events.sort(key=lambda i: i.time, reverse=True)
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="group_rental",
                    tier="minor",
                    subject=house,
                    place_id=house,
                    community_id=community,
                    place_name=zh,
                    observed_at=run.now,
                    explanation_zh=f"{zh}（{area:g}㎡）近{window}天有{len(people)}人经常出入，"
                    f"人均{per_person:.1f}㎡，低于{limit:g}㎡，疑似群租，存在消防隐患，请上门检查",
                    explanation_en=f"{len(people)} regular occupants passed the door of {en} "
                    f"({area:g} m²) in the last {window} days: {per_person:.1f} m² each, under "
                    f"{limit:g} m²; suspected group rental (fire risk), please inspect",
                    events=event_refs(events[:10], "access"),
                    figures={
                        **parameter_figures(params, self.parameters),
                        "occupants": len(people),
                        "area_m2": area,
                        "m2_per_person": round(per_person, 2),
                        "registered_residents": len(run.master.members.get(house, [])),
                        "occupant_days": ",".join(str(n) for _, n, _ in people),
                    },
                )
            )
        return drafts
