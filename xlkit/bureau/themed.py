"""The summary's themed sheets (收入, 支出和结余 …): print-ready tables a director can read on paper.

Every themed sheet has the same rows: each 主管部门's units, its 小计 (sums, the average score), then the 合计,
so the 统计 sheet can point at any of them. A department none of whose units was accepted still has its row.
Units whose returns have errors are listed below the table, not summed in (unless the run includes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from ..errors import ConsolidationError
from ..form.a1 import cell_name
from ..form.functions import Value
from ..form.spec import SummaryColumn, SummarySheet
from ..write.textfit import char_units
from .consolidate import Consolidation, FileStatus, column_values, departments
from .fastrows import PlainRows
from .sheets import BODY_SIZE, CellValues, Formats, RecordedSheet, broken, label_width, page_units, print_setup, row_height

FIXED = [("序号", 4.0), ("单位编码", 10.0), ("单位名称", 28.0)]
HEADER_ROWS = (3, 4)  # group row, label row; row 2 (hidden) holds the field ids for machines
FIRST_ROW = 5
MAX_ARGS = 255  # Excel's limit on a function's arguments; longer lists nest


@dataclass
class Row:
    kind: str  # unit, subtotal, total
    department: str = ""
    unit: FileStatus | None = None
    index: int = -1  # the unit's row in the consolidation's frame
    units: list[int] = field(default_factory=list)  # the sheet rows a subtotal or total covers


@dataclass
class Placement:
    """Where the themed sheets put each field and department, for the formulas of the 统计 sheet."""

    columns: dict[str, tuple[str, int]]  # field id -> (sheet, column)
    subtotals: list[tuple[str, int]]  # (department, row): the same rows on every themed sheet
    first_row: int
    last_row: int


class Themed:
    """The themed sheets of one consolidation: what they share made once (the rows, the stamp), then each sheet
    written on its own (`write`), so that each can be a step of its own (a sheet the 统计 sheet reads not aside)."""

    def __init__(self, book: Any, fmt: Formats, consolidation: Consolidation, values: CellValues, zone: tzinfo):
        summary = consolidation.spec.summary
        assert summary is not None
        self.book, self.fmt, self.consolidation, self.values = book, fmt, consolidation, values
        self.sheets = summary.sheets
        self.rows = _rows(consolidation)
        self.apart = [f for f in consolidation.files if f.status == "accepted-errors" and not f.in_totals]
        self.stamp = f"生成时间 {datetime.now(zone):%Y-%m-%d %H:%M}"
        columns: dict[str, tuple[str, int]] = {}
        for sheet in self.sheets:
            for k, column in enumerate(sheet.columns):
                if column.field:
                    columns.setdefault(column.field, (sheet.name, len(FIXED) + k))
        subtotals = [(r.department, FIRST_ROW + i) for i, r in enumerate(self.rows) if r.kind == "subtotal"]
        self.placement = Placement(columns, subtotals, FIRST_ROW, FIRST_ROW + len(self.rows) - 1)

    def write(self, sheet: SummarySheet) -> None:
        consolidation, fmt, rows, apart = self.consolidation, self.fmt, self.rows, self.apart
        summary = consolidation.spec.summary
        assert summary is not None
        ws = self.book.add_worksheet(sheet.name)
        recorded = RecordedSheet(ws, sheet.name, self.values)
        per_column = [column_values(consolidation, c) for c in sheet.columns]  # read once: widths, cells, watch lists
        widths = _widths(sheet, consolidation, per_column, summary.paper)
        entity = summary.entity
        note = f"纳入合计 {len(consolidation.included)} 个{entity}" + (f"；{len(apart)} 个{entity}有错误，未纳入合计" if apart else "")
        _header(ws, fmt, sheet, widths, f"{sheet.title}（{consolidation.year}年度）", f"{note}；{self.stamp}", entity)
        _body(recorded, fmt, sheet, per_column, rows, widths, entity)
        end = FIRST_ROW + len(rows)
        last_row = _listed_apart(ws, fmt, apart, end + 1, len(widths), entity)
        last_row = _watch_lists(ws, fmt, sheet, consolidation, per_column, last_row + 2, len(widths))
        ws.freeze_panes(FIRST_ROW, len(FIXED))
        print_setup(ws, sheet.name, (last_row, len(widths) - 1), summary.paper, HEADER_ROWS)


def themed_sheets(book: Any, fmt: Formats, consolidation: Consolidation, values: CellValues, zone: tzinfo) -> Placement:
    """Every themed sheet, in the spec's order."""
    themed = Themed(book, fmt, consolidation, values, zone)
    for sheet in themed.sheets:
        themed.write(sheet)
    return themed.placement


