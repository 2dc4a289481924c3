"""Theft casing (疑似踩点): a non-resident trying many unit doors, or many communities."""

from __future__ import annotations

from datetime import timedelta

from zhian.alerts.drafts import AlertDraft, EventRef
from zhian.config import ModelSettings
from zhian.models.base import LOCAL, ModelRun, parameter_figures, utc

# Unknown subjects only: not a registered resident or card, not a registered visitor pass
# (couriers and declared visitors hold `visitor` passes issued to a named person).
UNITS_SQL = """
SELECT a.subject_kind || ':' || a.subject_ref, d.community_id, d.unit_id, a.event_id,
       a.device_id, timezone('UTC', a.time)
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id
WHERE a.result = 'granted' AND a.direction = 'in' AND d.unit_id IS NOT NULL
  AND a.subject_kind <> 'visitor' AND a.time >= $since AND a.time < $now
  AND NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)
  AND (a.subject_kind || ':' || a.subject_ref) IN (
    SELECT b.subject_kind || ':' || b.subject_ref FROM access_events b
    JOIN m_devices u ON u.device_id = b.device_id AND u.unit_id IS NOT NULL
    WHERE b.time >= $since AND b.time < $now AND b.direction = 'in'
    GROUP BY ALL HAVING count(DISTINCT u.unit_id) >= $min_units)
ORDER BY 1, a.time
"""

COMMUNITIES_SQL = f"""
SELECT a.subject_kind || ':' || a.subject_ref AS who,
       CAST({LOCAL.format(col="a.time")} AS DATE) AS day,
       list(DISTINCT d.community_id), count(DISTINCT d.community_id),
       list(struct_pack(id := a.event_id, dev := a.device_id, t := timezone('UTC', a.time))
            ORDER BY a.time)[1:8]
FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
WHERE a.result = 'granted' AND a.direction = 'in' AND a.subject_kind <> 'visitor'
  AND a.time >= $since AND a.time < $now
  AND NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)
GROUP BY ALL HAVING count(DISTINCT d.community_id) >= $min_communities
"""


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
        rows = run.query(UNITS_SQL, since=since, min_units=floor)
        drafts: list[AlertDraft] = []
        by_subject: dict[str, list[tuple[str, str, str, str, str, object]]] = {}
        for row in rows:
            by_subject.setdefault(row[0], []).append(row)
        for who, passes in by_subject.items():
            draft = self._units(run, who, passes)
            if draft is not None:
                drafts.append(draft)
        floor_c = _lowest(run, "casing_min_communities")
        for who, day, communities, count, items in run.query(
            COMMUNITIES_SQL, since=since, min_communities=floor_c
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
                    observed_at=utc(items[-1]["t"]),
                    explanation_zh=f"非本区人员{day:%m-%d}一天内进入{count}个小区（{names}），疑似踩点",
                    explanation_en=f"A non-resident entered {count} residential communities "
                    f"on {day:%m-%d} ({', '.join(communities)})",
                    events=tuple(EventRef(i["id"], "access", i["dev"], utc(i["t"])) for i in items),
                    figures={**parameter_figures(params, self.parameters), "communities": count},
                )
            )
        return drafts

    def _units(self, run: ModelRun, who: str, passes: list[tuple]) -> AlertDraft | None:  # type: ignore[type-arg]
        community = passes[0][1]
        params = run.params(community)
        window = timedelta(minutes=params.casing_window_minutes)
        best: list[tuple] = []  # type: ignore[type-arg]
        lo = 0
        for hi in range(len(passes)):
            while utc(passes[hi][5]) - utc(passes[lo][5]) > window:
                lo += 1
            chunk = passes[lo : hi + 1]
            if len({p[2] for p in chunk}) > len({p[2] for p in best}):
                best = chunk
        units = sorted({p[2] for p in best})
        if len(units) < params.casing_min_units:
            return None
        minutes = (utc(best[-1][5]) - utc(best[0][5])).total_seconds() / 60
        name = run.master.community_name.get(community, community)
        return AlertDraft(
            rule=self.name,
            kind="casing",
            tier="general",
            subject=who,
            place_id=community,
            community_id=community,
            place_name=name,
            observed_at=utc(best[-1][5]),
            explanation_zh=f"非本楼人员{minutes:.0f}分钟内进入{name}的{len(units)}个单元门，疑似踩点",
            explanation_en=f"A non-resident entered {len(units)} unit doors of {name} within "
            f"{minutes:.0f} minutes",
            events=tuple(EventRef(p[3], "access", p[4], utc(p[5])) for p in best[:10]),
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
