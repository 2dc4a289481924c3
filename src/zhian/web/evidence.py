"""Alert evidence as people read it: each figure's name and value in the page language,
model parameters by their Chinese names, times in the display zone, links for residents."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from zhian.models.place_rules import BROKEN_NAMES, RESIDENTIAL_RULE_NAMES
from zhian.models.settings import ModelSettings
from zhian.rules.alarms import ALARM_NAMES
from zhian.rules.counting_lines import LINE_EVIDENCE_NAMES
from zhian.rules.crowd import LEVELS as CROWD_LEVELS
from zhian.rules.device_text import alarm_detail_zh, fault_name

# Model parameters (`zhian.models.parameters.TUNABLE`): name -> (Chinese name, Chinese
# description). The English description is the setting's own (`ModelSettings`).
PARAMETER_TEXT: dict[str, tuple[str, str]] = {
    "unregistered_min_nights": ("未登记居住最少夜数", "时间窗内出现多少夜后生成登记任务"),
    "unregistered_window_days": ("未登记居住时间窗(天)", "未登记居住模型统计的天数"),
    "visitor_grace_days": ("访客宽限天数", "已申报的访客通行证在此天数后才视为居住（探亲访友）"),
    "unregistered_face_similarity_floor": (
        "人脸比对相似度下限",
        "未登记居住人员抓拍人脸与在册居民人脸的最低余弦相似度，达到才列为前三名候选（人户分离）",
    ),
    "moved_out_absent_days": ("疑似搬离未通行天数", "居民连续多少天无通行记录后视为疑似搬离"),
    "vacant_absent_days": ("疑似空置未通行天数", "房屋所有在册居民连续缺席的天数"),
    "utility_water_baseline_m3": (
        "日用水基线(立方米)",
        "日用水量超过此值才计为有用水，单位立方米",
    ),
    "utility_electricity_baseline_kwh": (
        "日用电基线(千瓦时)",
        "日用电量超过此值才计为有用电，单位千瓦时（冰箱待机低于此值）",
    ),
    "utility_occupied_share": ("有人居住用能占比", "缺席天数中有用能的比例超过此值即视为有人居住"),
    "group_rental_m2_per_person": ("人均最小面积(平方米)", "每名常住人员最少应有的建筑面积"),
    "group_rental_min_occupants": ("群租最少常住人数", "房屋常住人数达到此值才可能判定为群租"),
    "group_rental_min_days": ("常住判定天数", "时间窗内经过本户门禁达到此天数即视为常住"),
    "group_rental_window_days": ("群租时间窗(天)", "群租模型统计的天数"),
    "zombie_absent_days": ("僵尸车静止天数", "车辆入场后无通行记录的天数"),
    "zombie_commercial_absent_days": (
        "货车/厢式车静止天数",
        "厢式车、货车（送货、施工车辆）入场后无通行记录的天数；此类车辆频繁进出，"
        "出场漏识读远比弃置常见",
    ),
    "muck_allowed_from_hour": ("渣土车准入开始时刻", "渣土车允许进入的起始本地时刻（时）"),
    "muck_allowed_until_hour": ("渣土车准入结束时刻", "渣土车允许进入的截止本地时刻（时）"),
    "casing_min_units": ("踩点最少单元数", "非本单元人员在时间窗内进入的不同单元门数量"),
    "casing_window_minutes": ("踩点时间窗(分钟)", "单元门踩点规则的时间窗"),
    "casing_min_communities": ("踩点最少社区数", "陌生人脸在一个自然日内进入的社区数量"),
    "welfare_silent_hours": ("关爱对象未出现时长(小时)", "已登记关爱的居民回家后多长时间未再出现"),
}

# Evidence figures of rules and models: key -> (Chinese, English).
FIGURE_NAMES: dict[str, tuple[str, str]] = {
    "tip_id": ("随手拍原文", "Resident's tip"),
    "level": ("级别", "Level"),
    "alarm_kind": ("报警类型", "Alarm kind"),
    "silent_minutes": ("静默分钟", "Silent minutes"),
    "silent_hours": ("未出现小时数", "Hours unseen"),
    "last_seen_at": ("最后上报时间", "Last seen"),
    "fault_code": ("故障", "Fault"),
    "expected_crossings": ("应有通过人次", "Crossings expected"),
    "line_evidence": ("判断依据", "Judged by"),
    "denied": ("拒绝次数", "Denied"),
    "denied_reads": ("拒绝刷卡次数", "Denied reads"),
    "seconds_after_denied": ("距拒绝秒数", "Seconds after the denial"),
    "window_minutes": ("时间窗(分)", "Window (min)"),
    "plate_masked": ("车牌(脱敏)", "Plate (masked)"),
    "legal_basis_ref": ("布控依据编号", "Legal basis ref"),
    "similarity": ("相似度", "Similarity"),
    "communities": ("涉及社区数", "Communities"),
    "crossing_in_minutes": ("预计超限(分钟后)", "Crosses the threshold in (min)"),
    "days_since_entry": ("入场天数", "Days since entry"),
    "entry_read": ("驶入识读", "Entry read"),
    "face_captures": ("人脸抓拍次数", "Face captures"),
    "forecast_density": ("预测密度(人/平方米)", "Forecast density (people/m²)"),
    "forecast_sd_density": ("预测标准差(人/平方米)", "Forecast SD (people/m²)"),
    "trend_per_minute": ("每分钟变化(人)", "Trend (people/min)"),
    "absent_days": ("缺席天数", "Days absent"),
    "household": ("同户人数", "Household members"),
    "household_seen_days": (
        "同户被看到的天数(此人从未出现)",
        "Days household seen (this one never)",
    ),
    "local_hour": ("本地时刻(时)", "Local hour"),
    "minutes": ("分钟数", "Minutes"),
    "occupant_days": ("常住人天数", "Occupant days"),
    "occupants": ("常住人数", "Occupants"),
    "parameters_url": ("本社区模型参数", "This community's parameters"),
    "passages": ("通行次数", "Passages"),
    "registered_residents": ("在册居民数", "Registered residents"),
    "requested_by": ("申请人", "Requested by"),
    "units": ("单元数", "Units"),
    "vehicle_class": ("车型", "Vehicle class"),
    "place_rule": ("违反的场所规则", "Place rule broken"),
    "rule_broken": ("违反部分", "Part broken"),
    "seen_here_before": ("此前在此通行次数", "Earlier passages here"),
    "seen_here_at_hour_before": ("此前在此同时段通行次数", "Earlier passages here at this hour"),
    "place_share_at_hour": ("本点位该时段通行占比", "Place's share of passages at this hour"),
    "rarity": ("罕见度(0–1)", "Rarity (0–1)"),
    "density_per_m2": ("密度(人/平方米)", "Density (people/m²)"),
    "occupancy": ("在场人数", "Occupancy"),
    "threshold": ("阈值", "Threshold"),
    "density": ("密度(人/平方米)", "Density (people/m²)"),
    "levels": ("等级分界(人/平方米)", "Level bounds (people/m²)"),
    "forecast_minutes": ("预测时长(分钟)", "Forecast horizon (min)"),
    "crossing_probability": ("越线概率", "Probability of crossing"),
    "officers_needed": ("需警力(人)", "Officers needed"),
    "close_points": ("建议关闭限流点", "Flow points to close"),
    "divert_to": ("建议分流至", "Divert to"),
    "nights": ("夜间出现天数", "Nights present"),
    "nights_list": ("夜间出现日期", "Nights present on"),
    "area_m2": ("房屋面积(平方米)", "Floor area (m²)"),
    "m2_per_person": ("人均面积(平方米)", "Floor area per person (m²)"),
    "evidence": ("判断依据", "Judged by"),
    "days_read_parked": ("停放识读天数", "Days read parked"),
    "last_parked_read": ("最近停放识读", "Last read parked"),
}

# Figures that list places by id, comma-joined: shown by the places' names.
PLACE_LIST_FIGURES = frozenset({"close_points", "divert_to"})

# What a zombie-vehicle alert was judged by (`zhian.models.vehicles`).
EVIDENCE_NAMES: dict[str, tuple[str, str]] = {
    "parked_reads": ("车位相机停放识读", "Car-park camera reads of it parked"),
    "gate_reads_only": ("仅道闸识读，请现场核实", "Gate reads only: check on site"),
}

CROWD_LEVEL_NAMES: dict[str, tuple[str, str]] = {key: (zh, en) for key, zh, en in CROWD_LEVELS}

VEHICLE_CLASSES: dict[str, tuple[str, str]] = {
    "car": ("小汽车", "Car"),
    "suv": ("SUV", "SUV"),
    "van": ("面包车", "Van"),
    "truck": ("货车", "Truck"),
    "muck_truck": ("渣土车", "Muck truck"),
    "hazmat": ("危化品车", "Hazmat"),
    "bus": ("客车", "Bus"),
    "motorcycle": ("摩托车", "Motorcycle"),
    "other": ("其他", "Other"),
}


def _pick(names: tuple[str, str], lang: str) -> str:
    return names[1] if lang == "en" else names[0]


def parameter_name(name: str, lang: str) -> str:
    """A model parameter's short name (Chinese) or its description (English)."""
    if lang == "en":
        return ModelSettings.model_fields[name].description or name
    return PARAMETER_TEXT.get(name, (name, ""))[0]


