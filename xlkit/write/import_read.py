"""`spec import`, step 1: an ordinary workbook read into a grid of classified cells (what a person sees: text,
merges, fills, formulas, validations), never trusting or needing anything xlkit wrote into it."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import WorkbookError
from ..form.a1 import cell_name

HIDDEN_SHEETS = {"_xlkit", "_lists"}  # read only through the validations that point at them
MAX_CELLS = 400_000  # per workbook: a form is a few thousand cells; beyond it the rest of a sheet is listed, not read
MAX_ROWS = 20_000
MAX_COLS = 60
INPUT_FILLS = {"FFF2CC", "FFFF00", "FFFF99", "FFFFCC", "FFEB9C", "FFE699", "FFF2CB"}  # the yellows clerks type in
HEADER_FILLS = {"DDEBF7", "BDD7EE", "D9E1F2", "C6E0B4", "D9D9D9", "BFBFBF"}
REQUIRED_CF = re.compile(r"^LEN\(\$?([A-Z]{1,3}\$?[0-9]+)\)=0$")
REQUIRED_IF_CF = re.compile(r"^AND\((.*),LEN\(\$?([A-Z]{1,3}\$?[0-9]+)\)=0\)$")


@dataclass
class Cell:
    row: int
    col: int
    last_row: int
    last_col: int
    text: str | None  # the shown text of a constant (None: empty)
    formula: str | None  # without the leading =
    fill: str
    bold: bool
    size: float
    border: bool
    number_format: str
    locked: bool
    validation: dict[str, Any] | None = None
    required: bool = False
    required_if: str | None = None
    input: bool = False  # marked for typing: input fill, validation or unlocked on a protected sheet

    @property
    def address(self) -> str:
        return cell_name(self.row, self.col)

    @property
    def span(self) -> int:
        return self.last_col - self.col + 1

    @property
    def is_field(self) -> bool:
        return self.formula is not None or self.input


@dataclass
class Grid:
    name: str
    width: int
    rows: int
    widths: list[float]
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # merge anchors and single cells
    covered: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # covered position -> anchor
    orientation: str = "portrait"
    printed: bool = True
    breaks: list[int] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)

    def at(self, row: int, col: int) -> Cell | None:
        """The cell shown at a position: its own, or the merge covering it."""
        anchor = self.covered.get((row, col), (row, col))
        return self.cells.get(anchor)

    def row_cells(self, row: int) -> list[Cell]:
        return [c for col in range(self.width) if (c := self.cells.get((row, col))) is not None]

    def is_empty_row(self, row: int) -> bool:
        return all(not (c.text or c.is_field) and c.last_row == c.row and c.last_col == c.col for c in self.row_cells(row)) \
            and not any((row, col) in self.covered for col in range(self.width))


@dataclass
class Book:
    grids: list[Grid]
    lists: dict[str, list[str]]  # range text of a list validation -> its entries
    problems: list[str]
    explicit_inputs: bool  # the workbook marks its inputs (fill, validation or unlocked): blank cells are not guessed


def _rgb(color: Any) -> str:
    rgb = getattr(color, "rgb", None)
    return rgb[-6:].upper() if isinstance(rgb, str) and len(rgb) >= 6 and getattr(color, "type", "rgb") == "rgb" else ""


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def open_book(path: Path) -> Any:
    """openpyxl, not read-only (merges, fills, validations, protection); macros are never run, links never followed."""
    import openpyxl

    if not path.is_file():
        raise WorkbookError(f"{path}: 文件不存在")
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{path}: 不是 xlsx 工作簿（.xls 等旧格式请先在 Excel/WPS 中另存为 .xlsx）")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                raise WorkbookError(f"{path}: 不是 xlsx 工作簿（缺少 xl/workbook.xml）")
            if sum(info.file_size for info in archive.infolist()) > 200 * 1024 * 1024:
                raise WorkbookError(f"{path}: 解压后超过 200 MB，不像一张表单")
        return openpyxl.load_workbook(path, data_only=False, keep_vba=False, keep_links=False, rich_text=False)
    except WorkbookError:
        raise
    except Exception as exc:  # openpyxl's many errors for a damaged package, told in one line
        raise WorkbookError(f"{path}: 无法读取为 xlsx 工作簿（{type(exc).__name__}）") from None


def read_book(path: Path, only: list[str] | None = None) -> Book:
    wb = open_book(path)
    problems: list[str] = []
    names = [ws.title for ws in wb.worksheets]
    if only:
        missing = [n for n in only if n not in names]
        if missing:
            raise WorkbookError(f"{path}: 没有工作表 {', '.join(missing)}（有 {', '.join(names)}）")
    grids: list[Grid] = []
    budget = MAX_CELLS
    explicit = False
    for ws in wb.worksheets:
        if ws.title in HIDDEN_SHEETS or (only and ws.title not in only):
            continue
        if not only and ws.sheet_state != "visible":
            problems.append(f"{ws.title}: 隐藏的工作表，未导入")
            continue
        grid, budget = _read_sheet(ws, budget, problems)
        if grid is not None:
            grids.append(grid)
            explicit = explicit or any(c.input for c in grid.cells.values())
    if not grids:
        raise WorkbookError(f"{path}: 没有可导入的工作表")
    return Book(grids, _list_sources(wb), problems, explicit)


def _list_sources(wb: Any) -> dict[str, list[str]]:
    """Entries of every range a list validation may name: the hidden list sheets' columns."""
    out: dict[str, list[str]] = {}
    for ws in wb.worksheets:
        if ws.max_row > 2000 or ws.max_column > 200:
            continue
        for index, col in enumerate(ws.iter_cols(min_row=1, max_row=ws.max_row)):
            values = [_shown(c.value) for c in col]
            letter = cell_name(0, index)[:-1]
            for first in (1, 2):
                entries = [v for v in values[first - 1:] if v]
                key = f"{ws.title}!${letter}${first}:${letter}${first + len(entries) - 1}"
                out[key] = entries
    return out


