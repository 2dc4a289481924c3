"""The per-unit assessment report (考核报表): each unit's rank, total and indicator scores,
as Excel and PDF, from the assessment service's scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from zhian.assessment.service import Indicator, UnitScore
from zhian.reports.pdf import FAMILY, document
from zhian.reports.settings import ReportSettings

_HEAD = {"zh": ("排名", "单位", "总分"), "en": ("Rank", "Unit", "Total")}
_TITLE = {"zh": "考核评价报表", "en": "Assessment report"}


@dataclass(frozen=True)
class AssessmentReport:
    lang: str
    area_name: str
    period: str
    indicators: list[Indicator]
    indicator_names: Mapping[str, str]
    unit_names: Mapping[str, str]
    units: list[UnitScore]

    @property
    def title(self) -> str:
        return _TITLE["en" if self.lang == "en" else "zh"]

    def header(self) -> list[str]:
        lang = "en" if self.lang == "en" else "zh"
        return [
            *_HEAD[lang],
            *(
                f"{self.indicator_names.get(i.name, i.name)} ({i.weight:g}/{i.target:g})"
                for i in self.indicators
            ),
        ]

    def rows(self) -> list[list[object]]:
        """Rank, unit name, total, then each indicator's score (None: no value)."""
        return [
            [
                unit.rank,
                self.unit_names.get(unit.jurisdiction_id, unit.jurisdiction_id),
                unit.total,
                *(score.score for score in unit.scores),
            ]
            for unit in self.units
        ]


def assessment_workbook(report: AssessmentReport) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "Assessment" if report.lang == "en" else "考核"
    sheet.append([report.title, report.area_name, report.period])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(report.header())
    for row in report.rows():
        sheet.append(row)
    sheet.column_dimensions["B"].width = 24
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def assessment_pdf(report: AssessmentReport, settings: ReportSettings) -> bytes:
    pdf = document(settings, orientation="landscape")
    pdf.add_page()
    pdf.set_font(FAMILY, size=18)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    pdf.cell(0, 6, f"{report.area_name} · {report.period}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    header = report.header()
    width = (pdf.w - 30 - 14 - 50 - 20) / max(1, len(header) - 3)
    widths = [14, 50, 20, *([width] * (len(header) - 3))]
    pdf.set_fill_color(230, 234, 240)
    pdf.set_font(FAMILY, size=8)
    for w, text in zip(widths, header, strict=True):
        pdf.cell(w, 7, text, border=1, fill=True)
    pdf.ln()
    pdf.set_font(FAMILY, size=10)
    for row in report.rows():
        for index, (w, value) in enumerate(zip(widths, row, strict=True)):
            shown = (
                "—"
                if value is None
                else (f"{value:.1f}" if isinstance(value, float) else str(value))
            )
            pdf.cell(w, 7, shown, border=1, align="L" if index == 1 else "R")
        pdf.ln()
    return bytes(pdf.output())
