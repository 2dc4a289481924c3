"""A report as an Excel workbook (openpyxl): figures as numbers, so they add up in Excel."""

from __future__ import annotations

from datetime import timezone
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font

from zhian.reports.content import Report

_HEAD = {
    "zh": ("指标", "数值", "环比(%)", "同比(%)"),
    "en": ("Figure", "Value", "vs previous (%)", "vs a year ago (%)"),
}
_NOTABLE = {
    "zh": ("重大预警", "编号", "时间", "类型", "状态", "标题"),
    "en": ("Major alerts", "No.", "Time", "Type", "State", "Title"),
}
_CASES = {
    "zh": ("本期案件", "案件编号", "发案时间", "类别", "状态", "已破案"),
    "en": ("Cases", "Case no.", "Began", "Category", "Status", "Solved"),
}
_TRENDS = {"zh": ("趋势", "指标"), "en": ("Trends", "Figure")}
_YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}
_FORMATS = {"count": "0", "percent": '0.0"%"', "minutes": "0.0"}


def workbook_bytes(report: Report, zone: timezone) -> bytes:
    """The report as an .xlsx file: one sheet of figures, one of trends (weekly and
    monthly), one of major alerts, one of the period's cases."""
    lang = "en" if report.lang == "en" else "zh"
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "Report" if lang == "en" else "报表"
    sheet.append([report.title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([report.area_name, report.period])
    start, end = report.start.astimezone(zone), report.end.astimezone(zone)
    sheet.append([f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}", f"UTC{start:%z}"])
    for section in report.sections:
        sheet.append([])
        sheet.append([section.heading])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(list(_HEAD[lang]))
        for row in section.rows:
            sheet.append([row.label, row.value, row.change_previous_pct, row.change_year_pct])
            sheet.cell(row=sheet.max_row, column=2).number_format = _FORMATS[row.unit]
    sheet.column_dimensions["A"].width = 36
    for column in "BCD":
        sheet.column_dimensions[column].width = 16
    if report.trends:
        _listing(
            book,
            (*_TRENDS[lang], *report.trend_periods),
            [[row.label, *row.values] for row in report.trends],
        )
    stamp = "%Y-%m-%d %H:%M"
    _listing(
        book,
        _NOTABLE[lang],
        [
            [
                alert.id,
                alert.created_at.astimezone(zone).strftime(stamp),
                alert.kind,
                alert.state,
                alert.title_en if lang == "en" else alert.title_zh,
            ]
            for alert in report.notable
        ],
    )
    yes, no = _YES_NO[lang]
    _listing(
        book,
        _CASES[lang],
        [
            [
                case.id,
                case.time_from.astimezone(zone).strftime(stamp),
                case.category,
                case.status,
                yes if case.is_solved else no,
            ]
            for case in report.cases
        ],
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _listing(book: Workbook, head: tuple[str, ...], rows: list[list[object]]) -> None:
    """A sheet named `head[0]` with the column names `head[1:]`, then a row per record."""
    sheet = book.create_sheet(head[0])
    sheet.append(list(head[1:]))
    for row in rows:
        sheet.append(row)
