"""The bureau's summary workbook: 汇总, 校验问题, 报送情况, 统计."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..errors import ConsolidationError
from ..files import atomic_path
from ..form.a1 import cell_name, col_letters, quote_sheet
from ..form.formula import Value, compile_formula, parse
from ..form.functions import XlError
from ..form.identity import META_SHEET, UNITS_SHEET, Identity
from ..intake.node import FIXED as NODE_COLUMNS
from .consolidate import Consolidation, FileStatus, column_values
from .indicators import indicators_sheet
from .sheets import Formats, write_cell, write_table
from .status import DEFAULT_ZONE, bureau_zone, status_sheet

FIXED = [("序号", 6), ("单位编码", 12), ("单位名称", 28), ("主管部门", 24), ("报送状态", 14)]
SEVERITY = {"error": "错误", "warning": "警告"}


class _Sheet:
    """Cells written, remembered so the summary's own formulas can be recomputed and checked."""

    def __init__(self, ws: Worksheet, name: str, values: dict[tuple[str, int, int], Value]):
        self.ws, self.name, self.values = ws, name, values

    def text(self, row: int, col: int, value: Any, fmt: Any = None) -> None:
        if value is None or value == "":
            self.ws.write_blank(row, col, None, fmt)
            return
        self.ws.write_string(row, col, str(value), fmt)  # unit text is never a formula
        self.values[(self.name, row, col)] = str(value)

    def number(self, row: int, col: int, value: Value, fmt: Any = None) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.ws.write_number(row, col, value, fmt)
            self.values[(self.name, row, col)] = float(value)
        elif value is None or value == "":
            self.ws.write_blank(row, col, None, fmt)
        else:
            self.text(row, col, value, fmt)

    def formula(self, row: int, col: int, text: str, fmt: Any = None) -> Value:
        value = compile_formula(parse(text), self.name)(self.values.get)
        self.ws.write_formula(row, col, "=" + text, fmt, value)
        self.values[(self.name, row, col)] = value
        return value


def write_summary(consolidation: Consolidation, path: str | Path, zone: str = DEFAULT_ZONE) -> None:
    """Written to a temporary file first: a failed self-check leaves no summary behind."""
    local = bureau_zone(zone)
    with atomic_path(path) as tmp:
        _write(consolidation, tmp, local)


def _write(consolidation: Consolidation, path: Path, zone: tzinfo) -> None:
    spec = consolidation.spec
    summary = spec.summary
    if summary is None:
        raise ConsolidationError(f"the spec {spec.template.id} has no summary section")
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    fmt = Formats(book, spec)
    values: dict[tuple[str, int, int], Value] = {}
    ws = book.add_worksheet("汇总")
    sheet = _Sheet(ws, "汇总", values)
    _write_header(ws, fmt, consolidation, zone)
    department_rows, total_row = _write_units(sheet, fmt, consolidation)
    last_col = len(FIXED) + len(summary.columns) - 1
    ws.freeze_panes(4, 3)
    ws.autofilter(3, 0, max(total_row - 1, 4), last_col)
    ws.set_landscape()
    ws.set_paper(8)  # A3
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(2, 3)
    ws.set_footer("&C第 &P 页，共 &N 页")
    _issues_sheet(book, fmt, consolidation)
    status_sheet(book, fmt, consolidation, zone)
    if summary.indicators or summary.ranking:
        indicators_sheet(book, fmt, consolidation)
    _charts_sheet(book, fmt, consolidation, values, department_rows, len(FIXED), total_row)
    _write_units_for_next_level(book, consolidation)
    book.set_properties({"title": summary.title, "author": "xlkit"})
    book.close()


def _write_units_for_next_level(book: Any, consolidation: Consolidation) -> None:
    """The summary as an input of the next level: very hidden identity (kind summary) and one row per unit in the
    totals with the fields the summary reports and where each unit's figures came from."""
    spec = consolidation.spec
    summary = spec.summary
    assert summary is not None
    frame = consolidation.frame
    wanted = {c.field for c in summary.columns if c.field} | {f for i in summary.indicators for f in (i.numerator, i.denominator)}
    wanted |= {summary.ranking} if summary.ranking else set()
    wanted |= {str(name) for c in summary.columns if c.count for name in frame.columns if fnmatch(str(name), c.count)}
    fields = [str(name) for name in frame.columns if str(name) in wanted]
    identity = Identity(spec.template.id, spec.template.version, spec.fingerprint(), "", summary.title, consolidation.year, "{}",
                        kind="summary")
    meta = book.add_worksheet(META_SHEET)
    for r, (key, value) in enumerate(identity.rows()):
        meta.write_string(r, 0, key)
        meta.write_string(r, 1, value)
    meta.very_hidden()
    units = book.add_worksheet(UNITS_SHEET)
    for c, name in enumerate([*NODE_COLUMNS, *fields]):
        units.write_string(0, c, name)
    sources = {f.path: f.via or Path(f.path).name for f in consolidation.included}
    for r, record in enumerate(frame[[*FRAME_FIXED, *fields]].to_dict("records"), start=1):
        fixed = [record["unit_code"], record["unit_name"], record["department"], record["status"], Path(str(record["file"])).name,
                 sources.get(str(record["file"]), "")]
        for c, value in enumerate([*fixed, *[record.get(f) for f in fields]]):
            write_cell(units, r, c, _node_value(value), None)
    units.very_hidden()