def parameter_description(name: str, lang: str) -> str:
    if lang == "en":
        return ModelSettings.model_fields[name].description or ""
    return PARAMETER_TEXT.get(name, ("", ""))[1]


def figure_label(lang: str, key: str) -> str:
    """The name of an evidence figure: `param.<name>` by the parameter's name, a candidate by
    its rank; the key itself when unnamed (a test keeps every emitted key named)."""
    if key.startswith("param."):
        name = key.removeprefix("param.")
        prefix = "Parameter: " if lang == "en" else "参数："
        return prefix + (name if name not in ModelSettings.model_fields else _param(name, lang))
    if key.startswith("candidate_"):
        rank = key.removeprefix("candidate_").removesuffix("_similarity")
        if key.endswith("_similarity"):
            return f"Candidate {rank} similarity" if lang == "en" else f"候选{rank}相似度"
        return f"Candidate resident {rank}" if lang == "en" else f"候选居民{rank}"
    names = FIGURE_NAMES.get(key)
    return key if names is None else _pick(names, lang)


def _param(name: str, lang: str) -> str:
    return name if lang == "en" else PARAMETER_TEXT.get(name, (name, ""))[0]


def figure_value(
    lang: str, key: str, value: Any, zone: timezone, places: Mapping[str, str] | None = None
) -> str:
    """A figure's value as read: names for codes, local times, rounded numbers; places
    listed by id by their names in `places` (the id where unnamed)."""
    if key in PLACE_LIST_FIGURES and isinstance(value, str):
        named = [(places or {}).get(part, part) for part in value.split(",") if part]
        return (", " if lang == "en" else "、").join(named) or "—"
    if key == "level" and str(value) in CROWD_LEVEL_NAMES:
        return _pick(CROWD_LEVEL_NAMES[str(value)], lang)
    if key == "evidence" and str(value) in EVIDENCE_NAMES:
        return _pick(EVIDENCE_NAMES[str(value)], lang)
    if key == "alarm_kind" and str(value) in ALARM_NAMES:
        return _pick(ALARM_NAMES[str(value)], lang)
    if key == "fault_code":
        return fault_name(str(value), lang)
    if key == "line_evidence" and str(value) in LINE_EVIDENCE_NAMES:
        return _pick(LINE_EVIDENCE_NAMES[str(value)], lang)
    if key == "vehicle_class" and str(value) in VEHICLE_CLASSES:
        return _pick(VEHICLE_CLASSES[str(value)], lang)
    if key == "place_rule" and str(value) in RESIDENTIAL_RULE_NAMES:
        return _pick(RESIDENTIAL_RULE_NAMES[str(value)], lang)
    if key == "rule_broken" and str(value) in BROKEN_NAMES:
        return _pick(BROKEN_NAMES[str(value)], lang)
    if key == "entry_read" and value == "missed":
        return "missed: judged by the way out" if lang == "en" else "未识读，按驶出判断"
    if key.endswith("_at") and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        return value
    if isinstance(value, bool):
        return ("yes" if value else "no") if lang == "en" else ("是" if value else "否")
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


