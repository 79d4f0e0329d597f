"""A1 cell addresses: columns as letters, rows from 1, sheets quoted; 0-based (row, col) inside xlkit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .functions import Value


@dataclass(frozen=True)
class Ref:
    """A cell or rectangular range, 0-based; sheet None means the formula's own sheet."""

    sheet: str | None
    row: int
    col: int
    row2: int
    col2: int

    @property
    def is_range(self) -> bool:
        return (self.row, self.col) != (self.row2, self.col2)

    def cells(self, own_sheet: str) -> list[tuple[str, int, int]]:
        sheet = self.sheet or own_sheet
        return [(sheet, r, c) for r in range(self.row, self.row2 + 1) for c in range(self.col, self.col2 + 1)]


class SpanGetter:
    """A formula's getter that also reads a range's cells at once, in `Ref.cells`' order (row by row): the summary's
    cell values, whose subtotals sum ten thousand cells each. `tests/test_formula.py` holds it to reading cell by cell."""

    def __call__(self, key: tuple[str, int, int]) -> Value:
        raise NotImplementedError

    def span(self, sheet: str, row: int, col: int, row2: int, col2: int) -> list[Value]:
        return [self((sheet, r, c)) for r in range(row, row2 + 1) for c in range(col, col2 + 1)]


MAX_ROWS = 1_048_576  # Excel's grid: every address from a returned file is checked against it
MAX_COLS = 16_384


class AddressError(ValueError):
    """An address outside Excel's grid (a garbage or hostile reference)."""


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def col_letters(index: int) -> str:
    if not 0 <= index < MAX_COLS:
        raise AddressError(f"第 {index + 1} 列超出了 Excel 的列范围 A..XFD")
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_name(row: int, col: int, absolute: bool = False) -> str:
    if not 0 <= row < MAX_ROWS:
        raise AddressError(f"第 {row + 1} 行超出了 Excel 的行范围 1..{MAX_ROWS}")
    d = "$" if absolute else ""
    return f"{d}{col_letters(col)}{d}{row + 1}"


def quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


CELL = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")


def parse_ref(text: str) -> Ref:
    sheet = None
    if "!" in text:
        sheet_part, text = text.rsplit("!", 1)
        sheet = sheet_part[1:-1].replace("''", "'") if sheet_part.startswith("'") else sheet_part
    parts = text.split(":")
    m1 = CELL.fullmatch(parts[0])
    m2 = CELL.fullmatch(parts[-1])
    if not (m1 and m2 and len(parts) <= 2):
        raise AddressError(f"{text!r} 不是单元格或区域的地址（应如 B5 或 B5:D9）")
    r1, c1 = int(m1.group(2)) - 1, col_index(m1.group(1))
    r2, c2 = int(m2.group(2)) - 1, col_index(m2.group(1))
    for row, col in ((r1, c1), (r2, c2)):
        if not (0 <= row < MAX_ROWS and 0 <= col < MAX_COLS):
            raise AddressError(f"{text!r} 超出了 Excel 工作表的范围（至多 XFD 列、{MAX_ROWS} 行）")
    return Ref(sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))