FRAME_FIXED = ["unit_code", "unit_name", "department", "status", "file"]


def _node_value(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None  # pandas' missing value
    if isinstance(value, (date, XlError, bool)):
        return str(value)
    return value


def _write_header(ws: Worksheet, fmt: Formats, consolidation: Consolidation, zone: tzinfo) -> None:
    """Title, note, and the two header rows: fixed columns, then the spec's columns under their groups."""
    summary = consolidation.spec.summary
    assert summary is not None
    columns = summary.columns
    first_data_col = len(FIXED)
    ws.merge_range(0, 0, 0, first_data_col + len(columns) - 1, f"{summary.title}（{consolidation.year}年度）", fmt["title"])
    included = consolidation.included
    ws.write_string(1, 0, f"生成时间 {datetime.now(zone):%Y-%m-%d %H:%M}；纳入汇总 {len(included)} 个单位；金额单位：万元", fmt["note"])
    for c, (label, width) in enumerate(FIXED):
        ws.merge_range(2, c, 3, c, label, fmt["header"])
        ws.set_column(c, c, width)
    groups: list[tuple[str, int, int]] = []
    for k, column in enumerate(columns):
        col = first_data_col + k
        ws.write_string(3, col, column.label, fmt["header"])
        ws.set_column(col, col, 13)
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1], col)
        else:
            groups.append((column.group, col, col))
    for text, start, end in groups:
        if start == end:
            ws.write_string(2, start, text, fmt["header"])
        else:
            ws.merge_range(2, start, 2, end, text, fmt["header"])


def _write_units(sheet: _Sheet, fmt: Formats, consolidation: Consolidation) -> tuple[list[tuple[str, int]], int]:
    """One row per unit, grouped by department with a 小计 row each, then the 合计 row (checked against the units)."""
    summary = consolidation.spec.summary
    assert summary is not None
    columns = summary.columns
    first_data_col = len(FIXED)
    per_column = [column_values(consolidation, c) for c in columns]
    frame_rows = {code: i for i, code in enumerate(consolidation.frame["unit_code"])}
    departments: dict[str, list[FileStatus]] = {}
    for status in sorted(consolidation.included, key=lambda f: frame_rows[f.unit_code]):
        departments.setdefault(status.department, []).append(status)
    row = 4
    department_rows: list[tuple[str, int]] = []
    number = 0
    for department, members in departments.items():
        first = row
        for status in members:
            number += 1
            sheet.number(row, 0, number, fmt["text"])
            for col, text in ((1, status.unit_code), (2, status.unit_name), (3, department), (4, status.label)):
                sheet.text(row, col, text, fmt["text"])
            index = frame_rows[status.unit_code]
            for k, column in enumerate(columns):
                sheet.number(row, first_data_col + k, per_column[k][index], fmt.number("unit", column.type))
            row += 1
        _total_row(sheet, fmt, row, f"{department} 小计", "subtotal", columns, _column_sum(first, row - 1))
        department_rows.append((department, row))
        row += 1
    subtotal_rows = [r for _d, r in department_rows]
    totals = _total_row(sheet, fmt, row, "合计", "total", columns,
                        lambda col: f"SUM({','.join(cell_name(r, col) for r in subtotal_rows) or '0'})")
    for k, column in enumerate(columns):
        if column.total != "sum":
            continue
        expected = sum(float(v) for v in per_column[k] if isinstance(v, (int, float)) and not isinstance(v, bool))
        total = totals[k]
        if not isinstance(total, float) or abs(total - expected) > 1e-6 * max(1.0, abs(expected)):
            raise ConsolidationError(f"summary self-check failed: {column.label} total {total} != sum of units {expected}")
    return department_rows, row


def _column_sum(first: int, last: int) -> Callable[[int], str]:
    return lambda col: f"SUM({cell_name(first, col)}:{cell_name(last, col)})"


