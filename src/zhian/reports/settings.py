"""Settings of the report documents (docs/reports.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

# Debian and Ubuntu's fonts-noto-cjk; index 2 of the collection is Simplified Chinese.
DEFAULT_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


class ReportSettings(BaseModel):
    """The font embedded in PDF reports: it must cover Simplified Chinese."""

    font_path: Path = Field(
        default=DEFAULT_FONT,
        description="A TrueType/OpenType font or collection with Simplified Chinese glyphs, "
        "embedded (subset) in every PDF report; Noto Sans CJK (SIL Open Font License) from "
        "the fonts-noto-cjk package by default.",
    )
    font_index: int = Field(
        default=2,
        ge=0,
        le=64,
        description="The font's number inside a collection (.ttc); Noto Sans CJK: 2 is "
        "Simplified Chinese. Ignored for a single font file.",
    )
