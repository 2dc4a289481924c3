"""Every name the pages show for a code has both languages: alarm kinds and details, fault
codes, rules and models, model parameters, audit actions; validation errors read in
Chinese without pydantic's wording or links. The browser test walks the rendered pages."""

from __future__ import annotations

import ast
import re
import typing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from zhian.cascade.search_requests import SubjectKind
from zhian.errors import BadRequestError
from zhian.follows.models import FollowKind
from zhian.ingest.events import AlarmKind
from zhian.models.catalogue import MODELS
from zhian.models.parameters import TUNABLE
from zhian.rules.device_text import ALARM_DETAILS_ZH, FAULT_NAMES
from zhian.sim.scenarios import FAULT_CODES
from zhian.web.error_text import error_text
from zhian.web.evidence import (
    PARAMETER_TEXT,
    event_summary,
    figure_label,
    figure_value,
    parameter_description,
    parameter_name,
)
from zhian.web.i18n import TEXT, choices, label

SIM = Path(__file__).parents[2] / "src" / "zhian" / "sim"
_CJK = re.compile(r"[\u4e00-\u9fff]")
RULES = ("alarm", "denied_access", "tailgating", "crowd", "device_offline", "device_fault")


def test_every_text_key_has_both_languages() -> None:
    assert TEXT["zh"].keys() == TEXT["en"].keys()
    assert all(_CJK.search(TEXT["zh"][key]) or key == "lang_switch" for key in ("app", "error"))


def test_every_fault_code_and_alarm_detail_the_simulator_sends_has_a_chinese_name() -> None:
    codes = {code for kind_codes in FAULT_CODES.values() for code in kind_codes}
    assert codes <= FAULT_NAMES.keys()
    sent = set()
    for source in SIM.glob("*.py"):
        sent |= set(re.findall(r'\.alarm\([^)]*"([^"]+)"\)', source.read_text(encoding="utf-8")))
    assert sent, "the simulator sends alarm details"
    assert {detail.lower() for detail in sent} <= ALARM_DETAILS_ZH.keys()


def test_every_rule_model_and_alarm_kind_is_named_in_both_languages() -> None:
    for value in [*RULES, *(model.name for model in MODELS), "watchlist"]:
        zh, en = label("zh", "rule", value), label("en", "rule", value)
        assert _CJK.search(zh) and not _CJK.search(en), value
    for kind in typing.get_args(AlarmKind):
        assert _CJK.search(label("zh", "kind", f"alarm_{kind}")), kind
        assert _CJK.search(figure_value("zh", "alarm_kind", kind, UTC)), kind


def test_every_model_parameter_has_a_chinese_name_and_description() -> None:
    assert set(TUNABLE) <= PARAMETER_TEXT.keys()
    for name in TUNABLE:
        assert _CJK.search(parameter_name(name, "zh")) and parameter_description(name, "zh")
        assert parameter_description(name, "en") and parameter_name(name, "en")
        assert _CJK.search(figure_label("zh", f"param.{name}")), name


def test_evidence_figures_read_in_chinese_with_local_times() -> None:
    zone = timezone(timedelta(hours=8))
    seen = datetime(2026, 11, 20, 1, 0, tzinfo=UTC).isoformat()
    assert figure_label("zh", "last_seen_at") == "最后上报时间"
    assert figure_value("zh", "last_seen_at", seen, zone) == "2026-11-20 09:00"
    assert figure_value("zh", "fault_code", "sensor_dirty", zone) == "传感器积尘需清洁"
    assert figure_label("zh", "candidate_2") == "候选居民2"
    assert figure_label("zh", "candidate_2_similarity") == "候选2相似度"


def test_audit_actions_are_named() -> None:
    assert all(_CJK.search(name) for _value, name in choices("zh", "audit_action"))


def test_event_summaries_read_in_chinese() -> None:
    assert event_summary("zh", "sos · level 3 · SOS button pressed") == (
        "一键求助报警 · 3级 · 一键求助按钮被按下"
    )
    assert event_summary("zh", "fault · sensor_dirty") == "故障 · 传感器积尘需清洁"
    assert (
        event_summary("zh", "in · card · granted · resident R***1")
        == "进 · 刷卡 · 通过 · 居民 R***1"
    )
    assert event_summary("en", "fault · sensor_dirty") == "fault · sensor_dirty"


