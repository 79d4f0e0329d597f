"""Cell formats and small table writers shared by the bureau's workbooks."""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from ..write.build import FONT
from ..write.textfit import height_for, lines_needed


class Formats:
    """The summary's cell formats, made once per workbook."""

    def __init__(self, book: Any, spec: Any):
        self.book = book
        self.base = {"font_name": FONT, "font_size": 10, "border": 1, "border_color": "#808080", "valign": "vcenter"}
        base = self.base
        self.named: dict[str, Any] = {
            "title": book.add_format({"font_name": FONT, "bold": True, "font_size": 14}),
            "note": book.add_format({"font_name": FONT, "font_size": 9, "font_color": "#595959"}),
            "header": book.add_format({**base, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"}),
            "text": book.add_format({**base, "text_wrap": True}),
            "subtotal_text": book.add_format({**base, "bold": True, "bg_color": "#F2F2F2"}),
            "total_text": book.add_format({**base, "bold": True, "bg_color": "#D9D9D9"}),
        }
        self.number_formats = {name: t.number_format or "General" for name, t in spec.types.items()}

    def __getitem__(self, name: str) -> Any:
        return self.named[name]

    def number(self, kind: str, type_name: str) -> Any:
        """A number cell of a unit, subtotal or total row, in the column type's number format."""
        key = f"{kind}:{type_name}"
        if key not in self.named:
            extra = {"subtotal": {"bold": True, "bg_color": "#F2F2F2"}, "total": {"bold": True, "bg_color": "#D9D9D9"}}.get(kind, {})
            self.named[key] = self.book.add_format({**self.base, "num_format": self.number_formats.get(type_name, "General"), **extra})
        return self.named[key]


def write_cell(ws: Worksheet, row: int, col: int, value: Any, cell_format: Any) -> None:
    """A number as a number, nothing as a blank, anything else as text (never a formula, whatever it starts with)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, cell_format)
    elif value is None or value == "":
        ws.write_blank(row, col, None, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)


def write_table(book: Any, fmt: Formats, name: str, headers: list[tuple[str, int]], rows: list[list[Any]]) -> None:
    ws = book.add_worksheet(name)
    for c, (label, width) in enumerate(headers):
        ws.write_string(0, c, label, fmt["header"])
        ws.set_column(c, c, width)
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            write_cell(ws, r, c, value, fmt["text"])
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def header_row(ws: Worksheet, fmt: Formats, row: int, labels: list[str], widths: list[float]) -> int:
    for c, label in enumerate(labels):
        ws.write_string(row, c, label, fmt["header"])
    ws.set_row(row, height_for(max(lines_needed(label, width) for label, width in zip(labels, widths, strict=False))))
    return row + 1


def values_row(ws: Worksheet, row: int, values: list[Any], formats: list[Any], widths: list[float]) -> None:
    """A row of cells, as high as its longest wrapped text."""
    for c, (value, cell_format) in enumerate(zip(values, formats, strict=True)):
        write_cell(ws, row, c, value, cell_format)
    ws.set_row(row, height_for(max((lines_needed(v, w) for v, w in zip(values, widths, strict=False) if isinstance(v, str)), default=1)))
