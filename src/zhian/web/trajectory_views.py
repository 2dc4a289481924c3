"""The trajectory page (轨迹): a plate's or a resident's passages as a table and on a map
with playback, and their co-travellers (同行), for a case of the user's jurisdiction
with a reason.

The form posts (the subject and the purpose stay out of URLs); the search, its checks and
its audit entry are `zhian.trajectories.service`'s, the same as the API's. Plates and
residents' keys are shown masked. Needs `trajectories.search` (zhian.web.permissions).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from zhian.errors import BadRequestError, ZhianError
from zhian.trajectories.faces import DEFAULT_THRESHOLD
from zhian.trajectories.service import TrajectoryQuery
from zhian.web.auth import current_user
from zhian.web.i18n import add_texts
from zhian.web.layout import Page, PageDep
from zhian.web.map_views import base_layer
from zhian.web.time_input import parse_local_time
from zhian.web.trajectory_api import revealed_keys, trajectory_service

router = APIRouter(tags=["pages"], dependencies=[Depends(current_user)])

_PAIRS: dict[str, tuple[str, str]] = {
    "nav_trajectories": ("轨迹", "Trajectories"),
    "traj_title": ("轨迹与同行分析", "Trajectories and co-travellers"),
    "traj_note": (
        "须填写本辖区案件编号与检索事由；检索留痕，号牌与人员标识脱敏显示。",
        "Needs a case number of your jurisdiction and a reason; every search is audited "
        "and plates and residents' keys are shown masked.",
    ),
    "traj_kind": ("检索对象", "Subject"),
    "traj_kind_plate": ("车辆（号牌）", "Vehicle (plate)"),
    "traj_kind_resident": ("实有人口（人员编号）", "Resident (registry id)"),
    "traj_kind_face": ("人脸（特征值）", "Face (feature)"),
    "traj_feature": ("人脸特征（base64 float32）", "Face feature (base64 float32)"),
    "traj_min_similarity": ("人脸最低相似度", "Face minimum similarity"),
    "traj_plate": ("号牌", "Plate"),
    "traj_resident": ("人员编号", "Resident id"),
    "traj_source": ("来源", "Source"),
    "traj_key": ("标识", "Key"),
    "traj_source_vehicle": ("过车", "vehicle passage"),
    "traj_source_access": ("门禁", "door access"),
    "traj_source_face": ("人脸抓拍", "face capture"),
    "traj_case": ("案件编号", "Case number"),
    "traj_reason": ("检索事由", "Reason"),
    "traj_since": ("起始时间", "From"),
    "traj_until": ("截止时间", "To"),
    "traj_with_co": ("同时分析同行对象", "Also find co-travellers"),
    "traj_window": ("同行时间窗（秒）", "Window (seconds)"),
    "traj_min_places": ("最少共同点位", "Shared places at least"),
    "traj_search": ("检索", "Search"),
    "traj_time": ("时间", "Time"),
    "traj_device": ("点位", "Device"),
    "traj_gap": ("间隔", "Gap"),
    "traj_speed": ("速度（km/h）", "Speed (km/h)"),
    "traj_flags": ("提示", "Flags"),
    "traj_flag_gap": ("长时间未见", "long unseen"),
    "traj_flag_speed": ("速度异常", "implausible speed"),
    "traj_none": (
        "该时段内辖区点位无此对象的记录",
        "No passage of this subject at your devices then",
    ),
    "traj_play": ("回放", "Play back"),
    "traj_co_title": ("同行对象", "Co-travellers"),
    "traj_co_places": ("共同点位数", "Shared places"),
    "traj_co_none": ("未发现同行对象", "No co-traveller found"),
    "traj_key_clear": ("完整标识", "Key in full"),
    "traj_reveal": (
        "显示同行对象完整号牌或标识（以本案件编号与事由为目的，查看留痕）",
        "Show the co-travellers' plates or keys in full (for this case and reason; audited)",
    ),
    "traj_plate_clear": ("完整号牌", "Plate in full"),
}
add_texts(_PAIRS)

FIELDS = ("subject_kind", "plate", "resident_id", "feature", "case_number", "reason", "since",
          "until", "with_co", "window_seconds", "min_places", "min_similarity",
          "reveal")  # fmt: skip
_SUBJECT_FIELD = {"plate": "plate", "resident": "resident_id", "face": "feature"}
REVEAL_PERMISSION = "personal_data.reveal"


def _moment(page: Page, value: str, field: str) -> datetime:
    return parse_local_time(value, field, page.zone)


def _number(value: str, field: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise BadRequestError(f"'{value[:20]}' is not a number", field=field) from None


def _render(page: Page, form: dict[str, str], status_code: int = 200, **extra: Any) -> HTMLResponse:
    context: dict[str, Any] = {"form": form, "form_error": None, "result": None,
                               "co": None, "clear": {}, "points": [],
                               "may_reveal": page.user.can(REVEAL_PERMISSION),
                               "base": base_layer(page.node.settings.map)}  # fmt: skip
    context.update(extra)
    return page.render("trajectories.html", context, status_code=status_code)


def _defaults(page: Page) -> dict[str, str]:
    now = page.node.clock.now().astimezone(page.zone)
    return {"subject_kind": "plate", "since": f"{now - timedelta(days=7):%Y-%m-%dT%H:%M}",
            "until": f"{now:%Y-%m-%dT%H:%M}", "window_seconds": "60",
            "min_places": "3"}  # fmt: skip


@router.get("/trajectories", response_class=HTMLResponse, include_in_schema=False)
def trajectory_page(page: PageDep) -> HTMLResponse:
    return _render(page, _defaults(page))


@router.post("/trajectories", response_class=HTMLResponse, include_in_schema=False)
async def trajectory_search(page: PageDep) -> HTMLResponse:
    raw = await page.request.form()
    form = {name: str(raw.get(name, "")).strip() for name in FIELDS}
    try:
        kind = form["subject_kind"] or "plate"
        subject = form[_SUBJECT_FIELD.get(kind, "plate")]
        query = TrajectoryQuery(subject, form["case_number"], form["reason"],
                                _moment(page, form["since"], "since"),
                                _moment(page, form["until"], "until"), kind)  # fmt: skip
        similarity = (_number(form["min_similarity"], "min_similarity")
                      if form["min_similarity"] else DEFAULT_THRESHOLD)  # fmt: skip
        service = trajectory_service(page.context)
        result = service.trajectory(query, min_similarity=similarity)
        co = None
        if form["with_co"]:
            co = service.co_travellers(
                query, window_seconds=_number(form["window_seconds"], "window_seconds"),
                min_places=int(_number(form["min_places"], "min_places")),
                min_similarity=similarity,
            )  # fmt: skip
    except ZhianError as error:
        return _render(page, form, error.status_code, form_error=error)
    clear: dict[str, str] = {}
    reveal_error: ZhianError | None = None
    if co is not None and co.found and form["reveal"] and co.subject_kind != "face":
        try:  # refused (no permission, a weak reason): audited, the plates stay masked
            found = [c.subject for c in co.found]
            clear = revealed_keys(page.context, co.subject_kind, form["case_number"],
                                  form["reason"], found)  # fmt: skip
        except ZhianError as error:
            reveal_error = error
    points = [
        {"lat": s.place.latitude, "lon": s.place.longitude, "time": s.passage.time.isoformat(),
         "device": result.device_names.get(s.passage.device_id, s.passage.device_id)}
        for s in result.steps if s.place is not None
    ]  # fmt: skip
    return _render(page, form, reveal_error.status_code if reveal_error else 200,
                   form_error=reveal_error, result=result, co=co, clear=clear,
                   points=points)  # fmt: skip
