"""`spec import`, step 2: a sheet's rows cut into the spec's blocks (title, heading, note, fields, list, table, rules),
the inverse of `form.placement`: a table is header rows, then rows of labels and cells, then a spacer row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .import_read import Cell, Grid

HEADING = re.compile(r"^\s*([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\([一二三四五六七八九十]+\))")
TOTAL_LABEL = re.compile(r"(合\s*计|总\s*计|汇\s*总|小\s*计|总额)")
RULES_HEADER = ("校验项", "本表数", "结果")


@dataclass
class Guessed:
    cell: Cell
    why: str  # the YAML comment: what was guessed and from what


@dataclass
class TextBlock:
    kind: str  # title, heading, note
    text: str
    row: int
    box: bool = False


@dataclass
class Item:
    label: Cell | None
    cell: Cell
    guessed: str = ""


@dataclass
class FieldsBlock:
    rows: list[list[Item]]
    row: int


@dataclass
class ListRows:
    label: str
    items: list[tuple[str, Cell]]
    row: int


@dataclass
class TRow:
    row: int
    labels: list[str]
    total: bool
    cells: list[Cell | None]  # one per column: the field cell, or None (an empty or blank cell)
    statics: dict[int, str] = field(default_factory=dict)  # column index -> fixed text typed in a data column
    guessed: dict[int, str] = field(default_factory=dict)  # column index -> why it is taken as an input


@dataclass
class TableBlock:
    caption: str | None
    header: list[list[Cell]]
    header_rows: int
    label_columns: int
    spans: list[int]
    rows: list[TRow]
    row: int
    blank_columns: set[int] = field(default_factory=set)
    id: str = ""
    column_keys: list[str] = field(default_factory=list)
    row_keys: list[str] = field(default_factory=list)
    context: str = ""  # the heading above it: words such as （万元） that type its columns

    def column_header(self, k: int) -> str:
        """The lowest header text over column k: its name."""
        col = self.label_columns + sum(self.spans[:k])
        for cells in reversed(self.header):
            for c in cells:
                if c.col <= col <= c.last_col and c.text:
                    return c.text
        return ""


@dataclass
class RulesRows:
    header: list[str]
    rows: list[list[Cell | None]]
    row: int


@dataclass
class SheetBlocks:
    grid: Grid
    key: str
    blocks: list[tuple[Any, bool]]
    ids: dict[int, Any] = field(default_factory=dict)  # id(block) -> its ids


Block = TextBlock | FieldsBlock | ListRows | TableBlock | RulesRows


def segment(grid: Grid, explicit: bool, problems: list[str]) -> list[tuple[Block, bool]]:
    """Blocks top to bottom, each with whether a page break comes before it; what fits no block is listed."""
    out: list[tuple[Block, bool]] = []
    r = 0
    after_table = False
    caption: str | None = None
    while r < grid.rows:
        broken = r in grid.breaks and r > 0
        if grid.is_empty_row(r):
            if not after_table and out:
                problems.append(f"{grid.name}!{r + 1}: 空行未保留（表单的块之间不留空行，表格后自动空一行）")
            after_table = False
            r += 1
            continue
        after_table = False
        cells = [c for c in grid.row_cells(r) if c.text or c.is_field or c.span > 1 or c.last_row > c.row]
        texts = [c.text or "" for c in cells]
        if all(any(word in t for t in texts) for word in RULES_HEADER):
            out.append((_rules(grid, r, cells), broken))
            break
        if len(cells) == 1 and cells[0].col == 0 and not cells[0].is_field and cells[0].last_row == r \
                and (cells[0].last_col >= grid.width - 1 or cells[0].span == 1):
            cell = cells[0]
            if cell.bold and not HEADING.match(cell.text or "") and cell.size < 12 and _starts_table(grid, r + 1, explicit):
                caption = cell.text
                r += 1
                continue
            out.append((_text(cell, r, first=not out), broken))
            r += 1
            continue
        if not cells:
            r += 1
            continue
        if _has_fields(grid, r, explicit) and caption is None:
            block, end = _fields_or_list(grid, r, explicit, problems)
            out.append((block, broken))
            r = max(end, r + 1)  # every pass moves on: no workbook can hold the reader in place
            continue
        table, end = _table(grid, r, caption, explicit, problems)
        caption = None
        if table is None:
            problems.append(f"{grid.name}!{r + 1}: 只有文字、没有要填的单元格的一行，未导入：{' | '.join(t for t in texts if t)[:80]}")
            r += 1
            continue
        out.append((table, broken))
        after_table = True
        r = end
    if caption is not None:
        out.append((TextBlock("heading", caption, grid.rows), False))
    return out


def _rules(grid: Grid, row: int, cells: list[Cell]) -> RulesRows:
    header = [c.text or "" for c in cells]
    rows: list[list[Cell | None]] = []
    for r in range(row + 1, grid.rows):
        if grid.is_empty_row(r):
            break
        rows.append([grid.cells.get((r, c)) for c in range(len(header))])
    return RulesRows(header, rows, row)


def _text(cell: Cell, row: int, first: bool) -> TextBlock:
    text = cell.text or ""
    if cell.size >= 14 or (first and cell.bold and not HEADING.match(text)):
        return TextBlock("title", text, row)
    if HEADING.match(text) or cell.bold:
        return TextBlock("heading", text, row)
    return TextBlock("note", text, row, box=cell.border)


def _blank_input(grid: Grid, row: int, col: int, explicit: bool) -> bool:
    """A blank cell taken for an input: only in a workbook that marks none of its inputs."""
    if explicit or (row, col) in grid.covered:
        return False
    cell = grid.cells.get((row, col))
    return cell is None or (cell.text is None and cell.formula is None)


def _has_fields(grid: Grid, row: int, explicit: bool) -> bool:
    cells = grid.row_cells(row)
    if any(c.is_field for c in cells):
        return True
    if explicit or not cells or not cells[0].text:
        return False
    return any(_blank_input(grid, row, c, explicit) for c in range(cells[0].last_col + 1, grid.width)) and \
        not _starts_table(grid, row, explicit)


def _starts_table(grid: Grid, row: int, explicit: bool) -> bool:
    """Header rows (text only, covering their width) followed by a row with something to fill."""
    h = row
    while h < grid.rows and _header_row(grid, h):
        h += 1
    return h > row and h < grid.rows and not grid.is_empty_row(h) and (
        _has_data(grid, h, explicit))


def _header_row(grid: Grid, row: int) -> bool:
    cells = grid.row_cells(row)
    anchors = [c for c in cells if c.text or c.span > 1 or c.last_row > c.row or c.border or c.fill]
    if any(not (c.text or c.fill or c.span > 1 or c.last_row > c.row) for c in anchors):
        return False  # a bordered blank: a cell to fill, not a header
    from_above = sum(1 for c in range(grid.width) if (row, c) in grid.covered and grid.covered[(row, c)][0] < row)
    if not any(c.text for c in anchors) or len(anchors) + from_above < 2:
        return False
    return all((c.text or c.border or c.fill) and not c.is_field for c in anchors) and not any(c.is_field for c in cells)


def _has_data(grid: Grid, row: int, explicit: bool) -> bool:
    return any(c.is_field for c in grid.row_cells(row)) or any(_blank_input(grid, row, c, explicit) for c in range(1, grid.width))


def _fields_or_list(grid: Grid, row: int, explicit: bool, problems: list[str]) -> tuple[Block, int]:
    first = grid.cells.get((row, 0))
    second = grid.cells.get((row, 1))
    if first and first.text and first.last_row > row and first.last_col == 0 and second and second.text and \
            all((c := grid.cells.get((r, 2))) is not None and c.is_field for r in range(row, first.last_row + 1)):
        items = []
        for r in range(row, first.last_row + 1):
            label = grid.cells.get((r, 1))
            items.append((label.text if label and label.text else "", grid.cells[(r, 2)]))
        return ListRows(first.text, items, row), first.last_row + 1
    rows: list[list[Item]] = []
    r = row
    while r == row or (r < grid.rows and not grid.is_empty_row(r) and _has_fields(grid, r, explicit) and not _list_start(grid, r)
                       and r not in grid.breaks):
        rows.append(_field_row(grid, r, explicit, problems))
        r += 1
    return FieldsBlock(rows, row), r


def _list_start(grid: Grid, row: int) -> bool:
    first = grid.cells.get((row, 0))
    return bool(first and first.last_row > row and first.last_col == 0)


def _field_row(grid: Grid, row: int, explicit: bool, problems: list[str]) -> list[Item]:
    items: list[Item] = []
    label: Cell | None = None
    col = 0
    while col < grid.width:
        cell = grid.cells.get((row, col))
        if (row, col) in grid.covered:
            col += 1
            continue
        if cell is not None and cell.is_field:
            items.append(Item(label, cell))
            label = None
        elif cell is not None and cell.text:
            if label is not None:
                problems.append(f"{grid.name}!{label.address}: 标签“{label.text}”后没有要填的单元格，未导入")
            label = cell
        elif label is not None and _blank_input(grid, row, col, explicit):
            cell = cell or Cell(row, col, row, col, None, None, "", False, 11.0, False, "General", True)
            items.append(Item(label, cell, f"空白单元格在“{label.text}”之后"))
            label = None
        col = (cell.last_col + 1) if cell is not None else col + 1
    if label is not None:
        problems.append(f"{grid.name}!{label.address}: 标签“{label.text}”后没有要填的单元格，未导入")
    return items


def _table(grid: Grid, row: int, caption: str | None, explicit: bool, problems: list[str]) -> tuple[TableBlock | None, int]:
    h = row
    while h < grid.rows and _header_row(grid, h):
        h += 1
    if h == row or h >= grid.rows or grid.is_empty_row(h):
        return None, row + 1
    header = [[c for c in grid.row_cells(r) if c.text or c.span > 1 or c.last_row > c.row or c.border or c.fill] for r in range(row, h)]
    width = max(c.last_col for cells in header for c in cells) + 1
    data: list[int] = []
    r = h
    while r < grid.rows and not grid.is_empty_row(r):
        cells = grid.row_cells(r)
        lead = grid.at(r, 0)
        if lead is None or not lead.text or lead.is_field:
            break
        if len(cells) == 1 and cells[0].last_col >= grid.width - 1 and grid.width > 1:
            break
        if _header_row(grid, r) and not _has_data(grid, r, explicit) and (r, 0) not in grid.covered:
            break
        data.append(r)
        r += 1
    if not data:
        return None, row + 1
    label_columns = max(1, min(_lead(grid, d, width) for d in data))
    spans: list[int] = []
    col = label_columns
    while col < width:
        cell = next((grid.cells[(d, col)] for d in data if (d, col) in grid.cells), None)
        span = cell.span if cell is not None else 1
        spans.append(span)
        col += span
    rows = [_trow(grid, d, label_columns, spans, explicit, problems) for d in data]
    _totals(grid, rows, label_columns, spans)
    table = TableBlock(caption, header, h - row, label_columns, spans, rows, row)
    for k in range(len(spans)):
        col = label_columns + sum(spans[:k])
        if all(t.cells[k] is None and k not in t.statics for t in rows) and all(
                (c := grid.cells.get((t.row, col))) is not None and c.border and not c.fill for t in rows):
            table.blank_columns.add(k)
    return table, r + (1 if r < grid.rows and grid.is_empty_row(r) else 0)


def _lead(grid: Grid, row: int, width: int) -> int:
    """Grid columns of labels at the start of a data row: text cells, or a label merged down from above."""
    col = 0
    while col < width:
        cell = grid.at(row, col)
        if cell is None or not cell.text or cell.is_field:
            break
        col = cell.last_col + 1
    return col


def _trow(grid: Grid, row: int, label_columns: int, spans: list[int], explicit: bool, problems: list[str]) -> TRow:
    labels: list[str] = []
    col = 0
    while col < label_columns:
        cell = grid.at(row, col)
        labels.append(cell.text or "" if cell else "")
        col = max(cell.last_col + 1 if cell else col + 1, col + 1)
    lead = grid.at(row, 0)
    first = lead.text or "" if lead else ""
    total = bool(lead and lead.bold and lead.row == row) or bool(TOTAL_LABEL.search(first))
    out = TRow(row, labels, total, [])
    col = label_columns
    for k, span in enumerate(spans):
        cell = grid.cells.get((row, col))
        if cell is not None and cell.is_field:
            out.cells.append(cell)
        elif cell is not None and cell.text:
            out.cells.append(None)
            out.statics[k] = cell.text
        elif _blank_input(grid, row, col, explicit) and not total:
            made = cell or Cell(row, col, row, col + span - 1, None, None, "", False, 11.0, False, "General", True)
            out.cells.append(made)
            out.guessed[k] = "空白单元格在表格内"
        else:
            out.cells.append(None)
        col += span
    return out


def _totals(grid: Grid, rows: list[TRow], label_columns: int, spans: list[int]) -> None:
    """A total row: its label bold (as xlkit prints it), or a SUM of the column's other rows, or 合计/汇总/小计 with a SUM."""
    from .import_formulas import cells_of_sum

    def bold(trow: TRow) -> bool:
        lead = grid.at(trow.row, 0)
        return bool(lead and lead.bold)

    candidates = {t.row for t in rows if t.total or bold(t)}
    for trow in rows:
        detail = {t.row for t in rows if t.row not in candidates and t is not trow}
        sums = keyword_sum = False
        for cell in trow.cells:
            if cell is None or not cell.formula:
                continue
            refs = cells_of_sum(cell.formula)
            keyword_sum = keyword_sum or "SUM(" in cell.formula.upper()
            if refs and all(c == cell.col for _, c in refs) and {r for r, _ in refs} == detail:
                sums = True
        trow.total = bold(trow) or sums or trow.total
