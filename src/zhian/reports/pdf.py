"""A report as a PDF (fpdf2) with a Chinese font embedded as a subset of its glyphs."""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fpdf import FPDF

from zhian.errors import ConfigurationError
from zhian.reports.content import Report, format_change, format_value
from zhian.reports.settings import ReportSettings

FAMILY = "cjk"
_HEAD = {
    "zh": ("指标", "数值", "环比", "同比"),
    "en": ("Figure", "Value", "vs previous", "vs a year ago"),
}
_NOTABLE = {"zh": "重大预警", "en": "Major alerts"}
_CASES = {"zh": "本期案件", "en": "Cases"}
_TRENDS = {"zh": ("趋势", "指标"), "en": ("Trends", "Figure")}
_SOLVED = {"zh": "已破案", "en": "solved"}
_NONE = {"zh": "无", "en": "none"}
_WIDTHS = (90, 30, 30, 30)  # mm: the 180 mm between A4's 15 mm margins


def document(settings: ReportSettings, *, orientation: str = "portrait") -> FPDF:
    """An A4 document with the configured Chinese font; 500 naming the setting without it."""
    if not settings.font_path.is_file():
        raise ConfigurationError(
            f"no font at {settings.font_path}: install fonts-noto-cjk or set "
            "reports.font_path to a font with Simplified Chinese",
            field="reports.font_path",
        )
    # fpdf2 loads on the first report, not when the web process starts.
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font(FAMILY, fname=str(settings.font_path), collection_font_number=settings.font_index)
    return pdf


def pdf_bytes(report: Report, zone: timezone, settings: ReportSettings) -> bytes:
    """The report as a PDF: title, area and period, a table per section, the trends (weekly
    and monthly), major alerts, the period's cases."""
    lang = "en" if report.lang == "en" else "zh"
    pdf = document(settings)
    pdf.set_title(report.title)
    pdf.add_page()
    pdf.set_font(FAMILY, size=18)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    start, end = report.start.astimezone(zone), report.end.astimezone(zone)
    pdf.cell(
        0,
        6,
        f"{report.area_name} · {report.period} · {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for section in report.sections:
        pdf.ln(3)
        pdf.set_font(FAMILY, size=13)
        pdf.cell(0, 8, section.heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=10)
        _row(pdf, _HEAD[lang], fill=True)
        for row in section.rows:
            _row(
                pdf,
                (
                    row.label,
                    format_value(row.value, row.unit),
                    format_change(row.change_previous_pct),
                    format_change(row.change_year_pct),
                ),
            )
        if not section.rows:
            pdf.cell(sum(_WIDTHS), 7, _NONE[lang], border=1, new_x="LMARGIN", new_y="NEXT")
    if report.trends:
        _trends(pdf, report, lang)
    alerts = []
    for alert in report.notable:
        when = alert.created_at.astimezone(zone).strftime("%m-%d %H:%M")
        alerts.append(f"#{alert.id}  {when}  {alert.title_en if lang == 'en' else alert.title_zh}")
    _listing(pdf, _NOTABLE[lang], alerts, lang)
    cases = []
    for case in report.cases:
        when = case.time_from.astimezone(zone).strftime("%m-%d %H:%M")
        solved = f"  {_SOLVED[lang]}" if case.is_solved else ""
        cases.append(f"{case.id}  {when}  {case.category}  {case.status}{solved}")
    _listing(pdf, _CASES[lang], cases, lang)
    return bytes(pdf.output())


def _row(pdf: FPDF, cells: tuple[str, ...], *, fill: bool = False) -> None:
    if fill:
        pdf.set_fill_color(230, 234, 240)
    for width, text, align in zip(_WIDTHS, cells, ("L", "R", "R", "R"), strict=True):
        pdf.cell(width, 7, text, border=1, align=align, fill=fill)
    pdf.ln()


def _listing(pdf: FPDF, heading: str, lines: list[str], lang: str) -> None:
    """A heading, then a line per record ("none" when there is none)."""
    pdf.ln(3)
    pdf.set_font(FAMILY, size=13)
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    if not lines:
        pdf.cell(0, 6, _NONE[lang], new_x="LMARGIN", new_y="NEXT")


def _trends(pdf: FPDF, report: Report, lang: str) -> None:
    """A table of the trend figures (rows) over the trend periods (columns)."""
    pdf.ln(3)
    pdf.set_font(FAMILY, size=13)
    pdf.cell(0, 8, _TRENDS[lang][0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    label_width = 60
    width = (sum(_WIDTHS) - label_width) / max(1, len(report.trend_periods))
    pdf.set_fill_color(230, 234, 240)
    pdf.cell(label_width, 7, _TRENDS[lang][1], border=1, fill=True)
    for period in report.trend_periods:
        pdf.cell(width, 7, period, border=1, align="R", fill=True)
    pdf.ln()
    for row in report.trends:
        pdf.cell(label_width, 7, row.label, border=1)
        for value in row.values:
            pdf.cell(width, 7, format_value(value, row.unit), border=1, align="R")
        pdf.ln()
