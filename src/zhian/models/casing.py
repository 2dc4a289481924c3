"""Theft casing (疑似踩点): a non-resident trying many unit doors, or many communities."""

from __future__ import annotations

from datetime import timedelta

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.models.base import ModelRun, event_refs, parameter_figures
from zhian.models.settings import ModelSettings
from zhian.store.queries import UnitDoorPassage


class CasingModel:
    """A non-resident entering ≥ K distinct unit doors within T minutes, or entering ≥ C
    residential communities in one local day. Registered couriers and declared visitors
    (named `visitor` passes) are exempt: they are identified and expected to do this."""

    name = "model.casing"
    scenario = "casing"
    identifier = "subject"  # its subjects: store tokens of this kind
    title_zh = "疑似踩点"
    title_en = "Suspected theft casing"
    parameters = ("casing_min_units", "casing_window_minutes", "casing_min_communities")

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(0)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        since = run.now - timedelta(days=1)
        floor = _lowest(run, "casing_min_units")
        rows = run.queries.unit_door_passages(run.master.reference, since, run.now, min_units=floor)
        drafts: list[AlertDraft] = []
        by_subject: dict[str, list[UnitDoorPassage]] = {}
        for row in rows:
            by_subject.setdefault(row.subject, []).append(row)
        for who, passes in by_subject.items():
            draft = self._units(run, who, passes)
            if draft is not None:
                drafts.append(draft)
        floor_c = _lowest(run, "casing_min_communities")
        for who, day, communities, count, items in run.queries.community_day_entries(
            run.master.reference,
            since,
            run.now,
            utc_offset_seconds=run.utc_offset_seconds,
            min_communities=floor_c,
        ):
            params = run.params(communities[0])
            if count < params.casing_min_communities:
                continue
            names = "、".join(run.master.community_name.get(c, c) for c in communities)
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="casing",
                    tier="general",
                    subject=who,
                    place_id=communities[0],
                    community_id=communities[0],
                    place_name=names,
                    observed_at=items[-1].time,
                    explanation_zh=f"非本区人员{day:%m-%d}一天内进入{count}个小区（{names}），疑似踩点",
                    explanation_en=f"A non-resident entered {count} residential communities "
                    f"on {day:%m-%d} ({', '.join(communities)})",
                    events=event_refs(items, "access"),
                    figures={**parameter_figures(params, self.parameters), "communities": count},
                )
            )
        return drafts

    def _units(self, run: ModelRun, who: str, passes: list[UnitDoorPassage]) -> AlertDraft | None:
        community = passes[0].community_id
        params = run.params(community)
        window = timedelta(minutes=params.casing_window_minutes)
        best: list[UnitDoorPassage] = []
        lo = 0
        for hi in range(len(passes)):
            while passes[hi].at - passes[lo].at > window:
                lo += 1
            chunk = passes[lo : hi + 1]
            if len({p.unit_id for p in chunk}) > len({p.unit_id for p in best}):
                best = chunk
        units = sorted({p.unit_id for p in best})
        if len(units) < params.casing_min_units:
            return None
        minutes = (best[-1].at - best[0].at).total_seconds() / 60
        name = run.master.community_name.get(community, community)
        return AlertDraft(
            rule=self.name,
            kind="casing",
            tier="general",
            subject=who,
            place_id=community,
            community_id=community,
            place_name=name,
            observed_at=best[-1].at,
            explanation_zh=f"非本楼人员{minutes:.0f}分钟内进入{name}的{len(units)}个单元门，疑似踩点",
            explanation_en=f"A non-resident entered {len(units)} unit doors of {name} within "
            f"{minutes:.0f} minutes",
            events=tuple(EventRef(p.event_id, "access", p.device_id, p.at) for p in best[:10]),
            figures={
                **parameter_figures(params, self.parameters),
                "units": len(units),
                "minutes": round(minutes, 1),
            },
        )


def _lowest(run: ModelRun, name: str) -> int:
    """The lowest value of a threshold over every community, for the SQL prefilter."""
    values = [int(getattr(run.settings, name))]
    values += [int(o[name]) for o in run.overrides.values() if name in o]
    return min(values)
