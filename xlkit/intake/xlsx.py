"""Read cells of an .xlsx package: sheets, defined names, shared strings, formulas.

Only what the template needs is kept; a sheet's declared dimension is never
used. Shared formulas are expanded to each cell's own text.
"""

from __future__ import annotations

import math
import posixpath
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element

from ..errors import FileProblem, FormulaSyntaxError
from ..form.a1 import CELL, MAX_COLS, MAX_ROWS, AddressError, col_index, col_letters
from ..form.formula import rewrite_tokens
from .package import Package

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
STRICT_NS = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"  # Excel's "Strict Open XML Spreadsheet" format
ERROR_CODES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}


@dataclass
class RawCell:
    value: Any  # None, float, str, bool, or an error code string
    kind: str  # "n", "s", "b", "e", "str", "empty"
    formula: str | None = None  # without "="


@dataclass
class SheetData:
    """One worksheet part as read: its cells keyed (row, col) 0-based, and whether the sheet is protected."""

    cells: dict[tuple[int, int], RawCell]
    protected: bool


@dataclass
class SheetInfo:
    name: str
    path: str
    state: str  # visible / hidden / veryHidden


MAX_SHEET_BYTES = 8 * 1024 * 1024  # before the layout is known; a filled form sheet is well under 100 KB


class XlsxReader:
    def __init__(self, package: Package):
        self.package = package
        self.sheet_limits: dict[str, int] = {}  # per sheet, once the layout says how big a form sheet can be
        root = package.xml("xl/workbook.xml")
        if root.tag.startswith(STRICT_NS):
            raise FileProblem("strict-open-xml")
        rels = self._rels("xl/_rels/workbook.xml.rels")
        self.sheets: dict[str, SheetInfo] = {}
        sheets_el = root.find(f"{NS}sheets")
        for el in sheets_el if sheets_el is not None else []:
            rid = el.get(f"{REL_NS}id", "")
            target = rels.get(rid)
            if target is None:
                continue
            self.sheets[el.get("name", "")] = SheetInfo(el.get("name", ""), target, el.get("state", "visible"))
        self.defined_names: dict[str, str] = {}
        names_el = root.find(f"{NS}definedNames")
        for el in names_el if names_el is not None else []:
            if el.get("localSheetId") is None and el.text:
                self.defined_names[el.get("name", "")] = el.text
        self._strings: list[str] | None = None
        self._sheets: dict[str, SheetData] = {}

    def _rels(self, name: str) -> dict[str, str]:
        if name not in self.package.names:
            raise FileProblem("no-workbook", f"缺少 {name}")
        out = {}
        base = posixpath.dirname(posixpath.dirname(name))
        for rel in self.package.xml(name):
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            out[rel.get("Id", "")] = path
        return out

    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = []
            name = "xl/sharedStrings.xml"
            if name in self.package.names:
                for si in self.package.xml(name):
                    self._strings.append(_text_of(si))
        return self._strings

    def cells(self, sheet: str) -> dict[tuple[int, int], RawCell]:
        """Every cell of a sheet as written, keyed (row, col) 0-based."""
        return self.sheet(sheet).cells

    def is_protected(self, sheet: str) -> bool:
        return self.sheet(sheet).protected

    def sheet(self, sheet: str) -> SheetData:
        """A worksheet part, parsed once."""
        if sheet not in self._sheets:
            self._sheets[sheet] = self._read_sheet(sheet)
        return self._sheets[sheet]

    def _read_sheet(self, sheet: str) -> SheetData:
        info = self.sheets[sheet]
        if info.path not in self.package.names:
            raise FileProblem("no-workbook", f"工作表“{sheet}”的数据部件 {info.path} 缺失")
        root = self.package.xml(info.path, self.sheet_limits.get(sheet, MAX_SHEET_BYTES))
        protection = root.find(f"{NS}sheetProtection")
        protected = protection is not None and protection.get("sheet") in ("1", "true")
        strings = None
        shared: dict[str, tuple[int, int, str]] = {}
        out: dict[tuple[int, int], RawCell] = {}
        data = root.find(f"{NS}sheetData")
        row_index = -1
        for row_el in data if data is not None else []:
            r_attr = row_el.get("r")
            if r_attr:
                if not (r_attr.isdigit() and 1 <= int(r_attr) <= MAX_ROWS):
                    raise FileProblem("xml-malformed", f"{info.path} 中行号 r=\"{r_attr[:20]}\" 无效")
                row_index = int(r_attr) - 1
            else:
                row_index += 1
            col_index_ = -1
            for c in row_el:
                ref = c.get("r")
                if ref:
                    position = _position(ref)
                    if position is None:
                        raise FileProblem("xml-malformed", f"{info.path} 中单元格地址 r=\"{ref[:20]}\" 无效")
                    row, col = position
                else:
                    row, col = row_index, col_index_ + 1
                col_index_ = col
                kind = c.get("t", "n")
                v = f = is_el = None
                for part in c:  # one pass over the cell's few children; the first of each counts, as find() would
                    tag = part.tag
                    if tag == V_TAG:
                        v = part if v is None else v
                    elif tag == F_TAG:
                        f = part if f is None else f
                    elif tag == IS_TAG:
                        is_el = part if is_el is None else is_el
                text = v.text if v is not None else None
                formula = None
                if f is not None:
                    formula = f.text
                    if f.get("t") == "shared":
                        si = f.get("si", "")
                        if formula:
                            shared[si] = (row, col, formula)
                        elif si in shared:
                            r0, c0, base = shared[si]
                            formula = translate(base, row - r0, col - c0)
                value: Any
                if kind == "s":
                    if strings is None:
                        strings = self.strings()
                    try:
                        value = strings[int(text or "")]
                    except (ValueError, IndexError):
                        value = None
                elif kind == "inlineStr":
                    value, kind = (_text_of(is_el) if is_el is not None else ""), "s"
                elif kind == "b":
                    value = text in ("1", "true")
                elif kind in ("e", "str"):
                    value = text if text is not None else ""
                elif text is None or text == "":
                    value, kind = None, "empty"
                else:
                    try:
                        value = float(text)
                    except ValueError:
                        value, kind = text, "str"
                    if kind == "n" and not math.isfinite(value):
                        value, kind = text, "str"  # NaN, inf, 1e999: not a number any spreadsheet holds; the check rejects it
                if value is None and formula is None:
                    continue
                out[(row, col)] = RawCell(value, kind, formula)
        return SheetData(out, protected)


