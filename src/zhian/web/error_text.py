"""A rejected input as the page shows it: the field by its name and the reason in the page
language. Validation messages (pydantic's included) are matched to Chinese sentences (one
not matched is said generally); the original wording is kept under "technical detail"."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup, escape

from zhian.errors import ZhianError
from zhian.web.i18n import text

# pydantic ends some messages with a link to its docs: never shown.
_DOCS_LINK = re.compile(r"\s*For further information visit \S+", re.IGNORECASE)

_Reason = Callable[[re.Match[str]], str]

# (pattern over the English message, the Chinese reason built from its groups)
_REASONS: tuple[tuple[re.Pattern[str], _Reason], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"has no image", lambda m: "此预警没有这张图片，或图片已按保留期限清理"),
        # Search by photo (zhian.search.photo): before the general image reasons below.
        (
            r"no face found",
            lambda m: "照片中未找到人脸：请使用正面、光线充足、人脸宽约 40 像素以上的照片",
        ),
        (
            r"compared only with features of the same model",
            lambda m: "本节点抓拍特征的模型与照片特征的模型不同，不能以照片检索，请改用特征值检索",
        ),
        (
            r"choose one from 1 to (\d+)",
            lambda m: f"照片中有 {m[1]} 张人脸，请填写 1 到 {m[1]} 的序号",
        ),
        (r"a photo or a feature, not both", lambda m: "照片和特征值只能二选一"),
        (r"give a face photo or a face feature", lambda m: "请上传照片或填写特征值"),
        (r"choose a photo", lambda m: "请选择照片（JPEG 或 PNG）"),
        (r"the photo is \d+ bytes", lambda m: "文件过大"),
        (r"needs dlib", lambda m: "本节点未安装人脸识别模型，不能以照片检索"),
        (
            r"(plate number|ID number|phone number) in clear",
            lambda m: "不得包含车牌号、身份证号或手机号原文，请填写在对应的脱敏字段",
        ),
        (r"greater than or equal to ([-\d.]+)", lambda m: f"应不小于 {m[1]}"),
        (r"less than or equal to ([-\d.]+)", lambda m: f"应不大于 {m[1]}"),
        (r"greater than ([-\d.]+)", lambda m: f"应大于 {m[1]}"),
        (r"less than ([-\d.]+)", lambda m: f"应小于 {m[1]}"),
        (r"must be at most ([-\d.]+)$", lambda m: f"应不大于 {m[1]}"),
        (r"must be at least ([-\d.]+)$", lambda m: f"应不小于 {m[1]}"),
        (r"give either device_id or zone_id", lambda m: "请在卡口/道闸与区域中选择且只选择一个"),
        (r"give both allowed_from_hour", lambda m: "开始与截止时刻须同时填写或同时留空"),
        (r"not a device or zone of community", lambda m: "不是本社区的设备或区域"),
        (r"at most (\d+) characters?", lambda m: f"最多 {m[1]} 个字符"),
        (r"at least (\d+) characters?", lambda m: f"至少 {m[1]} 个字符"),
        (r"valid integer|whole number", lambda m: "应为整数"),
        (r"valid number|is not a number|valid float", lambda m: "应为数字"),
        (r"valid date|date and time|datetime", lambda m: "应为日期时间，例如 2026-11-20T09:30"),
        (r"field required|is required|missing", lambda m: "必须填写"),
        (r"one of|input should be '|not a valid|unknown value", lambda m: "不是可选的值"),
        (r"csrf", lambda m: "页面已过期，请刷新后重试"),
        (r"too large|at most \d+ bytes", lambda m: "文件过大"),
        (r"not an image|image|jpeg|png", lambda m: "图片无法识别，请上传 JPEG 或 PNG 照片"),
        (r"already|exists|duplicate", lambda m: "已存在"),
        (r"jurisdiction|scope|outside", lambda m: "不在您的辖区内"),
        (r"state", lambda m: "当前状态下不能进行此操作"),
    )
)

# Field names the texts table does not carry under the same key.
_FIELD_NAMES: dict[str, tuple[str, str]] = {
    "page": ("页码", "page"),
    "days": ("统计天数", "days"),
    "purpose": ("查看用途", "purpose"),
    "case_number": ("案件编号", "case number"),
    "reason": ("用途说明", "reason"),
    "password": ("密码", "password"),
    "id": ("编号", "ID"),
    "community_id": ("社区", "community"),
    "jurisdiction_id": ("辖区", "jurisdiction"),
    "csrf_token": ("页面令牌", "page token"),
    "attachments": ("照片/附件", "photos"),
    "feedback": ("处置反馈", "feedback"),
    "label": ("标签", "label"),
    "note": ("备注", "note"),
    "role": ("角色", "role"),
    "plate": ("车牌", "plate"),
    "file": ("文件", "file"),
    "ref": ("图片", "image"),
    # A restricted place's form (zhian.web.restriction_views).
    "device_id": ("卡口或道闸", "vehicle gate or checkpoint"),
    "zone_id": ("区域", "zone"),
    "governs_classes": ("管控车辆类型", "vehicle classes governed"),
    "direction": ("管控方向", "direction"),
    "allowed_classes": ("许可车辆类型", "allowed vehicle classes"),
    "allowed_owners": ("许可车主类型", "allowed owner types"),
    "allowed_plates": ("许可车牌", "allowed plates"),
    "allowed_from_hour": ("许可开始时刻", "allowed from hour"),
    "allowed_until_hour": ("许可截止时刻", "allowed until hour"),
    "photo": ("人脸照片", "photo"),
    "face": ("人脸序号", "face number"),
    "feature": ("人脸特征", "feature"),
}


def field_name(lang: str, field: str | None) -> str:
    if not field:
        return ""
    names = _FIELD_NAMES.get(field)
    if names is not None:
        return names[1] if lang == "en" else names[0]
    return text(lang).get(field, field) if lang != "en" else field


def plain_message(error: ZhianError) -> str:
    """The error's message without pydantic's documentation link."""
    return _DOCS_LINK.sub("", error.message).strip()


def reason_zh(message: str) -> str | None:
    for pattern, reason in _REASONS:
        found = pattern.search(message)
        if found is not None:
            return reason(found)
    return None


def error_sentence(lang: str, error: ZhianError) -> str:
    """ "<field>: <reason>" in the page language, as plain text."""
    message = plain_message(error)
    name = field_name(lang, error.field)
    if lang == "en":
        return f"{name}: {message}" if name else message
    reason = reason_zh(message)
    if reason is not None:
        return f"{name}：{reason}" if name else reason
    return f"{name}：输入不符合要求" if name else "操作未完成"


def error_text(lang: str, error: ZhianError) -> Markup:
    """`error_sentence`, safe to put in a page; in Chinese the sender's own wording (file
    names, values, limits) stays one click away under "technical detail"."""
    said = error_sentence(lang, error)
    if lang == "en":
        return escape(said)
    return Markup('{}<details class="muted"><summary>技术细节</summary>{}</details>').format(
        said, plain_message(error)
    )
