"""Response procedures (预案): checklists by alert kind and tier, ticked before closing."""

from __future__ import annotations

from dataclasses import dataclass


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


def procedure_for(kind: str, tier: str) -> tuple[ProcedureStepSpec, ...]:
    """The steps of an alert of `kind` and `tier`, in order."""
    own = PROCEDURES.get(TIP_PROCEDURES.get(kind, kind), ())
    return own + MAJOR_STEPS if tier == "major" else own