V_TAG, F_TAG, IS_TAG = f"{NS}v", f"{NS}f", f"{NS}is"


@lru_cache(maxsize=65536)  # the same few hundred addresses in every file
def _position(ref: str) -> tuple[int, int] | None:
    m = CELL.fullmatch(ref)
    if not m:
        return None
    row, col = int(m.group(2)) - 1, col_index(m.group(1))
    return (row, col) if 0 <= row < MAX_ROWS and 0 <= col < MAX_COLS else None


def _text_of(element: Element) -> str:
    """Concatenate the runs of a string item, leaving out phonetic (rPh) runs."""
    parts: list[str] = []
    for child in element:
        tag = child.tag
        if tag == f"{NS}t":
            parts.append(child.text or "")
        elif tag == f"{NS}r":
            t = child.find(f"{NS}t")
            if t is not None:
                parts.append(t.text or "")
    return "".join(parts)


REF_PART = re.compile(r"(\$?)([A-Z]{1,3})(\$?)([0-9]+)")


def translate(formula: str, drow: int, dcol: int) -> str:
    """Shift the relative references of a shared formula to another cell."""

    def shift(m: re.Match[str]) -> str:
        col = m.group(2) if m.group(1) else col_letters(col_index(m.group(2)) + dcol)  # AddressError off the grid
        row = int(m.group(4)) + (0 if m.group(3) else drow)
        if not 1 <= row <= MAX_ROWS:
            raise AddressError(f"row {row} is outside the grid")
        return f"{m.group(1)}{col}{m.group(3)}{row}"

    def shift_ref(text: str) -> str:
        prefix, _, cells = text.rpartition("!")
        return (prefix + "!" if prefix else "") + REF_PART.sub(shift, cells)

    try:
        return rewrite_tokens(formula, {"ref": shift_ref})
    except FormulaSyntaxError:
        return formula  # not ours to shift; it will not match the template anyway
    except AddressError:
        return "#REF!"  # a child cell left of or above its master: Excel's own answer, and never the template's
