"""The summary's rows, written two ways: the plain path (`PlainRows`, each cell through xlsxwriter) and the fast
path (`FastRows`, each row's XML at once).

In constant-memory mode xlsxwriter keeps the cells of the current row as tuples and writes the row's XML when the
next row begins: some 5 µs a cell, most of the summary's time at ten thousand units. `FastRows` writes a row of
ordinary cells (numbers, blanks, text with no character XML or Excel escapes, each with its format) as the same
bytes at once, and leaves anything else to the plain path: a row holding an unusual value, a row something else
has already written to, a workbook built in memory. It gives formats their style numbers in the order the plain
path does (the cells of each row in order, when the next row begins), and writes the last row of each run the
plain way, so that a style first used there gets its number when xlsxwriter would give it (a sheet's last row is
written when the workbook closes). `tests/test_summary_fast.py` holds the two paths to the same workbook, part by
part. The fast path also stores the workbook at zlib's fastest level (`QuickZipWorkbook`).
"""

from __future__ import annotations

import math
import re
import threading
import zipfile
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

# text written as it is: no control character (Excel's _xHHHH_ escapes), no XML special, no _xHHHH_ (an escape
# written out is escaped again), no white space at either end (xml:space="preserve")
ORDINARY = re.compile(r"(?!\s)(?:[^\x00-\x1f&<>_\ufffe\uffff]|_(?!x[0-9a-fA-F]{4}_))*(?<!\s)")