def _rows(consolidation: Consolidation) -> list[Row]:
    """Departments in roster order (then any others), each with its units and a 小计; then the 合计."""
    frame_rows = {code: i for i, code in enumerate(consolidation.frame["unit_code"])}
    members: dict[str, list[FileStatus]] = {department: [] for department in departments(consolidation)}
    for status in sorted(consolidation.included, key=lambda f: frame_rows[f.unit_code]):
        members.setdefault(status.department, []).append(status)
    rows: list[Row] = []
    for department, units in members.items():
        first = FIRST_ROW + len(rows)
        rows += [Row("unit", department, status, frame_rows[status.unit_code]) for status in units]
        rows.append(Row("subtotal", department, units=list(range(first, first + len(units)))))
    rows.append(Row("total", units=[FIRST_ROW + i for i, r in enumerate(rows) if r.kind == "unit"]))
    return rows


def _widths(sheet: SummarySheet, consolidation: Consolidation, per_column: list[list[Value]], paper: str) -> list[float]:
    """Each column as wide as its widest figure (the 合计's, with thousands separators) or its grade text, its
    label in at most four lines; the unit names narrower (wrapping) when the page would otherwise shrink the print."""
    codes = [f.unit_code for f in consolidation.included]
    widths = [FIXED[0][1], max([FIXED[1][1], *[len(code) + 1.0 for code in codes]]), FIXED[2][1]]  # digits: a unit each
    for column, figures in zip(sheet.columns, per_column, strict=True):
        numbers = [abs(float(v)) for v in figures if isinstance(v, (int, float)) and not isinstance(v, bool)]
        texts = [str(v) for v in figures if isinstance(v, str)]
        widest = max([len(f"{sum(numbers):,.2f}") + 2.0] + [sum(char_units(ch, BODY_SIZE) for ch in t) + 2.0 for t in texts])
        widths.append(max(8.0, label_width(column.label, 4), min(16.0, widest)))
    widths[2] = max(16.0, min(widths[2], page_units(paper, len(widths)) - sum(widths) + widths[2]))
    return widths


def _header(ws: Any, fmt: Formats, sheet: SummarySheet, widths: list[float], title: str, note: str, entity: str) -> None:
    last = len(widths) - 1
    ws.merge_range(0, 0, 0, last, title, fmt["title_center"])
    ws.set_row(0, 24)
    ws.merge_range(1, 0, 1, last, note, fmt["note"])
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    ids = ["number", "unit_code", "unit_name"] + [c.field or f"count:{c.count}" for c in sheet.columns]
    for c, text in enumerate(ids):
        ws.write_string(2, c, text)
    ws.set_row(2, None, None, {"hidden": True})
    groups: list[tuple[str, int, int]] = []
    for k, column in enumerate(sheet.columns):
        col = len(FIXED) + k
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1], col)
        else:
            groups.append((column.group, col, col))
    # Row by row, left to right: the workbook is written in constant-memory mode, where a row, once left, is
    # final, so nothing spans both header rows. The fixed columns' labels stand in the lower row, beside the labels
    # of the figures, under an empty header cell.
    for c in range(len(FIXED)):
        ws.write_blank(3, c, None, fmt["header_top"])
    for text, start, end in groups:
        if start == end:
            ws.write_string(3, start, broken(text, widths[start]), fmt["header"])
        else:
            ws.merge_range(3, start, 3, end, broken(text, sum(widths[start:end + 1])), fmt["header"])
    ws.set_row(3, row_height((text, sum(widths[start:end + 1])) for text, start, end in groups))
    for c, (label, _width) in enumerate(FIXED):
        ws.write_string(4, c, label.replace("单位", entity), fmt["header_bottom"])
    for k, column in enumerate(sheet.columns):
        ws.write_string(4, len(FIXED) + k, broken(column.label, widths[len(FIXED) + k]), fmt["header"])
    ws.set_row(4, row_height((c.label, widths[len(FIXED) + k]) for k, c in enumerate(sheet.columns)))


