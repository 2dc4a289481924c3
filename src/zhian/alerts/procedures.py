"""Response procedures (预案): checklists by alert kind and tier, ticked before closing.

The procedures are data (the table `response_procedures`, one row per kind and tier,
seeded from the defaults below), editable per node on the `/procedures` page and pushed
down the hierarchy like parameter presets (docs/cascade.md). A row's kind is an alert kind
or `*` (every kind); its tier is a tier or `*` (every tier). An alert's checklist is, in
order: its kind's steps for every tier, its kind's steps for its tier, then the steps of
every kind for its tier (the command centre's steps of a major alert).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from zhian.access.roles import Role
from zhian.errors import BadRequestError

ANY: Final = "*"
TIERS: Final = (ANY, "minor", "general", "major")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")
_KIND = re.compile(r"^(\*|[a-z0-9][a-z0-9_]{0,63})$")
MAX_STEPS: Final = 30
MAX_STEP_TEXT: Final = 200


@dataclass(frozen=True, slots=True)
class ProcedureStepSpec:
    """One step of a procedure; `role` takes it (None: whoever handles the alert)."""

    key: str
    text_zh: str
    text_en: str
    role: str | None = None


# The field's usual first steps; a kind without an entry has no checklist.
PROCEDURES: dict[str, tuple[ProcedureStepSpec, ...]] = {
    "alarm_fire": (
        ProcedureStepSpec("confirm", "视频或现场确认火情", "Confirm the fire by video or on site"),
        ProcedureStepSpec("call_119", "通知消防（119）", "Call the fire brigade (119)"),
        ProcedureStepSpec("evacuate", "组织楼内人员疏散", "Evacuate the building"),
    ),
    "alarm_smoke": (
        ProcedureStepSpec("confirm", "视频或现场确认烟雾来源", "Confirm the source of the smoke"),
        ProcedureStepSpec("contact", "联系住户或物业", "Contact the residents or property"),
    ),
    "alarm_gas": (
        ProcedureStepSpec("ventilate", "通知住户开窗、勿动电器", "Tell residents to ventilate"),
        ProcedureStepSpec("call_gas", "通知燃气公司", "Call the gas company"),
    ),
    "alarm_sos": (
        ProcedureStepSpec("contact", "回拨或现场联系求助人", "Reach the person who pressed SOS"),
        ProcedureStepSpec("care", "确认人身安全", "Make sure the person is safe"),
    ),
}


# A resident's tip or an emergency call of a kind that has a procedure follows the same
# one (#19): a fire reported by a resident or a 110 caller is handled as a fire reported
# by a sensor.
TIP_PROCEDURES: dict[str, str] = {
    "tip_fire": "alarm_fire",
    "tip_smoke": "alarm_smoke",
    "call_fire": "alarm_fire",
    "call_smoke": "alarm_smoke",
    "call_gas": "alarm_gas",
}


# A major alert, of whatever kind, is the command centre's (#19): after the kind's own
# steps come the command centre's. They appear when the alert is raised major or when
# its tier rises to major.
MAJOR_STEPS: tuple[ProcedureStepSpec, ...] = (
    ProcedureStepSpec(
        "command_take",
        "指挥中心接报并启动重大事件响应",
        "Command centre takes charge of the major incident",
        "command_centre",
    ),
    ProcedureStepSpec(
        "command_reinforce",
        "调派周边警力及消防、医疗等联动力量",
        "Send nearby officers and the partner services needed (fire, medical)",
        "command_centre",
    ),
    ProcedureStepSpec(
        "command_report",
        "向上级报告事件及处置进展",
        "Report the incident and its handling upward",
        "command_centre",
    ),
)


Key = tuple[str, str]  # (kind or ANY, tier or ANY)

# The built-in procedures, keyed as the table is: what a new node is seeded with, and what
# a procedure the parent stops pushing down returns to.
DEFAULTS: dict[Key, tuple[ProcedureStepSpec, ...]] = {
    **{(kind, ANY): steps for kind, steps in PROCEDURES.items()},
    (ANY, "major"): MAJOR_STEPS,
}


class ProcedureBook:
    """The procedures in force at a node, by (kind, tier)."""

    def __init__(self, procedures: Mapping[Key, tuple[ProcedureStepSpec, ...]]) -> None:
        self._procedures = dict(procedures)

    def steps_for(self, kind: str, tier: str) -> tuple[ProcedureStepSpec, ...]:
        """The steps of an alert of `kind` and `tier`, in order, each key once. A tip or
        call kind without a procedure of its own follows its alarm kind's."""
        book = self._procedures
        if (kind, ANY) not in book and (kind, tier) not in book:
            kind = TIP_PROCEDURES.get(kind, kind)
        steps = book.get((kind, ANY), ()) + book.get((kind, tier), ()) + book.get((ANY, tier), ())
        seen: set[str] = set()
        out = []
        for step in steps:
            if step.key not in seen:
                seen.add(step.key)
                out.append(step)
        return tuple(out)


