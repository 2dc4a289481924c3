"""The GA/T 1400 doc names every option of the `[viid]` settings section."""

from __future__ import annotations

from pathlib import Path

from zhian.config import ViidSettings

DOC = Path(__file__).resolve().parents[3] / "docs" / "interop-viid.md"


def test_every_viid_option_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for name in ViidSettings.model_fields:
        assert f"| `{name}` |" in text, f"viid.{name} is missing from docs/interop-viid.md"