def _body(sheet: RecordedSheet, fmt: Formats, spec_sheet: SummarySheet, per_column: list[list[Value]], rows: list[Row],
          widths: list[float], entity: str) -> None:
    """Each department's unit rows as one run of a row writer (the fast path writes them as rows), then its 小计."""
    number = 0
    columns = spec_sheet.columns
    formats: list[list[Any]] = [[None, None] for _ in columns]  # each column's unit format, as number and as wrapped text
    writer: PlainRows | None = None
    for i, row in enumerate(rows):
        r = FIRST_ROW + i
        if row.kind == "unit":
            number += 1
            assert row.unit is not None
            values: list[Any] = [number, row.unit.unit_code, row.unit.unit_name]
            cell_formats = [fmt["center"], fmt["text"], fmt["text"]]
            texts = [(row.unit.unit_name, widths[2])]
            for k, figures in enumerate(per_column):
                value = figures[row.index]
                is_text = isinstance(value, str)
                if is_text:
                    texts.append((str(value), widths[len(FIXED) + k]))
                if formats[k][is_text] is None:
                    formats[k][is_text] = fmt.column("unit", columns[k], wrap=is_text)
                values.append(value)
                cell_formats.append(formats[k][is_text])
            writer = writer or fmt.rows(sheet.ws)
            sheet.row(writer, r, values, cell_formats, row_height(texts))  # every text of the row wraps and shows whole
            continue
        if writer is not None:  # the department's last unit row is written before its 小计
            writer.close()
            writer = None
        label = "合计" if row.kind == "total" else f"{row.department} 小计" + ("" if row.units else f"（无已接收{entity}）")
        sheet.ws.write_blank(r, 0, None, fmt[f"{row.kind}_text"])
        sheet.ws.merge_range(r, 1, r, 2, broken(label, widths[1] + widths[2]), fmt[f"{row.kind}_text"])  # wraps, whole
        sheet.values[(sheet.name, r, 1)] = label
        sheet.ws.set_row(r, row_height([(label, widths[1] + widths[2])]))
        place = {c.field: len(FIXED) + k for k, c in enumerate(columns) if c.field}
        results: list[Value] = [None] * len(columns)
        for k in sorted(range(len(columns)), key=lambda k: columns[k].total == "ratio"):  # ratios last
            results[k] = _total_cell(sheet, fmt, r, len(FIXED) + k, columns[k], row, place)
        if row.kind == "total":
            _self_check(columns, per_column, results)


def _total_cell(sheet: RecordedSheet, fmt: Formats, r: int, col: int, column: SummaryColumn, row: Row, place: dict[str, int]) -> Value:
    """A live formula over the unit rows above (its cached value computed here), or a blank. A ratio is that of the
    row's own sums (a department's 执行率 is its spending over its budget)."""
    cell_format = fmt.column(row.kind, column)
    if column.total == "none" or not row.units:
        sheet.ws.write_blank(r, col, None, cell_format)
        return None
    if column.ratio_of is not None:
        numerator, denominator = (cell_name(r, place[f]) for f in column.ratio_of)
        return sheet.formula(r, col, f'IF(N({denominator})>0,ROUND({numerator}/{denominator},4),"")', cell_format)
    ranges = _ranges(row.units, col)
    if column.total == "sum":
        return sheet.formula(r, col, _nested("SUM", "SUM", ranges), cell_format)
    return sheet.formula(r, col, f"{_nested('SUM', 'SUM', ranges)}/{_nested('COUNT', 'SUM', ranges)}", cell_format)


