"""Cell formats and small table writers shared by the bureau's workbooks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from xlsxwriter.worksheet import Worksheet

from ..caches import memo
from ..form.a1 import SpanGetter
from ..form.formula import compile_formula, parse
from ..form.functions import Value
from ..form.placement import build_layout
from ..write.build import FONT
from ..write.textfit import OPENING, capacity, char_units, height_for, lines_needed, width_for, wrap
from .fastrows import FastRows, PlainRows, row_writer

PAPER = {"A4": 9, "A3": 8}  # xlsxwriter's paper codes
PAPER_POINTS = {"A4": (595.0, 842.0), "A3": (842.0, 1191.0)}  # short side, long side
SIDE_MARGINS = 0.8  # inches, left and right together
# A column of width w prints about 7 pt per unit in LibreOffice where Carlito (Calibri's metrics) is missing, 5.25 pt in
# Excel; tables are sized for the wider, so 10 pt text shrinks to no less than 9 pt on paper in any of them.
UNIT_POINTS, MIN_SCALE = 7.3, 0.9  # 7.0 measured; the rest is margin


def page_units(paper: str, columns: int, portrait: bool = False, margins: float = SIDE_MARGINS) -> float:
    """The column widths `columns` columns may add up to across the page: each stored width carries 5/7 of padding."""
    points = PAPER_POINTS[paper][0 if portrait else 1] - margins * 72
    return points / (UNIT_POINTS * MIN_SCALE) - columns * 5 / 7


BODY_SIZE = 10  # pt: the text of every bureau workbook
BRACKETS = re.compile(f"[{re.escape(OPENING)}]")


def broken(text: str, width: float) -> str:
    """A label as printed: one with a bracket pair, broken into lines by `textfit.wrap` (as the form's), so 任务数（个）
    never splits inside its brackets as a renderer left to itself may; any other, as it is (the renderer wraps it)."""
    if not BRACKETS.search(text) or lines_needed(text, width, BODY_SIZE) <= 1:
        return text
    return "\n".join(wrap(text, width, BODY_SIZE))


def label_width(text: str, lines: int, narrowest: float = 6.0) -> float:
    """The narrowest column that holds a label in at most `lines` lines with every bracket pair on one line."""
    width = width_for(text, lines, narrowest, BODY_SIZE)
    while any(line.count("（") != line.count("）") or line.count("(") != line.count(")") for line in wrap(text, width, BODY_SIZE)):
        width += 1.0
    return width


def row_height(cells: Iterable[tuple[str, float]]) -> float:
    """The height that shows each (text, column width) of a row whole at the body size."""
    return height_for(max((lines(text, width) for text, width in cells), default=1), BODY_SIZE)


NARROW, WIDE = char_units("0", BODY_SIZE), char_units("中", BODY_SIZE)


def lines(text: str, width: float) -> int:
    """`lines_needed` at the body size, told without wrapping for a text whose characters fit on one line (wrapping
    ten thousand unit names several times over was a quarter of the summary's time). Fitting here means wrapping
    finds one line too: no partial sum of the widths passes the line's room (the margin is far above rounding)."""
    if "\n" not in text and _units(text) <= capacity(width) - 1e-6:
        return 1
    return lines_needed(text, width, BODY_SIZE)


@memo(1 << 15)  # a unit's name is measured on every sheet that lists it
def _units(text: str) -> float:
    """The width of a line of text at the body size, in column units."""
    kinds = [] if text.isascii() else list(map(unicodedata.east_asian_width, text))
    wide = kinds.count("W") + kinds.count("F")
    return (len(text) - wide) * NARROW + wide * WIDE


class Formats:
    """The summary's cell formats, made once per workbook. Each is given its style number when it is made (not at
    its first cell, xlsxwriter's way), so the numbers do not depend on which sheet is written first or where: the
    sheets written aside (`aside`) use the numbers the workbook already holds."""

    KINDS = ("unit", "subtotal", "total")

    def __init__(self, book: Any, spec: Any, fast: bool = True):
        self.book, self.fast = book, fast
        self.base = {"font_name": FONT, "font_size": BODY_SIZE, "border": 1, "border_color": "#808080", "valign": "vcenter"}
        base = self.base
        self.named: dict[str, Any] = {}
        for name, properties in {
            "title": {"font_name": FONT, "bold": True, "font_size": 14},
            "title_center": {"font_name": FONT, "bold": True, "font_size": 14, "align": "center", "valign": "vcenter"},
            "note": {"font_name": FONT, "font_size": 10, "font_color": "#404040"},
            "note_bold": {"font_name": FONT, "font_size": 10, "bold": True},
            # a note under a list that wraps within its merged cells (审核提示's notes)
            "note_wrapped": {"font_name": FONT, "font_size": BODY_SIZE, "font_color": "#404040", "text_wrap": True, "valign": "top"},
            "header": {**base, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"},
            # a header cell over two rows without a merge (constant-memory writing): no line between its halves
            "header_top": {**base, "bold": True, "align": "center", "bg_color": "#DDEBF7", "bottom": 0},
            "header_bottom": {**base, "bold": True, "align": "center", "valign": "top", "text_wrap": True, "bg_color": "#DDEBF7", "top": 0},
            "text": {**base, "text_wrap": True},
            "center": {**base, "align": "center"},
            "subtotal_text": {**base, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True},
            "total_text": {**base, "bold": True, "bg_color": "#D9D9D9", "text_wrap": True},
        }.items():
            self.named[name] = self._made(properties)
        self.number_formats = {name: t.number_format or "General" for name, t in spec.types.items()}
        self.spec = spec
        self._field_types: dict[str, str] | None = None

    def _made(self, properties: dict[str, Any]) -> Any:
        made = self.book.add_format(properties)
        made._get_xf_index()  # numbered now (a format like an earlier one takes its number)
        return made

    def every_format(self) -> Formats:
        """Every format `number` and `percent` can give, made now: a sheet written aside then makes none."""
        for kind in self.KINDS:
            for type_name in [None, *self.number_formats]:
                for wrapped in (False, True):
                    self.number(kind, type_name, wrapped)
            self.percent(kind)
        return self

    def __getitem__(self, name: str) -> Any:
        return self.named[name]

    def rows(self, ws: Worksheet) -> PlainRows:
        """The writer of a run of rows: the fast path unless the workbook is written the plain way (`fast`)."""
        return row_writer(ws, self.fast)

    def number(self, kind: str, type_name: str | None, wrap: bool = False) -> Any:
        """A cell of a unit, subtotal or total row, in the type's number format (no type: General); `wrap`: text
        that wraps within the column (a long 实施单位 prints whole). Types of one number format share a format."""
        number_format = self.number_formats.get(type_name, "General") if type_name else "General"
        key = f"{kind}:{number_format}:{wrap}"
        if key not in self.named:
            self.named[key] = self._made({**self.base, "num_format": number_format, **self._emphasis(kind), **({"text_wrap": True} if wrap else {})})
        return self.named[key]

    def field_type(self, field_id: str | None) -> str | None:
        """The type a field has in the form (at the default counts), read once per workbook."""
        if self._field_types is None:
            self._field_types = {slot.id: slot.type for slot in build_layout(self.spec).fields.values()}
        return self._field_types.get(field_id) if field_id else None

    def column(self, kind: str, column: Any, wrap: bool = False) -> Any:
        """A summary column's cells: in the type it names, else in its field's own type's format."""
        return self.number(kind, column.type or self.field_type(column.field), wrap)

    def percent(self, kind: str = "unit") -> Any:
        """The summary's own percentage (共性指标, 变动率): whatever types the form defines."""
        key = f"{kind}:%"
        if key not in self.named:
            self.named[key] = self._made({**self.base, "num_format": PERCENT, **self._emphasis(kind)})
        return self.named[key]

    @staticmethod
    def _emphasis(kind: str) -> dict[str, Any]:
        return {"subtotal": {"bold": True, "bg_color": "#F2F2F2"}, "total": {"bold": True, "bg_color": "#D9D9D9"}}.get(kind, {})


PERCENT = "0.00%"


def recorded(value: Any) -> Value:
    """A cell's value as the summary's formulas read it: a number as a float, text as text, nothing as None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None if value is None or value == "" else str(value)


class CellValues(SpanGetter):
    """The cells the summary's own formulas read, by (sheet, row, column): recorded one by one (the plain path), or
    a row at a time as the list it was written from (the fast path: no entry per cell for ten thousand units).
    A subtotal reads its units' cells a column at a time (`span`)."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, int, int], Value] = {}
        self.rows: dict[str, dict[int, Sequence[Any]]] = {}

    def __setitem__(self, key: tuple[str, int, int], value: Value) -> None:
        self.cells[key] = value

    def __call__(self, key: tuple[str, int, int]) -> Value:
        return self.get(key)

    def get(self, key: tuple[str, int, int]) -> Value:
        rows = self.rows.get(key[0])
        values = rows.get(key[1]) if rows is not None else None  # a row recorded whole has no cell recorded apart
        if values is None:
            return self.cells.get(key)
        if key[2] >= len(values):
            return None
        value = values[key[2]]
        return value if value.__class__ is float else recorded(value)  # most are figures

    def span(self, sheet: str, row: int, col: int, row2: int, col2: int) -> list[Value]:
        if col != col2:
            return super().span(sheet, row, col, row2, col2)
        rows, cells, out = self.rows.get(sheet, {}), self.cells, []
        for r in range(row, row2 + 1):  # a column of unit rows: what `get` does for each, without a call each
            values = rows.get(r)
            if values is None:
                out.append(cells.get((sheet, r, col)))
            elif col < len(values):
                value = values[col]
                out.append(value if value.__class__ is float else recorded(value))
            else:
                out.append(None)
        return out

    def record_row(self, sheet: str, row: int, values: Sequence[Any], whole: bool) -> None:
        if whole:
            self.rows.setdefault(sheet, {})[row] = values
            return
        for col, value in enumerate(values):
            if (cell := recorded(value)) is not None:
                self.cells[(sheet, row, col)] = cell

    def column(self, sheet: str, col: int, first: int, last: int) -> list[Value]:
        """The values of one column's rows first to last (blanks left out), in no particular order."""
        found = [v for (s, r, c), v in self.cells.items() if s == sheet and c == col and first <= r <= last]
        rows = self.rows.get(sheet, {})
        return found + [cell for r, values in rows.items() if first <= r <= last and col < len(values)
                        and (cell := recorded(values[col])) is not None]


class RecordedSheet:
    """Cells written, remembered so the summary's own formulas are computed here and written with their values."""

    def __init__(self, ws: Worksheet, name: str, values: CellValues):
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

    def row(self, writer: PlainRows, row: int, values: Sequence[Any], formats: Sequence[Any], height: float) -> None:
        """A row of cells as `number` writes each, through a row writer; recorded whole on the fast path."""
        writer.row(row, values, formats, height)
        self.values.record_row(self.name, row, values, isinstance(writer, FastRows))

    def formula(self, row: int, col: int, text: str, fmt: Any = None) -> Value:
        value = compile_formula(parse(text), self.name)(self.values)
        self.ws.write_formula(row, col, "=" + text, fmt, value)
        self.values[(self.name, row, col)] = value
        return value


def write_table(book: Any, fmt: Formats, name: str, title: str, headers: list[tuple[str, float]], rows: list[list[Any]],
                hidden: int = 0, formats: list[Any] | None = None) -> None:
    """A titled, filterable list that prints: rows as high as their wrapped text; the last `hidden` columns are for
    machines (field ids, codes) and neither show nor print. `formats`: one per column (default: wrapped text)."""
    ws = book.add_worksheet(name)
    widths = [w for _label, w in headers]
    shown = len(headers) - hidden
    if shown > 1:
        ws.merge_range(0, 0, 0, shown - 1, title, fmt["title_center"])
    else:
        ws.write_string(0, 0, title, fmt["title"])
    ws.set_row(0, 24)
    for c, width in enumerate(widths):
        ws.set_column(c, c, width, None, {"hidden": c >= shown})
    header_row(ws, fmt, 1, [label for label, _w in headers], widths)
    with fmt.rows(ws) as writer:
        for r, values in enumerate(rows, start=2):
            writer.row(r, values, formats or [fmt["text"]] * len(values), values_height(values, widths))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(len(rows) + 1, 2), len(headers) - 1)
    print_setup(ws, name, (len(rows) + 1, shown - 1), repeat=1)


def print_setup(ws: Worksheet, name: str, last: tuple[int, int], paper: str = "A4",
                repeat: tuple[int, int] | int | None = None) -> None:
    """Landscape, one page wide, the header rows on every page, the sheet's name and page number at the foot.
    The print area ends at `last` (row, column): text overflowing from a note or a hidden cell would otherwise
    widen the page and shrink the print."""
    ws.print_area(0, 0, *last)
    ws.set_landscape()
    ws.set_paper(PAPER[paper])
    ws.set_margins(left=SIDE_MARGINS / 2, right=SIDE_MARGINS / 2, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.fit_to_pages(1, 0)
    if repeat is not None:
        ws.repeat_rows(*(repeat if isinstance(repeat, tuple) else (repeat,)))
    ws.set_footer(f"&C{name} 第 &P 页，共 &N 页")


def header_row(ws: Worksheet, fmt: Formats, row: int, labels: list[str], widths: Sequence[float]) -> int:
    for c, label in enumerate(labels):
        ws.write_string(row, c, broken(label, widths[c]) if c < len(widths) else label, fmt["header"])
    ws.set_row(row, row_height(zip(labels, widths, strict=False)))
    return row + 1


def values_height(values: Sequence[Any], widths: Sequence[float]) -> float:
    """A row of cells as high as its longest wrapped text."""
    return row_height((v, w) for v, w in zip(values, widths, strict=False) if isinstance(v, str))