def _read_sheet(ws: Any, budget: int, problems: list[str]) -> tuple[Grid | None, int]:
    rows, cols = ws.max_row, ws.max_column
    if cols > MAX_COLS:
        problems.append(f"{ws.title}: {cols} 列，只读前 {MAX_COLS} 列")
        cols = MAX_COLS
    limit = min(MAX_ROWS, max(budget // max(cols, 1), 0))
    if rows > limit:
        problems.append(f"{ws.title}: {rows} 行，只读前 {limit} 行（其余不像表单的一部分）")
        rows = limit
    if rows == 0:
        return None, budget
    budget -= rows * cols
    protected = bool(ws.protection.sheet)
    widths = [8.43] * cols
    for dim in ws.column_dimensions.values():
        if dim.width and dim.min:
            for c in range(dim.min - 1, min(dim.max or dim.min, cols)):
                widths[c] = round(dim.width, 4)
    widths = [_spec_width(w) for w in widths]
    grid = Grid(ws.title, cols, rows, widths)
    for merged in ws.merged_cells.ranges:
        if merged.min_row > rows or merged.min_col > cols:
            continue
        for r in range(merged.min_row - 1, min(merged.max_row, rows)):
            for c in range(merged.min_col - 1, min(merged.max_col, cols)):
                if (r, c) != (merged.min_row - 1, merged.min_col - 1):
                    grid.covered[(r, c)] = (merged.min_row - 1, merged.min_col - 1)
    spans = {(m.min_row - 1, m.min_col - 1): (min(m.max_row, rows) - 1, min(m.max_col, cols) - 1) for m in ws.merged_cells.ranges}
    validations = _validations(ws, rows, cols)
    required = _required(ws)
    for row in ws.iter_rows(min_row=1, max_row=rows, max_col=cols):
        for cell in row:
            r, c = cell.row - 1, cell.column - 1
            if (r, c) in grid.covered:
                continue
            value = cell.value
            formula = None
            if cell.data_type == "f":
                text = value if isinstance(value, str) else getattr(value, "text", "") or ""
                formula = text[1:] if text.startswith("=") else text
                value = None
            fill = _rgb(cell.fill.fgColor) if cell.fill is not None and cell.fill.fill_type == "solid" else ""
            last_row, last_col = spans.get((r, c), (r, c))
            border = bool(cell.border and cell.border.left and cell.border.left.style)
            text = _shown(value)
            vld = validations.get((r, c))
            got = Cell(r, c, last_row, last_col, text, formula, fill, bool(cell.font and cell.font.b),
                       float(cell.font.sz or 11) if cell.font else 11.0, border, cell.number_format or "General",
                       bool(cell.protection.locked) if cell.protection is not None else True, vld)
            got.required, got.required_if = required.get(cell_name(r, c), (False, None))
            got.input = formula is None and (fill in INPUT_FILLS or vld is not None or (protected and not got.locked))
            if text is None and formula is None and not got.input and (r, c) not in spans and not border and not fill:
                continue
            grid.cells[(r, c)] = got
    for r, dim in ws.row_dimensions.items():
        if dim.height and r - 1 < rows:
            grid.heights[r - 1] = float(dim.height)
    grid.orientation = "landscape" if ws.page_setup.orientation == "landscape" else "portrait"
    area = str(ws.print_area or "")
    grid.printed = not re.fullmatch(r"'?[^!]*'?!\$?[A-Z]+\$?1", area.split(",")[0]) or cols == 0 or \
        _col_of(area) < cols
    grid.breaks = sorted(b.id for b in ws.row_breaks.brk if b.id)
    return grid, budget


def _spec_width(stored: float) -> float:
    """The width to write in a spec so that a build shows the stored width again (xlsxwriter adds its padding)."""
    for guess in (round(stored - 5 / 7, 2), round(stored - 5 / 7, 1), float(round(stored - 5 / 7))):
        if guess > 0 and abs(int((guess * 7 + 5) / 7 * 256) / 256 - stored) < 1 / 256 + 1e-9:
            return int(guess) if float(guess).is_integer() else guess
    return stored


def _col_of(area: str) -> int:
    letters = re.findall(r"!\$?([A-Z]+)", area)
    if not letters:
        return 0
    n = 0
    for ch in letters[0]:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _validations(ws: Any, rows: int, cols: int) -> dict[tuple[int, int], dict[str, Any]]:
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for dv in ws.data_validations.dataValidation:
        options = {"type": dv.type or "any", "operator": dv.operator, "formula1": dv.formula1, "formula2": dv.formula2,
                   "allow_blank": dv.allow_blank, "prompt_title": dv.promptTitle, "prompt": dv.prompt,
                   "error_title": dv.errorTitle, "error": dv.error, "error_style": dv.errorStyle, "first": None}
        for rng in dv.sqref.ranges:
            if (rng.max_row - rng.min_row + 1) * (rng.max_col - rng.min_col + 1) > 100_000:
                continue
            first = cell_name(rng.min_row - 1, rng.min_col - 1)
            for r in range(rng.min_row - 1, min(rng.max_row, rows)):
                for c in range(rng.min_col - 1, min(rng.max_col, cols)):
                    out.setdefault((r, c), {**options, "first": first})
    return out


def _required(ws: Any) -> dict[str, tuple[bool, str | None]]:
    """A built form's highlight of required blanks (LEN(cell)=0), kept as `required`; a bureau form has none."""
    out: dict[str, tuple[bool, str | None]] = {}
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            for text in rule.formula or []:
                match = REQUIRED_CF.match(text)
                if match:
                    out[match.group(1).replace("$", "")] = (True, None)
                match = REQUIRED_IF_CF.match(text)
                if match:
                    out[match.group(2).replace("$", "")] = (False, match.group(1))
    return out
