"""The bureau's summary workbook: the themed sheets, 校验问题, 报送情况, 共性指标, 统计, 字段, and the hidden unit table."""

from __future__ import annotations

import gc
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import date, tzinfo
from fnmatch import fnmatch
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import ConsolidationError
from ..files import atomic_path
from ..form.a1 import cell_name, col_letters, quote_sheet
from ..form.functions import XlError
from ..form.identity import META_SHEET, UNITS_SHEET, Identity
from ..intake.node import FIXED as NODE_COLUMNS
from .aside import Aside, Step
from .clock import DEFAULT_ZONE, bureau_zone
from .compare import compare_sheet
from .consolidate import Consolidation, entity
from .fastrows import summary_workbook
from .indicators import SHEET as INDICATORS_SHEET
from .indicators import indicators_sheet
from .review_sheet import SHEET as REVIEW_SHEET
from .review_sheet import review_sheet
from .sheets import CellValues, Formats, RecordedSheet, header_row, print_setup, write_table
from .status import FILES_SHEET, STATUS_SHEET, files_sheet, status_sheet
from .themed import FIXED as THEMED_FIXED
from .themed import Placement, Themed, themed_sheets

SEVERITY = {"error": "错误", "warning": "警告"}
CHART_COLUMNS, CHART_ROWS = 8, 18  # the last column and the rows a chart covers on the 统计 sheet
TOTALS = {"sum": "求和", "average": "平均值", "ratio": "两栏合计之比", "none": "不汇总"}
# widths sum to one A4 landscape page at full size; 字段编号 and 问题代码 are hidden (for machines)
ISSUE_COLUMNS = [("单位编码", 10.0), ("单位名称", 13.0), ("文件", 12.0), ("工作表", 8.0), ("单元格", 6.0), ("栏目", 14.0), ("级别", 4.0),
                 ("说明", 26.0), ("发现值", 9.0), ("应为值", 10.0), ("字段编号", 24.0), ("问题代码", 20.0)]


def write_summary(consolidation: Consolidation, path: str | Path, zone: str = DEFAULT_ZONE, streaming: bool = True,
                  fast: bool = True, aside: bool = True) -> None:
    """Written to a temporary file first: a failed self-check leaves no summary behind. `streaming`: each row goes
    to disk once the next is begun, so memory stays flat in the number of units (every sheet writes its rows in
    order; a test holds the streamed workbook to the one built in memory). `fast`: streamed rows are written as
    rows (`fastrows.FastRows`), the lists are written aside on the other core (`aside.Aside`) and the workbook is
    stored at zlib's fastest level; False writes every cell through xlsxwriter, in turn, at its default level, the
    plain path a test holds it to (`aside` False: the fast path, every sheet written here)."""
    local = bureau_zone(zone)
    collecting = gc.isenabled()
    gc.disable()  # a million short-lived rows and cells, next to no cycles: collected after, not during (7 % of its time)
    try:
        with atomic_path(path) as tmp, tempfile.TemporaryDirectory(prefix="xlkit-summary-") as scratch:
            try:
                _write(consolidation, tmp, local, streaming, fast, Path(scratch), aside)
            except Aside.Failed:  # the lists could not be written aside: all of it here, the same workbook
                _write(consolidation, tmp, local, streaming, fast, Path(scratch), aside=False)
    finally:
        if collecting:
            gc.enable()


def _write(consolidation: Consolidation, path: Path, zone: tzinfo, streaming: bool, fast: bool, scratch: Path,
           aside: bool = True) -> None:
    spec = consolidation.spec
    summary = spec.summary
    if summary is None:
        raise ConsolidationError(f"the spec {spec.template.id} has no summary section")
    book = summary_workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False,
                                        "constant_memory": streaming, "tmpdir": str(scratch)}, fast)
    fmt = Formats(book, spec, fast).every_format()  # every style numbered before any sheet (see aside)
    values = CellValues()
    others = _other_forms(consolidation)
    themed = Themed(book, fmt, consolidation, values, zone)
    charted = {themed.placement.columns[f][0] for f in _charted(summary) if f in themed.placement.columns}  # 统计 reads them
    # each step's cost against a themed sheet's, as measured at ten thousand units (for sharing them out, see aside)
    steps = [
        *[Step(partial(themed.write, sheet), () if sheet.name in charted else (sheet.name,)) for sheet in themed.sheets],
        # project workbooks that came in with the units: their 项目汇总
        *[Step(partial(themed_sheets, book, Formats(book, other.spec, fast), other, values, zone)) for other in others],
        *([Step(lambda: compare_sheet(book, fmt, consolidation))] if consolidation.previous and spec.previous.figures else []),
        Step(lambda: _issues_sheet(book, fmt, consolidation), (ISSUES_SHEET,), 0.1),
        *([Step(lambda: review_sheet(book, fmt, consolidation), (REVIEW_SHEET,), 2.5)] if spec.review is not None else []),  # 审核提示
        Step(lambda: status_sheet(book, fmt, consolidation, zone), (STATUS_SHEET,), 1.6),
        Step(lambda: files_sheet(book, fmt, consolidation, zone), (FILES_SHEET,), 1.1),
        *([Step(lambda: indicators_sheet(book, fmt, consolidation), (INDICATORS_SHEET,), 1.4)] if summary.indicators or summary.ranking else []),
        # no chart declared: no empty 统计 sheet
        *([Step(partial(_charts_sheet, book, fmt, consolidation, values, themed.placement))]
          if summary.grade_chart or summary.structure_chart else []),
        Step(lambda: _fields_sheet(book, fmt, [consolidation, *others])),
        Step(lambda: _write_units_for_next_level(book, fmt, consolidation), (META_SHEET, UNITS_SHEET), 1.5),
    ]
    with Aside(book, steps, fast and aside, scratch) as lists:
        for step in steps:
            lists.write(step)
        lists.collect()
    book.set_properties({"title": summary.title, "author": "xlkit"})
    book.close()


