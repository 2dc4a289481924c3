"""The ferry guide documents every `ferry` setting."""

from __future__ import annotations

from pathlib import Path

from zhian.config import FerrySettings

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "ferry.md"


def test_every_ferry_setting_is_documented() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for name in FerrySettings.model_fields:
        assert f"| `{name}` |" in text, f"ferry.{name} is missing from docs/ferry.md"