def _ranges(rows: list[int], col: int) -> list[str]:
    """Consecutive unit rows as one range each: C6:C9,C11:C12."""
    out: list[str] = []
    start = previous = rows[0]
    for row in [*rows[1:], -1]:
        if row != previous + 1:
            out.append(cell_name(start, col) if start == previous else f"{cell_name(start, col)}:{cell_name(previous, col)}")
            start = row
        previous = row
    return out


def _nested(inner: str, outer: str, args: list[str]) -> str:
    """inner(a, b, …) within Excel's 255 arguments: longer lists become outer(inner(…), inner(…))."""
    if len(args) <= MAX_ARGS:
        return f"{inner}({','.join(args)})"
    return _nested(outer, outer, [f"{inner}({','.join(args[k:k + MAX_ARGS])})" for k in range(0, len(args), MAX_ARGS)])


def _self_check(columns: list[SummaryColumn], per_column: list[list[Value]], totals: list[Value]) -> None:
    """The 合计 the formulas compute must equal the units' figures added up here, or no summary is written."""
    for column, unit_values, total in zip(columns, per_column, totals, strict=True):
        numbers = [float(v) for v in unit_values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if column.total in ("none", "ratio") or not numbers:
            continue
        expected: float = sum(numbers) if column.total == "sum" else sum(numbers) / len(numbers)
        if not isinstance(total, float) or abs(total - expected) > 1e-6 * max(1.0, abs(expected)):
            raise ConsolidationError(f"summary self-check failed: {column.label} total {total} != the units' {expected}")


def _listed_apart(ws: Any, fmt: Formats, apart: list[FileStatus], row: int, width: int, entity: str) -> int:
    """The units with errors, below the table: named, with how many errors, and where to read them. Returns the
    sheet's last row."""
    if not apart:
        return row - 2
    heading = f"以下 {len(apart)} 个{entity}的报表有错误，未纳入合计（问题见“校验问题”表）："
    ws.merge_range(row, 0, row, width - 1, heading, fmt["note_bold"])
    for k, status in enumerate(apart, start=1):
        r = row + k
        ws.write_number(r, 0, k, fmt["center"])
        ws.write_string(r, 1, status.unit_code, fmt["text"])
        ws.write_string(r, 2, status.unit_name, fmt["text"])
        text = f"主管部门：{status.department}；错误 {status.errors} 处"
        if width > 4:
            ws.merge_range(r, 3, r, width - 1, text, fmt["text"])
        else:
            ws.write_string(r, 3, text, fmt["text"])
    return row + len(apart)


def _watch_lists(ws: Any, fmt: Formats, sheet: SummarySheet, consolidation: Consolidation, per_column: list[list[Value]], row: int,
                 width: int) -> int:
    """Below the table, each of the sheet's watch lists (执行率低于80%的项目): the entries under the threshold with their
    figure. Returns the sheet's last row."""
    last = row - 2
    for watch in sheet.watch:
        column, figures = next((c, f) for c, f in zip(sheet.columns, per_column, strict=True) if c.field == watch.field)
        frame = consolidation.frame
        hits = [(str(code), str(name), v) for code, name, v in zip(frame["unit_code"], frame["unit_name"], figures, strict=True)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v < watch.threshold]
        ws.merge_range(row, 0, row, width - 1, f"{watch.label}：{len(hits)} 个" + ("" if hits else "（无）"), fmt["note_bold"])
        for k, (code, name, value) in enumerate(hits, start=1):
            ws.write_number(row + k, 0, k, fmt["center"])
            ws.write_string(row + k, 1, code, fmt["text"])
            ws.write_string(row + k, 2, name, fmt["text"])
            ws.write_number(row + k, 3, value, fmt.column("unit", column))
        last = row + len(hits)
        row = last + 2
    return last

