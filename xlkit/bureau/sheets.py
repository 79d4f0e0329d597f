"""Cell formats and small table writers shared by the bureau's workbooks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from xlsxwriter.worksheet import Worksheet

from ..form.formula import compile_formula, parse
from ..form.functions import Value
from ..form.placement import build_layout
from ..write.build import FONT
from ..write.textfit import OPENING, height_for, lines_needed, width_for, wrap

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
    return height_for(max((lines_needed(text, width, BODY_SIZE) for text, width in cells), default=1), BODY_SIZE)


class Formats:
    """The summary's cell formats, made once per workbook."""

    def __init__(self, book: Any, spec: Any):
        self.book = book
        self.base = {"font_name": FONT, "font_size": BODY_SIZE, "border": 1, "border_color": "#808080", "valign": "vcenter"}
        base = self.base
        self.named: dict[str, Any] = {
            "title": book.add_format({"font_name": FONT, "bold": True, "font_size": 14}),
            "title_center": book.add_format({"font_name": FONT, "bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}),
            "note": book.add_format({"font_name": FONT, "font_size": 10, "font_color": "#404040"}),
            "note_bold": book.add_format({"font_name": FONT, "font_size": 10, "bold": True}),
            "header": book.add_format({**base, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}),
            # a header cell over two rows without a merge (constant-memory writing): no line between its halves
            "header_top": book.add_format({**base, "bold": True, "align": "center", "bg_color": "#DDEBF7", "bottom": 0}),
            "header_bottom": book.add_format({**base, "bold": True, "align": "center", "valign": "top", "text_wrap": True,
                                              "bg_color": "#DDEBF7", "top": 0}),
            "text": book.add_format({**base, "text_wrap": True}),
            "center": book.add_format({**base, "align": "center"}),
            "subtotal_text": book.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True}),
            "total_text": book.add_format({**base, "bold": True, "bg_color": "#D9D9D9", "text_wrap": True}),
        }
        self.number_formats = {name: t.number_format or "General" for name, t in spec.types.items()}
        self.spec = spec
        self._field_types: dict[str, str] | None = None

    def __getitem__(self, name: str) -> Any:
        return self.named[name]

    def number(self, kind: str, type_name: str | None, wrap: bool = False) -> Any:
        """A cell of a unit, subtotal or total row, in the type's number format (no type: General); `wrap`: text
        that wraps within the column (a long 实施单位 prints whole)."""
        key = f"{kind}:{type_name}:{wrap}"
        if key not in self.named:
            number_format = self.number_formats.get(type_name, "General") if type_name else "General"
            self.named[key] = self.book.add_format({**self.base, "num_format": number_format, **self._emphasis(kind),
                                                    **({"text_wrap": True} if wrap else {})})
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
            self.named[key] = self.book.add_format({**self.base, "num_format": PERCENT, **self._emphasis(kind)})
        return self.named[key]

    @staticmethod
    def _emphasis(kind: str) -> dict[str, Any]:
        return {"subtotal": {"bold": True, "bg_color": "#F2F2F2"}, "total": {"bold": True, "bg_color": "#D9D9D9"}}.get(kind, {})


PERCENT = "0.00%"


class RecordedSheet:
    """Cells written, remembered so the summary's own formulas are computed here and written with their values."""

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


def write_cell(ws: Worksheet, row: int, col: int, value: Any, cell_format: Any) -> None:
    """A number as a number, nothing as a blank, anything else as text (never a formula, whatever it starts with)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, cell_format)
    elif value is None or value == "":
        ws.write_blank(row, col, None, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)


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
    for r, values in enumerate(rows, start=2):
        values_row(ws, r, values, formats or [fmt["text"]] * len(values), widths)
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


def values_row(ws: Worksheet, row: int, values: list[Any], formats: list[Any], widths: list[float]) -> None:
    """A row of cells, as high as its longest wrapped text."""
    for c, (value, cell_format) in enumerate(zip(values, formats, strict=True)):
        write_cell(ws, row, c, value, cell_format)
    ws.set_row(row, row_height((v, w) for v, w in zip(values, widths, strict=False) if isinstance(v, str)))
