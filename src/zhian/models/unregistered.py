"""Suspected unregistered resident (疑似未登记居住): a registration task, not a suspicion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from zhian.alerts.drafts import AlertDraft
from zhian.models.base import ModelRun, event_refs, parameter_figures
from zhian.models.faces import (
    FACES_KEY,
    LINK_SECONDS,
    MAX_CAPTURES,
    EnrolledFaces,
    capture_reader,
    subject_face,
)
from zhian.models.settings import ModelSettings
from zhian.store.queries import EvidenceEvent, SealedCapture


@dataclass(frozen=True)
class _Resident:
    """A subject present on enough nights, before the face candidates are looked up."""

    who: str
    unit: str | None
    community: str
    recent: list[date]
    params: ModelSettings
    items: list[EvidenceEvent]


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
        presences = run.queries.night_presences(
            run.master.reference, since, run.now, utc_offset_seconds=run.utc_offset_seconds
        )
        for who, kind, first, nights, unit, community, items in presences:
            params = run.params(community)
            window_start = today - timedelta(days=params.unregistered_window_days)
            recent: list[date] = [n for n in nights if window_start <= n < today]
            if len(recent) < params.unregistered_min_nights:
                continue
            known_days = (run.now - first).days
            if kind == "visitor" and known_days < params.visitor_grace_days:
                continue
            found.append(_Resident(who, unit, community, recent, params, items))
        return found

    def _draft(
        self,
        run: ModelRun,
        resident: _Resident,
        faces: EnrolledFaces | None,
        captures: dict[str, list[SealedCapture]] | None,
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
) -> dict[str, list[SealedCapture]]:
    """who -> the face captures linked to its passages, newest first; features come out
    sealed and the model opens only these, through the run's audited reader."""
    since: datetime = run.now - timedelta(days=run.settings.lookback_days)
    return run.queries.door_face_captures(
        run.master.reference,
        faces.door_cameras,
        [r.who for r in present],
        since,
        run.now,
        link_seconds=LINK_SECONDS,
        max_captures=MAX_CAPTURES,
    )
