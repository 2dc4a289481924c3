"""Response procedures (预案): optional checklists per alert kind, ticked before closing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcedureStepSpec:
    key: str
    text_zh: str
    text_en: str


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


# A resident's tip of a kind that has a procedure follows the same one (#19): a fire
# reported by a resident is handled as a fire reported by a sensor.
TIP_PROCEDURES: dict[str, str] = {"tip_fire": "alarm_fire", "tip_smoke": "alarm_smoke"}


def procedure_for(kind: str) -> tuple[ProcedureStepSpec, ...]:
    return PROCEDURES.get(TIP_PROCEDURES.get(kind, kind), ())
