"""Settings of the report documents (docs/reports.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

# Debian and Ubuntu's fonts-noto-cjk; index 2 of the collection is Simplified Chinese.
DEFAULT_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


class ScheduledReport(BaseModel):
    """One report generated for every complete period into the report archive."""

    kind: str = Field(
        pattern="^(daily|weekly|monthly|assessment)$",
        description="daily, weekly, monthly or assessment (the units' scores of a month).",
    )
    jurisdiction_id: str = Field(min_length=1, max_length=64, description="The area.")
    formats: list[Literal["xlsx", "pdf"]] = Field(
        default=["xlsx", "pdf"], description="Files to keep: xlsx and/or pdf."
    )
    lang: str = Field(default="zh", pattern="^(zh|en)$", description="zh or en.")


class ReportSettings(BaseModel):
    """The font embedded in PDF reports (it must cover Simplified Chinese) and the reports
    generated on a schedule into the archive."""

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
    scheduled: list[ScheduledReport] = Field(
        default=[],
        description="Reports generated for each complete period (yesterday, last week, last "
        'month) into the report archive, e.g. [{kind = "daily", jurisdiction_id = '
        '"J-DISTRICT"}]; each file is also sent to the webhook subscriptions naming '
        "`report.archived`. Checked every `schedule_check_seconds`.",
    )
    schedule_check_seconds: float = Field(
        default=600,
        ge=10,
        le=86_400,
        description="How often the schedule is checked (and old archive files and report "
        "jobs pruned).",
    )
    archive_keep_days: int = Field(
        default=0,
        ge=0,
        le=36_500,
        description="Archived report files whose period began more than this many days ago "
        "are deleted when the schedule is checked; 0 keeps them all.",
    )
    job_keep_hours: float = Field(
        default=24,
        gt=0,
        le=24 * 90,
        description="Reports generated on demand (report jobs) are kept this long for their "
        "download, then deleted.",
    )
    job_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Reports generated on demand at the same time by each web process; "
        "more wait their turn (queued).",
    )
