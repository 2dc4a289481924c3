"""Suspected unregistered resident (疑似未登记居住): a registration task, not a suspicion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from zhian.alerts.drafts import AlertDraft
from zhian.config import ModelSettings
from zhian.models.base import LOCAL, ModelRun, event_refs, parameter_figures, utc
from zhian.models.faces import (
    FACES_KEY,
    LINK_SECONDS,
    MAX_CAPTURES,
    EnrolledFaces,
    capture_reader,
    subject_face,
)

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

# Face captures with a feature at a camera watching a residential door (m_door_cameras),
# within LINK_SECONDS of one of the subject's passages there: the captures of the person
# passing, linked by place and time alone (no reference of the capture is read). Features
# come out sealed; the model opens only these, through the run's audited reader.
CAPTURES_SQL = f"""
WITH p AS (
  SELECT a.subject_kind || ':' || a.subject_ref AS who, a.device_id, a.time
  FROM access_events a JOIN m_devices d ON d.device_id = a.device_id AND d.is_residential
  WHERE a.result = 'granted' AND a.time >= $since AND a.time < $now
    AND list_contains($whos, a.subject_kind || ':' || a.subject_ref)
),
linked AS (
  SELECT DISTINCT p.who, f.event_id, f.device_id, f.time, f.feature
  FROM p JOIN m_door_cameras c ON c.door_id = p.device_id
  JOIN face_events f ON f.device_id = c.camera_id
   AND f.time BETWEEN p.time - INTERVAL {LINK_SECONDS} SECOND
                  AND p.time + INTERVAL {LINK_SECONDS} SECOND
  WHERE f.feature IS NOT NULL
    AND f.time >= $since - INTERVAL {LINK_SECONDS} SECOND AND f.time < $now
)
SELECT who, list(struct_pack(id := event_id, dev := device_id, t := timezone('UTC', time),
                             feature := feature) ORDER BY time DESC)[1:{MAX_CAPTURES}]
FROM linked GROUP BY who
"""


@dataclass(frozen=True)
class _Resident:
    """A subject present on enough nights, before the face candidates are looked up."""

    who: str
    unit: str | None
    community: str
    recent: list[date]
    params: ModelSettings
    items: list[dict[str, Any]]


class UnregisteredResidentModel:
    """Someone not in the registry who comes home through residential doors on ≥ N of the
    last M nights: the people who live there owe a residence registration, so this raises a
    registration task for the community officer. It says nothing about the person beyond
    that duty; a declared visitor pass (relatives staying a while) counts only after
    `visitor_grace_days`. Registered residents, night-shift workers included, never appear.

    Where residents' enrolled face features are at hand (`FACES_KEY`), the face captured as
    the subject passes is compared with them: the (up to) three most similar residents, at
    least `unregistered_face_similarity_floor` alike, are offered as candidates: someone
    registered at another address (人户分离) needs their registration moved, not a new one."""

    name = "model.unregistered_resident"
    scenario = "unregistered_resident"
    identifier = "subject"  # its subjects: store tokens of this kind
    title_zh = "疑似未登记居住"
    title_en = "Suspected unregistered resident"
    parameters = ("unregistered_min_nights", "unregistered_window_days", "visitor_grace_days")
    face_parameters = ("unregistered_face_similarity_floor",)

    def min_delay(self, settings: ModelSettings) -> timedelta:
        return timedelta(days=settings.unregistered_min_nights)

    def run(self, run: ModelRun) -> list[AlertDraft]:
        present = self._present(run)
        faces: EnrolledFaces | None = run.shared.get(FACES_KEY)
        captures = _captures(run, faces, present) if faces is not None and faces.count else None
        return [self._draft(run, r, faces, captures) for r in present]

    def _present(self, run: ModelRun) -> list[_Resident]:
        since = run.now - timedelta(days=run.settings.lookback_days)
        today = run.local(run.now).date()
        found = []
        for who, kind, first, nights, unit, community, items in run.query(NIGHTS_SQL, since=since):
            params = run.params(community)
            window_start = today - timedelta(days=params.unregistered_window_days)
            recent: list[date] = [n for n in nights if window_start <= n < today]
            if len(recent) < params.unregistered_min_nights:
                continue
            known_days = (run.now - utc(first)).days
            if kind == "visitor" and known_days < params.visitor_grace_days:
                continue
            found.append(_Resident(who, unit, community, recent, params, items))
        return found

    def _draft(
        self,
        run: ModelRun,
        resident: _Resident,
        faces: EnrolledFaces | None,
        captures: dict[str, list[dict[str, Any]]] | None,
    ) -> AlertDraft:
        params, recent = resident.params, resident.recent
        zh, en = run.master.unit_label.get(
            resident.unit or "", (resident.community, resident.community)
        )
        window = params.unregistered_window_days
        explanation_zh = f"近{window}天中{len(recent)}天夜间出现于{zh}，未登记，请办理居住登记"
        explanation_en = (
            f"Present overnight at {en} on {len(recent)} of the last {window} nights and not "
            "registered: a residence registration is due"
        )
        figures: dict[str, float | int | str] = {
            **parameter_figures(params, self.parameters),
            "nights": len(recent),
            "nights_list": ",".join(f"{n:%m-%d}" for n in recent),
        }
        events = event_refs(resident.items, "access")
        if faces is not None and captures is not None:
            linked = captures.get(resident.who, [])
            face, agreeing = subject_face(capture_reader(run).open(linked))
            floor = params.unregistered_face_similarity_floor
            found = faces.candidates(face, floor) if face is not None else []
            figures.update(parameter_figures(params, self.face_parameters))
            figures["face_captures"] = agreeing
            for rank, (resident_id, similarity) in enumerate(found, start=1):
                figures[f"candidate_{rank}"] = resident_id
                figures[f"candidate_{rank}_similarity"] = similarity
            events += event_refs(linked[:3], "face")
            if found:
                best = found[0][1]
                explanation_zh += (
                    f"；人脸与{len(found)}名登记人员相似（最高{best:.2f}），"
                    "或为人户分离，请核实后办理迁移"
                )
                explanation_en += (
                    f"; the face resembles {len(found)} registered resident(s) (best "
                    f"similarity {best:.2f}): perhaps registered at another address, to be "
                    "checked and moved"
                )
        return AlertDraft(
            rule=self.name,
            kind="unregistered_resident",
            tier="minor",
            subject=resident.who,
            place_id=resident.unit or resident.community,
            community_id=resident.community,
            place_name=zh,
            observed_at=run.now,
            explanation_zh=explanation_zh,
            explanation_en=explanation_en,
            events=events,
            figures=figures,
        )


def _captures(
    run: ModelRun, faces: EnrolledFaces, present: list[_Resident]
) -> dict[str, list[dict[str, Any]]]:
    """who -> the face captures linked to its passages, newest first."""
    if not present:
        return {}
    since: datetime = run.now - timedelta(days=run.settings.lookback_days)
    given = run.sql_parameters(since=since, whos=[r.who for r in present])
    # DuckDB refuses named parameters a statement does not use.
    parameters = {k: v for k, v in given.items() if f"${k}" in CAPTURES_SQL}
    tables = {**run.master.tables, "m_door_cameras": faces.door_cameras}
    rows = run.store.query(CAPTURES_SQL, parameters, tables=tables)
    return {who: items for who, items in rows}