def write_cell(ws: Worksheet, row: int, col: int, value: Any, cell_format: Any) -> None:
    """A number as a number, nothing as a blank, anything else as text (never a formula, whatever it starts with)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(row, col, value, cell_format)
    elif value is None or value == "":
        ws.write_blank(row, col, None, cell_format)
    else:
        ws.write_string(row, col, str(value), cell_format)


class PlainRows:
    """Rows of cells through xlsxwriter's own writes, each cell as `write_cell` writes it, then the row's height."""

    def __init__(self, ws: Worksheet):
        self.ws = ws

    def row(self, row: int, values: Sequence[Any], formats: Sequence[Any], height: float | None = None) -> None:
        for col, (value, cell_format) in enumerate(zip(values, formats, strict=True)):
            write_cell(self.ws, row, col, value, cell_format)
        if height is not None:
            self.ws.set_row(row, height)

    def close(self) -> None:
        """Nothing held back."""

    def __enter__(self) -> PlainRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if kind is None:
            self.close()


class FastRows(PlainRows):
    """Each row but the last of a run written as XML when the next one is given; the last, on `close`, the plain way.
    Use it as a context around one run of rows: nothing else may write to the sheet in between."""

    def __init__(self, ws: Worksheet):
        super().__init__(ws)
        self.held: tuple[int, Sequence[Any], Sequence[Any], float | None] | None = None
        self.letters: list[str] = []
        self.styles: dict[int, str] = {}  # a format's style attribute once it has its number (formats live with the book)

    def row(self, row: int, values: Sequence[Any], formats: Sequence[Any], height: float | None = None) -> None:
        if self.held is not None:
            held = self.held
            if not self._write(*held):
                super().row(*held)
        self.held = (row, values, formats, height)

    def close(self) -> None:
        if self.held is not None:
            super().row(*self.held)
            self.held = None

    def _write(self, row: int, values: Sequence[Any], formats: Sequence[Any], height: float | None) -> bool:
        """The row's XML, as xlsxwriter's `_write_single_row` writes it; False when the plain path must write it (then
        nothing is written, and what was done is what the plain path's first cell does too)."""
        ws = self.ws
        if len(values) != len(formats) or not values or row < ws.previous_row or ws.table.get(row):
            return False
        if formats[0] is None and (values[0] is None or values[0] == ""):
            return False  # the plain path writes nothing for this cell: the row before goes out at a later one
        while len(self.letters) < len(values):
            self.letters.append(xl_col_to_name(len(self.letters)))
        if row > ws.previous_row:  # the row xlsxwriter holds goes out first, as the plain path's first cell sends it
            ws._write_single_row(row)
        number, letters, table = str(row + 1), self.letters, ws.col_info
        strmax, ordinary, styles = ws.xls_strmax // 2, ORDINARY.fullmatch, self.styles
        cells = []
        last = 0
        # styles are numbered cell by cell, after the row before, as the plain path numbers them
        for col, (value, cell_format) in enumerate(zip(values, formats, strict=True)):
            style = styles.get(id(cell_format))
            if style is None:
                if cell_format is None:
                    if col in table or row in ws.row_info:
                        return False  # a cell without a format takes its column's or row's: left to xlsxwriter
                    style = ""
                else:
                    # numbered for good: a format like an earlier one is given that one's number, every time
                    style = styles[id(cell_format)] = f' s="{cell_format._get_xf_index()}"'
            kind = value.__class__
            if kind is str and value:
                if len(value) > strmax or not ordinary(value):  # long: xlsxwriter may cut it
                    return False
                cells.append(f'<c r="{letters[col]}{number}"{style} t="inlineStr"><is><t>{value}</t></is></c>')
            elif (kind is float or kind is int) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
                if not math.isfinite(value):
                    return False
                cells.append(f'<c r="{letters[col]}{number}"{style}><v>{value:.16G}</v></c>')
            elif value is None or value == "":
                if cell_format is None:  # xlsxwriter writes no blank without a format
                    continue
                cells.append(f'<c r="{letters[col]}{number}"{style}/>')
            else:
                text = str(value)
                if len(text) > strmax or not ordinary(text):
                    return False
                cells.append(f'<c r="{letters[col]}{number}"{style} t="inlineStr"><is><t>{text}</t></is></c>')
            last = col
        ws._check_dimensions(row, 0)
        ws._check_dimensions(row, last)
        if height is not None:
            ws.set_row(row, height)
        ws._write_row(row, None, ws.row_info.get(row))
        cells.append("</row>")
        ws.fh.write("".join(cells))
        ws.previous_row = row + 1  # written: xlsxwriter must not write it again (its height is in row_info)
        return True


# what FastRows reads and calls inside xlsxwriter's worksheet (3.x): without any of them, the plain path
INTERNALS = ("_write_single_row", "_write_row", "_check_dimensions", "fh", "previous_row", "row_info", "col_info", "table", "xls_strmax")


def row_writer(ws: Worksheet, fast: bool) -> PlainRows:
    """The fast path where the sheet is written streaming (constant memory) by an xlsxwriter with the internals it
    writes through, else the plain one (a later xlsxwriter that moved them costs speed, never a wrong workbook)."""
    return FastRows(ws) if fast and ws.constant_memory and all(hasattr(ws, name) for name in INTERNALS) else PlainRows(ws)


class QuickZip(zipfile.ZipFile):
    """zlib's fastest level (1) instead of its default (6): the parts of a summary of ten thousand units (50 MB of
    XML) compress in 0.2 s instead of 0.8, into a file a quarter larger (8.7 MB instead of 6.9); any reader inflates
    either."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **{**kwargs, "compresslevel": 1})


ZIPPING = threading.Lock()  # one workbook at a time stores itself through QuickZip


class QuickZipWorkbook(xlsxwriter.Workbook):  # type: ignore[misc]
    """A workbook stored through `QuickZip`, the fast path; xlsxwriter's own `Workbook` is the plain one (the same
    parts, compressed at zlib's default level). xlsxwriter opens its zip file by the name `ZipFile` of its module:
    while this workbook stores itself, that name is QuickZip (a workbook another thread stores meanwhile would come
    out compressed faster, never different)."""

    def _store_workbook(self) -> None:
        with ZIPPING:
            xlsxwriter.workbook.ZipFile = QuickZip
            try:
                super()._store_workbook()
            finally:
                xlsxwriter.workbook.ZipFile = zipfile.ZipFile


def summary_workbook(path: str, options: dict[str, Any], fast: bool) -> Any:
    """The fast path's workbook where this xlsxwriter opens its zip file as 3.x does, else (or not `fast`) the plain one."""
    quick = fast and getattr(xlsxwriter.workbook, "ZipFile", None) is zipfile.ZipFile and hasattr(xlsxwriter.Workbook, "_store_workbook")
    return (QuickZipWorkbook if quick else xlsxwriter.Workbook)(path, options)