def _charted(summary: Any) -> list[str]:
    """The fields whose themed sheets the 统计 sheet reads (its tables are formulas over them, computed here)."""
    return ([summary.grade_chart.field] if summary.grade_chart else []) + (list(summary.structure_chart.fields) if summary.structure_chart else [])


def _other_forms(consolidation: Consolidation) -> list[Consolidation]:
    """The other forms of the run with a summary of their own, whose sheets sit beside the campaign's."""
    others = [o for o in consolidation.others.values() if o.spec.summary is not None]
    names = [s.name for c in [consolidation, *others] for s in c.spec.summary.sheets]  # type: ignore[union-attr]
    if len(set(names)) < len(names):
        raise ConsolidationError(f"two forms of the run name the same summary sheet: {', '.join(sorted(names))}")
    return others


def _write_units_for_next_level(book: Any, fmt: Formats, consolidation: Consolidation) -> None:
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
    params = {"prefill": {"parent_name": consolidation.department}} if consolidation.department else {}  # read as any unit's
    identity = Identity(spec.template.id, spec.template.version, spec.fingerprint(), "", summary.title, consolidation.year,
                        json.dumps(params, ensure_ascii=False), kind="summary")
    meta = book.add_worksheet(META_SHEET)
    for r, (key, value) in enumerate(identity.rows()):
        meta.write_string(r, 0, key)
        meta.write_string(r, 1, value)
    meta.very_hidden()
    units = book.add_worksheet(UNITS_SHEET)
    for c, name in enumerate(NODE_COLUMNS):
        units.write_string(0, c, name)
    units.write_string(0, len(NODE_COLUMNS), json.dumps(fields, ensure_ascii=False))  # the figures' field ids
    sources = {f.path: f.via or os.path.basename(f.path) for f in consolidation.included}
    formats = [None] * (len(NODE_COLUMNS) + 1)
    with fmt.rows(units) as writer:
        table = frame[[*FRAME_FIXED, *fields]]
        for r, record in enumerate(_records(table), start=1):
            code, name, department, status, file, *figures = record
            # a unit's figures in one cell, a JSON list in the order of the field ids (a cell each was most of the writing)
            text = json.dumps(figures, ensure_ascii=False, allow_nan=False)
            if len(text) > MAX_CELL_TEXT:
                raise ConsolidationError(f"单位 {code} 的汇总数据超过一个单元格的容量（{len(text)} 个字符）")
            writer.row(r, [code, name, department, status, _node_value(os.path.basename(str(file))), sources.get(str(file), ""), text], formats)
    units.very_hidden()


def _records(table: Any, chunk: int = 2048) -> Iterator[tuple[Any, ...]]:
    """The table's rows as values `_node_value` gives, read column by column a chunk of rows at a time (a column's
    `tolist` is far cheaper than a row's values one by one; a chunk keeps memory flat)."""
    for start in range(0, len(table), chunk):
        part = table.iloc[start:start + chunk]
        yield from zip(*[[_node_value(v) for v in part[name].tolist()] for name in part.columns], strict=True)


FRAME_FIXED = ["unit_code", "unit_name", "department", "status", "file"]
MAX_CELL_TEXT = 32_767  # Excel's limit for the text of one cell


def _node_value(value: Any) -> Any:
    if value.__class__ is float:
        return None if value != value else value  # pandas' missing value
    if isinstance(value, float) and value != value:
        return None  # pandas' missing value
    if isinstance(value, (date, XlError, bool)):
        return str(value)
    return value.item() if hasattr(value, "item") else value  # a numpy number as Python's


ISSUES_SHEET = "校验问题"