DEFAULT_BOOK: Final = ProcedureBook(DEFAULTS)


def procedure_for(kind: str, tier: str) -> tuple[ProcedureStepSpec, ...]:
    """The built-in steps of an alert of `kind` and `tier`, in order."""
    return DEFAULT_BOOK.steps_for(kind, tier)


def check_key(kind: str, tier: str) -> None:
    """A procedure's kind and tier, or 400 naming the field."""
    if not _KIND.match(kind):
        raise BadRequestError(
            "an alert kind (lower-case letters, digits, _) or * for every kind", field="kind"
        )
    if tier not in TIERS:
        raise BadRequestError(f"tier must be one of {', '.join(TIERS)}", field="tier")


def steps_from_lines(text: str) -> tuple[ProcedureStepSpec, ...]:
    """Steps as typed on the procedures page, one a line, in order:
    `key | 中文 | English | role` (the role may be left out: whoever handles the alert).
    A malformed line is a 400 naming it (`steps[i]`, counting from 1) and the reason."""
    steps = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        parts = [part.strip() for part in line.split("|")]
        if len(parts) not in (3, 4):
            raise BadRequestError(
                "write each step as: key | 中文 | English | role (role optional)",
                field=f"steps[{number}]",
            )
        steps.append(
            _step(number, parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else "")
        )
    return _checked(steps)


def steps_from_json(items: Iterable[Mapping[str, Any]]) -> tuple[ProcedureStepSpec, ...]:
    """Steps as stored (or sent down by the parent): dicts of key, text_zh, text_en, role."""
    return _checked(
        [
            _step(
                number,
                str(item.get("key", "")),
                str(item.get("text_zh", "")),
                str(item.get("text_en", "")),
                str(item.get("role") or ""),
            )
            for number, item in enumerate(items, start=1)
        ]
    )


def steps_as_stored(items: Iterable[Mapping[str, Any]]) -> tuple[ProcedureStepSpec, ...]:
    """Steps as the table holds them, read without judging them again (they were checked
    when written): a role a later version no longer knows must not break the alert pages."""
    return tuple(
        ProcedureStepSpec(
            str(item.get("key", "")),
            str(item.get("text_zh", "")),
            str(item.get("text_en", "")),
            str(item["role"]) if item.get("role") else None,
        )
        for item in items
    )


def steps_to_json(steps: Iterable[ProcedureStepSpec]) -> list[dict[str, str | None]]:
    return [
        {"key": s.key, "text_zh": s.text_zh, "text_en": s.text_en, "role": s.role} for s in steps
    ]


def steps_to_lines(steps: Iterable[ProcedureStepSpec]) -> str:
    """The page's textarea form of `steps` (read back by `steps_from_lines`)."""
    return "\n".join(
        " | ".join([s.key, s.text_zh, s.text_en, *([s.role] if s.role else [])]) for s in steps
    )


def _step(number: int, key: str, text_zh: str, text_en: str, role: str) -> ProcedureStepSpec:
    field = f"steps[{number}]"
    if not _KEY.match(key):
        raise BadRequestError(
            f"step key '{key}' must be lower-case letters, digits and _", field=f"{field}.key"
        )
    for name, text in (("text_zh", text_zh), ("text_en", text_en)):
        if not text:
            raise BadRequestError("the step needs its text", field=f"{field}.{name}")
        if len(text) > MAX_STEP_TEXT:
            raise BadRequestError(f"at most {MAX_STEP_TEXT} characters", field=f"{field}.{name}")
    if role and role not in {r.value for r in Role}:
        raise BadRequestError(
            f"role must be one of {', '.join(r.value for r in Role)}", field=f"{field}.role"
        )
    return ProcedureStepSpec(key, text_zh, text_en, role or None)


def _checked(steps: list[ProcedureStepSpec]) -> tuple[ProcedureStepSpec, ...]:
    if len(steps) > MAX_STEPS:
        raise BadRequestError(f"at most {MAX_STEPS} steps", field="steps")
    seen: set[str] = set()
    for number, step in enumerate(steps, start=1):
        if step.key in seen:
            raise BadRequestError(
                f"step key '{step.key}' is used twice", field=f"steps[{number}].key"
            )
        seen.add(step.key)
    return tuple(steps)