def _total_row(sheet: _Sheet, fmt: Formats, row: int, label: str, kind: str, columns: list[Any],
               formula: Callable[[int], str]) -> list[Value]:
    """A 小计 or 合计 row: the label, and a live SUM (with its cached value) in every summed column."""
    sheet.text(row, 2, label, fmt[f"{kind}_text"])
    for c in (0, 1, 3, 4):
        sheet.ws.write_blank(row, c, None, fmt[f"{kind}_text"])
    results: list[Value] = []
    for k, column in enumerate(columns):
        col = len(FIXED) + k
        if column.total == "sum":
            results.append(sheet.formula(row, col, formula(col), fmt.number(kind, column.type)))
        else:
            sheet.ws.write_blank(row, col, None, fmt.number(kind, column.type))
            results.append(None)
    return results


def _issues_sheet(book: Any, fmt: Formats, consolidation: Consolidation) -> None:
    rows = []
    for status in consolidation.files:
        for issue in status.issues:
            rows.append([status.unit_code, status.unit_name, Path(status.path).name, issue.sheet, issue.cell, issue.field,
                         issue.code, SEVERITY[issue.severity], issue.message, _shown(issue.found), _shown(issue.expected)])
    write_table(book, fmt, "校验问题", [("单位编码", 12), ("单位名称", 24), ("文件", 30), ("工作表", 10), ("单元格", 8), ("栏目", 26),
                                   ("代码", 20), ("级别", 6), ("说明", 60), ("发现值", 14), ("应为值", 14)], rows)


def _shown(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def _charts_sheet(book: Any, fmt: Formats, consolidation: Consolidation, values: dict[tuple[str, int, int], Value],
                  department_rows: list[tuple[str, int]], first_data_col: int, total_row: int) -> None:
    summary = consolidation.spec.summary
    assert summary is not None
    ws = book.add_worksheet("统计")
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 1)  # the tables and their charts on one page
    sheet = _Sheet(ws, "统计", values)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 4, 14)
    fields = [c.field for c in summary.columns]
    source = quote_sheet("汇总")
    row = 0
    if summary.grade_chart:
        col = first_data_col + fields.index(summary.grade_chart.field)
        grades = [band.label for band in consolidation.spec.grades]
        ws.write_string(row, 0, summary.grade_chart.title, fmt["header"])
        ws.write_string(row, 1, "单位数", fmt["header"])
        letters = col_letters(col)
        span = f"{source}!${letters}$5:${letters}${max(total_row, 5)}"
        grade_values = [v for (s, _r, c), v in values.items() if s == "汇总" and c == col]
        for k, grade in enumerate(grades, start=1):
            sheet.text(row + k, 0, grade, fmt["text"])
            count = float(sum(1 for v in grade_values if v == grade))
            ws.write_formula(row + k, 1, f'=COUNTIF({span},"{grade}")', fmt["text"], count)
        chart = book.add_chart({"type": "column"})
        chart.add_series({"name": summary.grade_chart.title, "categories": ["统计", row + 1, 0, row + len(grades), 0],
                          "values": ["统计", row + 1, 1, row + len(grades), 1], "data_labels": {"value": True}})
        chart.set_title({"name": summary.grade_chart.title})
        chart.set_legend({"none": True})
        ws.insert_chart(row, 3, chart, {"x_scale": 1.2, "y_scale": 1.0})
        row += max(len(grades) + 2, 17)
    if summary.structure_chart:
        chart_fields = summary.structure_chart.fields
        labels = {c.field: c.label for c in summary.columns}
        ws.write_string(row, 0, summary.structure_chart.title, fmt["header"])
        for k, field_id in enumerate(chart_fields, start=1):
            ws.write_string(row, k, labels[field_id], fmt["header"])
        for r, (department, subtotal_row) in enumerate(department_rows, start=1):
            sheet.text(row + r, 0, department, fmt["text"])
            for k, field_id in enumerate(chart_fields, start=1):
                col = first_data_col + fields.index(field_id)
                sheet.formula(row + r, k, f"{source}!{cell_name(subtotal_row, col)}", fmt["text"])
        chart = book.add_chart({"type": "column", "subtype": "stacked"})
        for k in range(1, len(chart_fields) + 1):
            chart.add_series({"name": ["统计", row, k], "categories": ["统计", row + 1, 0, row + len(department_rows), 0],
                              "values": ["统计", row + 1, k, row + len(department_rows), k]})
        chart.set_title({"name": summary.structure_chart.title})
        ws.insert_chart(row, len(chart_fields) + 2, chart, {"x_scale": 1.3, "y_scale": 1.1})