def _issues_sheet(book: Any, fmt: Formats, consolidation: Consolidation) -> None:
    """Every problem found, errors first, in words; the field id and issue code stay in hidden columns for machines."""
    rows = []
    for status in consolidation.all_files:
        for issue in sorted(status.issues, key=lambda i: i.severity != "error"):
            rows.append([status.unit_code, status.unit_name, Path(status.path).name, issue.sheet, issue.cell, issue.label,
                         SEVERITY[issue.severity], issue.told, _shown(issue.found), _shown(issue.expected), issue.field, issue.code])
    words = entity(consolidation.spec)  # 项目编码 in a project campaign
    headers = [(label.replace("单位", words), width) for label, width in ISSUE_COLUMNS]
    write_table(book, fmt, ISSUES_SHEET, f"校验问题（{consolidation.year}年度）", headers, rows, hidden=2)


def _fields_sheet(book: Any, fmt: Formats, parts: list[Consolidation]) -> None:
    """Which field each column of the themed sheets reports: the key for anyone reading the workbook by machine."""
    rows = []
    for sheet in [s for c in parts for s in c.spec.summary.sheets]:  # type: ignore[union-attr]
        for k, column in enumerate(sheet.columns):
            source = column.field or f"{column.count}（个数）"
            rows.append([sheet.name, col_letters(len(THEMED_FIXED) + k), f"{column.group} {column.label}".strip(), source,
                         TOTALS[column.total]])
    write_table(book, fmt, "字段", "汇总表栏目与字段编号", [("工作表", 14), ("列", 4), ("栏目", 42), ("字段编号", 30), ("小计与合计", 10)],
                rows)


def _shown(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) or value is None else str(value)


def _charts_sheet(book: Any, fmt: Formats, consolidation: Consolidation, values: CellValues, placement: Placement) -> None:
    """The grade distribution and each department's spending structure, as tables of live formulas over the themed
    sheets and a chart beside each."""
    summary = consolidation.spec.summary
    assert summary is not None
    ws = book.add_worksheet("统计")
    sheet = RecordedSheet(ws, "统计", values)
    ws.set_column(0, 0, 24)
    ws.set_column(1, CHART_COLUMNS, 11)
    row = 0
    if summary.grade_chart:
        source, col = placement.columns[summary.grade_chart.field]
        grades = [band.label for band in consolidation.spec.grades]
        row = header_row(ws, fmt, row, [summary.grade_chart.title, f"{summary.entity}数"], [24, 11]) - 1
        letters = col_letters(col)
        span = f"{quote_sheet(source)}!${letters}${placement.first_row + 1}:${letters}${placement.last_row + 1}"
        grade_values = values.column(source, col, placement.first_row, placement.last_row)
        for k, grade in enumerate(grades, start=1):
            sheet.text(row + k, 0, grade, fmt["text"])
            count = float(sum(1 for v in grade_values if v == grade))
            ws.write_formula(row + k, 1, f'=COUNTIF({span},"{grade}")', fmt["text"], count)
        chart = book.add_chart({"type": "column"})
        chart.add_series({"name": summary.grade_chart.title, "categories": ["统计", row + 1, 0, row + len(grades), 0],
                          "values": ["统计", row + 1, 1, row + len(grades), 1], "data_labels": {"value": True}})
        chart.set_title({"name": summary.grade_chart.title})
        chart.set_legend({"none": True})
        ws.insert_chart(row, 3, chart, {"x_scale": 0.9, "y_scale": 1.0})  # ends inside the print area in any renderer
        row += max(len(grades) + 2, CHART_ROWS)
    if summary.structure_chart:
        if row:
            ws.set_h_pagebreaks([row])  # the structure table and its chart start a page, never cut across two
        chart_fields = summary.structure_chart.fields
        labels = {c.field: c.label for c in summary.columns}
        chart_columns = {c.field: c for c in summary.columns}
        header_row(ws, fmt, row, [summary.structure_chart.title, *[labels[f] for f in chart_fields]], [24] + [11] * len(chart_fields))
        for r, (department, subtotal_row) in enumerate(placement.subtotals, start=1):
            sheet.text(row + r, 0, department, fmt["text"])
            for k, field_id in enumerate(chart_fields, start=1):
                source, col = placement.columns[field_id]
                sheet.formula(row + r, k, f"{quote_sheet(source)}!{cell_name(subtotal_row, col)}", fmt.column("unit", chart_columns[field_id]))
        chart = book.add_chart({"type": "column", "subtype": "stacked"})
        for k in range(1, len(chart_fields) + 1):
            chart.add_series({"name": ["统计", row, k], "categories": ["统计", row + 1, 0, row + len(placement.subtotals), 0],
                              "values": ["统计", row + 1, k, row + len(placement.subtotals), k]})
        chart.set_title({"name": summary.structure_chart.title})
        row += len(placement.subtotals) + 2
        ws.insert_chart(row, 0, chart, {"x_scale": 1.2, "y_scale": 1.1})  # below its table: the page stays one wide
        row += CHART_ROWS
    print_setup(ws, "统计", (row, CHART_COLUMNS))