# Words of the stored events' one-line summaries (`zhian.store.schema`, " · "-joined).
_SUMMARY_WORDS: dict[str, str] = {
    "in": "进",
    "out": "出",
    "card": "刷卡",
    "face": "刷脸",
    "qr": "二维码",
    "password": "密码",
    "id_card": "身份证",
    "granted": "通过",
    "denied": "拒绝",
    "resident": "居民",
    "visitor": "访客",
    "face_cluster": "人脸档案",
    "ok": "正常",
    "fault": "故障",
    "no match": "未比中",
    "blue": "蓝牌",
    "yellow": "黄牌",
    "green": "绿牌",
    "white": "白牌",
    "black": "黑牌",
    "yellow_green": "黄绿牌",
    "other": "其他",
}
_SUMMARY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("level ", "{}级"),
    ("quality ", "质量 {}"),
    ("zone ", "区域 {}"),
    ("occupancy ", "在场 {} 人"),
    ("in ", "进 {}"),
    ("out ", "出 {}"),
)


def _summary_part(part: str) -> str:
    if part in _SUMMARY_WORDS:
        return _SUMMARY_WORDS[part]
    if part in ALARM_NAMES:
        return ALARM_NAMES[part][0]
    if part in VEHICLE_CLASSES:
        return VEHICLE_CLASSES[part][0]
    fault = fault_name(part)
    if fault != part:
        return fault
    for prefix, shape in _SUMMARY_PATTERNS:
        if part.startswith(prefix):
            return shape.format(part.removeprefix(prefix))
    if part.endswith(" s") and part[:-2].isdigit():
        return f"{part[:-2]} 秒"
    word, _, rest = part.partition(" ")
    if rest and word in _SUMMARY_WORDS:  # a subject: "resident R***1"
        return f"{_SUMMARY_WORDS[word]} {rest}"
    return alarm_detail_zh(part)


def event_summary(lang: str, summary: str) -> str:
    """A stored event's one-line summary in the page language (stored in English words)."""
    if lang == "en":
        return summary
    return " · ".join(_summary_part(part) for part in summary.split(" · "))
