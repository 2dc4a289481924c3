"""Suspected unregistered resident (疑似未登记居住): a registration task, not a suspicion."""

from __future__ import annotations

from datetime import date, timedelta

from zhian.alerts.drafts import AlertDraft
from zhian.config import ModelSettings
from zhian.models.base import LOCAL, ModelRun, event_refs, parameter_figures, utc

# A subject is present on a night when its last passage between 17:00 and 03:00 local is
# coming in: it came home and did not leave again. Nights are named by their evening.
NIGHTS_SQL = f"""
WITH p AS (
  SELECT a.subject_kind || ':' || a.subject_ref AS who, a.subject_kind AS kind, a.direction,
         a.time, a.event_id, a.device_id, d.community_id, d.unit_id,
         {LOCAL.format(col="a.time")} AS lt
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $now
    AND NOT EXISTS (SELECT 1 FROM m_keys k WHERE k.key = a.subject_kind || ':' || a.subject_ref)
),
nights AS (
  SELECT who, CAST(lt - INTERVAL 12 HOUR AS DATE) AS night, arg_max(direction, time) AS last_dir
  FROM p WHERE hour(lt) >= 17 OR hour(lt) < 3 GROUP BY ALL
),
present AS (
  SELECT who, list(night ORDER BY night) AS nights FROM nights WHERE last_dir = 'in' GROUP BY who
)
SELECT p.who, any_value(p.kind), timezone('UTC', min(p.time)), present.nights,
       mode(p.unit_id) FILTER (WHERE p.unit_id IS NOT NULL), mode(p.community_id),
       list(struct_pack(id := p.event_id, dev := p.device_id, t := timezone('UTC', p.time))
            ORDER BY p.time DESC)[1:8]
FROM p JOIN present USING (who)
GROUP BY p.who, present.nights
"""


class UnregisteredResidentModel:
    """Someone not in the registry who comes home through residential doors on ≥ N of the
    last M nights: the people who live there owe a residence registration, so this raises a
    registration task for the community officer. It says nothing about the person beyond
    that duty; a declared visitor pass (relatives staying a while) counts only after
    `visitor_grace_days`. Registered residents, night-shift workers included, never appear."""

    name = "model.unregistered_resident"
    scenario = "unregistered_resident"
    title_zh = "疑似未登记居住"
    title_en = "Suspected unregistered resident"
    parameters = ("unregistered_min_nights", "unregistered_window_days", "visitor_grace_days")

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.unregistered_min_nights)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        since = run.now - timedelta(days=run.settings.lookback_days)
        today = run.local(run.now).date()
        drafts = []
        for who, kind, first, nights, unit, community, items in run.query(NIGHTS_SQL, since=since):
            params = run.params(community)
            window_start = today - timedelta(days=params.unregistered_window_days)
            recent: list[date] = [n for n in nights if window_start <= n < today]
            if len(recent) < params.unregistered_min_nights:
                continue
            known_days = (run.now - utc(first)).days
            if kind == "visitor" and known_days < params.visitor_grace_days:
                continue
            zh, en = run.master.unit_label.get(unit or "", (community, community))
            window = params.unregistered_window_days
            drafts.append(
                AlertDraft(
                    rule=self.name,
                    kind="unregistered_resident",
                    tier="minor",
                    subject=who,
                    place_id=unit or community,
                    community_id=community,
                    place_name=zh,
                    observed_at=run.now,
                    explanation_zh=f"近{window}天中{len(recent)}天夜间出现于{zh}，未登记，请办理居住登记",
                    explanation_en=f"Present overnight at {en} on {len(recent)} of the last "
                    f"{window} nights and not registered: a residence registration is due",
                    events=event_refs(items, "access"),
                    figures={
                        **parameter_figures(params, self.parameters),
                        "nights": len(recent),
                        "nights_list": ",".join(f"{n:%m-%d}" for n in recent),
                    },
                )
            )
        return drafts
