"""Every alert kind the code can raise has a Chinese and an English name wherever kinds
are shown: the kinds are read from the code (each `AlertDraft(kind=...)` of the rules,
models, tips, patrol reports and imported calls), not from a hand list."""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from zhian.alerts.drafts import AlertDraft
from zhian.ingest.events import AlarmKind
from zhian.node import Node
from zhian.patrol.service import CATEGORY_TIERS
from zhian.tips.settings import DEFAULT_CATEGORIES
from zhian.web.i18n import choices, label

SOURCE = Path(__file__).resolve().parents[2] / "src" / "zhian"
# A kind made of a prefix and a value: where the values come from.
FAMILIES: dict[str, tuple[str, ...]] = {
    "alarm_": get_args(AlarmKind),
    "tip_": tuple(DEFAULT_CATEGORIES),
    # Imported calls name their categories in the import's mapping; the tips' names are
    # the shared vocabulary (docs/incidents.md), and any other code still gets a name.
    "call_": (*DEFAULT_CATEGORIES, "traffic_accident"),
    "patrol_": tuple(CATEGORY_TIERS),
}
# Kinds passed through from an alert raised elsewhere (a child node's alert mirrored).
PASS_THROUGH = {"cascade/service.py"}


def _module_name(path: Path) -> str:
    return "zhian." + ".".join(path.relative_to(SOURCE).with_suffix("").parts)


def _kinds_in(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AlertDraft"):
            continue
        kind = next((k.value for k in node.keywords if k.arg == "kind"), None)
        assert kind is not None, f"{path}: an AlertDraft without a kind"
        if isinstance(kind, ast.Constant):
            yield str(kind.value)
        elif isinstance(kind, ast.Name):
            yield str(getattr(importlib.import_module(_module_name(path)), kind.id))
        elif isinstance(kind, ast.JoinedStr):
            head = kind.values[0]
            assert isinstance(head, ast.Constant), f"{path}: a kind must start with a prefix"
            prefix = str(head.value)
            assert prefix in FAMILIES, f"{path}: say where the values of '{prefix}…' come from"
            yield from (prefix + value for value in FAMILIES[prefix])
        else:
            relative = path.relative_to(SOURCE).as_posix()
            assert relative in PASS_THROUGH, f"{path}: a kind this test cannot read"


def raised_kinds() -> set[str]:
    return {kind for path in sorted(SOURCE.rglob("*.py")) for kind in _kinds_in(path)}


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_kind_the_code_raises_has_both_names() -> None:
    kinds = raised_kinds()
    # The rules', the models' and the domains' kinds are all there.
    assert {"crowd_overload", "alarm_fire", "watchlist_plate", "group_rental", "casing",
            "tip_theft", "patrol_hazard", "device_offline"} <= kinds  # fmt: skip
    for kind in sorted(kinds):
        zh, en = label("zh", "kind", kind), label("en", "kind", kind)
        assert zh != kind and CJK.search(zh), f"{kind}: no Chinese name ({zh})"
        assert en != kind and not CJK.search(en), f"{kind}: no English name ({en})"
    # The alert wall's kind filter offers every fixed kind by name (the category
    # families' own codes come and go with a deployment's categories).
    offered = {value for value, _name in choices("zh", "kind")}
    fixed = {k for k in kinds if not k.startswith(("tip_", "call_", "patrol_"))}
    assert fixed <= offered, sorted(fixed - offered)


def _raise(node: Node, kind: str, index: int) -> None:
    draft = AlertDraft(
        rule="test", kind=kind, tier="general", subject=f"s{index}", place_id="C1-B1-U1",
        observed_at=node.clock.now(), explanation_zh="测试", explanation_en="test",
        community_id="C1", place_name="1幢1单元301",
    )  # fmt: skip
    with node.alerts() as alerts:
        alerts.raise_drafts([draft])


def test_the_screen_the_statistics_and_the_wall_name_the_kinds(
    client: TestClient, node: Node
) -> None:
    shown = ("crowd_overload", "group_rental", "patrol_public_order", "call_burglary")
    for index, kind in enumerate(shown):
        _raise(node, kind, index)
    log_in(client, "command")
    top = {t["kind"]: t["name"] for t in client.get("/api/v1/screen?lang=zh").json()["top_types"]}
    assert top["crowd_overload"] == "人员聚集超载"
    assert all(CJK.search(top[kind]) for kind in shown), top
    screen = client.get("/screen?lang=zh").text
    snapshot = re.search(r'id="screen-snapshot">(.*?)</script>', screen, re.S)
    assert snapshot and "人员聚集超载" in json.dumps(
        json.loads(snapshot.group(1)), ensure_ascii=False
    )
    stats = client.get("/stats?lang=zh").text
    for kind in shown:
        found = re.search(rf'<tr data-metric="alerts_by_kind" data-key="{kind}">(.*?)</tr>',
                          stats, re.S)  # fmt: skip
        assert found and CJK.search(found.group(1)) and label("zh", "kind", kind) in found.group(1)
    stats_en = client.get("/stats?lang=en").text
    assert "Crowd overload" in stats_en
    wall = client.get("/alerts?open=all&lang=zh").text
    assert "人员聚集超载" in wall and "巡逻上报·治安问题" in wall