def test_validation_errors_read_in_chinese_without_pydantic_links() -> None:
    raw = BadRequestError(
        "Input should be greater than or equal to 1 "
        "For further information visit https://errors.pydantic.dev/2.9/v/greater_than_equal",
        field="days",
    )
    shown = str(error_text("zh", raw))
    visible = shown.split("<details", 1)[0]
    assert visible == "统计天数：应不小于 1"
    assert "pydantic.dev" not in shown
    assert "pydantic.dev" not in str(error_text("en", raw))
    unknown = str(error_text("zh", BadRequestError("zebra crossing", field="page")))
    assert unknown.startswith("页码：输入不符合要求") and "zebra crossing" in unknown
    hostile = str(error_text("zh", BadRequestError("<script>x</script>", field="note")))
    assert "<script>" not in hostile


def test_every_audit_action_the_code_records_is_named() -> None:
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (Path(__file__).parents[2] / "src" / "zhian").rglob("*.py")
    )
    prefixes = "alert|alert_image|audit|device|events|incident|keys|legal_hold|masterdata"
    prefixes += "|personal_data|quarantine|resident|retention|watchlist|webhook"
    prefixes += "|search|passages|registry|event|event_image|faces"  # issue #15
    prefixes += "|tip|case_study|patrol"  # issue #19
    prefixes += "|case|follow|procedures|trajectory"  # issue #16
    recorded = set(re.findall(rf'"((?:{prefixes})\.[a-z_]+)"', source))
    recorded |= set(re.findall(r'"(cascade\.search\.[a-z_]+)"', source))  # issue #17
    # Not audit actions: template names, permissions and file names with the same shape.
    recorded = {
        action
        for action in recorded
        if not action.endswith((".html", ".view", ".duckdb", ".ndjson", ".manage", ".use"))
    }
    named = {value for value, _name in choices("zh", "audit_action")}
    assert recorded - named == set()


def _recorded_record_types() -> set[str]:
    """Every record type the code audits, read from the source: each string given as the
    `record_type` keyword of a call, or positionally where a function or a dataclass
    defined in the code takes `record_type` (RevealRead, RequestContext.read, …), or as the
    default of such a parameter; and the kinds audited from a value (followed subjects, a
    cascade search's subject)."""
    trees = [
        ast.parse(path.read_text(encoding="utf-8"))
        for path in (Path(__file__).parents[2] / "src" / "zhian").rglob("*.py")
    ]
    positions: dict[str, set[int]] = {}
    defaults: list[ast.expr] = []  # a parameter's default: `record_type: str = "plate"`
    for tree in trees:
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = node.args.posonlyargs + node.args.args
                pairs = list(zip(arguments[::-1], node.args.defaults[::-1], strict=False))
                pairs += list(zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True))
                defaults += [d for a, d in pairs if a.arg == "record_type" and d is not None]
                names = [a.arg for a in arguments if a.arg not in ("self", "cls")]
            elif isinstance(node, ast.ClassDef):
                names = [
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                ]
            else:
                continue
            if "record_type" in names:
                positions.setdefault(node.name, set()).add(names.index("record_type"))
    found = {d.value for d in defaults if isinstance(d, ast.Constant) and isinstance(d.value, str)}
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            given = [k.value for k in node.keywords if k.arg == "record_type"]
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            given += [node.args[i] for i in positions.get(name, ()) if i < len(node.args)]
            found |= {
                g.value for g in given if isinstance(g, ast.Constant) and isinstance(g.value, str)
            }
    assert {"alert", "resident", "case", "linkage_model"} <= found  # the reading works
    found |= {kind.value for kind in FollowKind}  # zhian.web.follow_views
    found |= set(typing.get_args(SubjectKind))  # zhian.cascade.search_requests
    return found


def test_every_record_type_the_code_audits_is_named_in_both_languages() -> None:
    recorded = _recorded_record_types()
    named = {value for value, _name in choices("zh", "record_type")}
    assert recorded - named == set()
    for value in recorded:
        assert _CJK.search(label("zh", "record_type", value)), value
        assert label("en", "record_type", value) != label("zh", "record_type", value), value
