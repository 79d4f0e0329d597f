"""Read cells of an .xlsx package: sheets, defined names, shared strings, formulas.

Only what the template needs is kept; a sheet's declared dimension is never
used. Shared formulas are expanded to each cell's own text.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple
from xml.etree.ElementTree import Element

from ..caches import BoundedDict, memo
from ..errors import FileProblem, FormulaSyntaxError
from ..form.a1 import CELL, MAX_COLS, MAX_ROWS, AddressError, cell_name, col_index, col_letters
from ..form.formula import rewrite_tokens
from .decode import cell_value, scanned_number
from .package import Package, parse_xml
from .scan import ScannedCell, formula_text, scan_sheet, scan_strings, unescape

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
STRICT_NS = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"  # Excel's "Strict Open XML Spreadsheet" format


class RawCell(NamedTuple):
    value: Any  # None, float, str, bool, or an error code string; for an invalid kind, the text as written
    # "n", "s", "b", "e", "str", "empty", or an invalid kind (decode.INVALID): "bad" for a number cell whose text is
    # no number (NaN, INF, 1_000), "bad-string" for a shared-string index that is none, "bad-boolean"
    kind: str
    formula: str | None = None  # without "="


Position = tuple[int, int]
_new_cell: Any = tuple.__new__  # a RawCell made in C: NamedTuple's own __new__ is Python code, and runs per field


@dataclass
class SheetData:
    """One worksheet part as read: its cells keyed (row, col) 0-based, and whether the sheet is protected."""

    cells: Mapping[Position, RawCell]
    protected: bool


class ScannedCells(Mapping[Position, RawCell]):
    """A scanned sheet's cells, each converted when asked for: a form reads about half of what its sheets hold
    (the rest are labels). Holds exactly the cells an eager read would: those with a value or a formula. Kept by
    address as written (the scanner takes only addresses inside the grid, each written one way): a sheet's
    addresses need not all be converted to positions."""

    def __init__(self, found: dict[str, ScannedCell], strings: SharedStrings):
        self._found = found
        self._strings = strings

    def get(self, key: Position, default: Any = None) -> Any:
        cell = self._found.get(_ADDRESSES.get(key) or _address(key))
        if cell is None:
            return default
        _ref, kind, _type, _index, written, text = cell
        if not kind and text:  # a number, the common case (an infinite one is left to cell_value, which says so)
            number = scanned_number(text)
            if number is not None:
                return _new_cell(RawCell, (number, "n", formula_text(written) if written else None))
        value, kind = cell_value(kind or "n", unescape(text) if text else None, self._strings.items)
        formula = formula_text(written) if written else None
        return default if value is None and formula is None else RawCell(value, kind, formula)

    def __getitem__(self, key: Position) -> RawCell:
        found: RawCell | None = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[Position]:
        return (key for key in map(_position, self._found) if key is not None and self.get(key) is not None)

    def __len__(self) -> int:
        return sum(1 for _key in self)


@dataclass(frozen=True)
class SheetInfo:
    name: str
    path: str
    state: str  # visible / hidden / veryHidden


MAX_SHEET_BYTES = 8 * 1024 * 1024  # before the layout is known; a filled form sheet is well under 100 KB


class XlsxReader:
    def __init__(self, package: Package):
        self.package = package
        self.sheet_limits: dict[str, int] = {}  # per sheet, once the layout says how big a form sheet can be
        rels = RELS if RELS in package.names else None
        data, rels_data = package.read("xl/workbook.xml"), package.read(rels) if rels else None
        small = len(data) + len(rels_data or b"") <= MAX_REMEMBERED_PART
        self.workbook = _remembered_workbook(data, rels_data) if small else _workbook(data, rels_data, shared=False)
        self.sheets: Mapping[str, SheetInfo] = self.workbook.sheets
        self.defined_names: Mapping[str, str] = self.workbook.names
        self.shared = SharedStrings(package)
        self._sheets: dict[str, SheetData] = {}

    def cells(self, sheet: str) -> Mapping[Position, RawCell]:
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
        data = self.package.read(info.path, self.sheet_limits.get(sheet, MAX_SHEET_BYTES))
        scanned = scan_sheet(data)
        if scanned is not None:
            return self._scanned_sheet(info, *scanned)
        return self._parsed_sheet(info, parse_xml(info.path, data))

    def _scanned_sheet(self, info: SheetInfo, found: list[ScannedCell], protected: bool) -> SheetData:
        by_address = dict(zip(map(itemgetter(0), found), found, strict=True))
        if len(by_address) == len(found) and not any(map(itemgetter(2), found)):
            # no cell written twice, no shared formula: convert each cell when it is read
            return SheetData(ScannedCells(by_address, self.shared), protected)
        shared: dict[str, tuple[int, int, str]] = {}
        out: dict[tuple[int, int], RawCell] = {}
        for ref, kind, formula_type, shared_index, written, text in found:
            position = _position(ref)
            if position is None:
                raise FileProblem("xml-malformed", f"{info.path} 中单元格地址 r=\"{ref[:20]}\" 无效")
            row, col = position
            formula = _formula(formula_text(written) or None, formula_type, shared_index, row, col, shared)
            value, kind = cell_value(kind or "n", unescape(text) or None, self.shared.items)
            if value is not None or formula is not None:
                out[position] = RawCell(value, kind, formula)
        return SheetData(out, protected)

    def _parsed_sheet(self, info: SheetInfo, root: Element) -> SheetData:
        protection = root.find(f"{NS}sheetProtection")
        protected = protection is not None and protection.get("sheet") in ("1", "true")
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
                v = f = is_el = None
                for part in c:  # one pass over the cell's few children; the first of each counts, as find() would
                    tag = part.tag
                    if tag == V_TAG:
                        v = part if v is None else v
                    elif tag == F_TAG:
                        f = part if f is None else f
                    elif tag == IS_TAG:
                        is_el = part if is_el is None else is_el
                formula = _formula(f.text, f.get("t", ""), f.get("si", ""), row, col, shared) if f is not None else None
                value, kind = cell_value(c.get("t", "n"), v.text if v is not None else None, self.shared.items,
                                         _text_of(is_el) if is_el is not None else None)
                if value is None and formula is None:
                    continue
                out[(row, col)] = RawCell(value, kind, formula)
        return SheetData(out, protected)


class SharedStrings:
    """A workbook's shared strings, read when first asked for. Held apart from the reader: the cells that refer to
    them then do not hold the reader, so no reference cycle keeps a file's data alive once it is checked."""

    def __init__(self, package: Package):
        self.package = package
        self._items: list[str] | None = None

    def items(self) -> list[str]:
        if self._items is None:
            self._items = []
            name = "xl/sharedStrings.xml"
            if name in self.package.names:
                data = self.package.read(name)
                scanned = scan_strings(data)
                self._items = scanned if scanned is not None else [_text_of(si) for si in parse_xml(name, data)]
        return self._items


def _formula(text: str | None, formula_type: str, shared_index: str, row: int, col: int,
             shared: dict[str, tuple[int, int, str]]) -> str | None:
    """A cell's own formula text: a shared formula's master is remembered, its children are translated from it."""
    if formula_type == "shared":
        if text:
            shared[shared_index] = (row, col, text)
        elif shared_index in shared:
            r0, c0, base = shared[shared_index]
            return translate(base, row - r0, col - c0)
    return text


RELS = "xl/_rels/workbook.xml.rels"


@dataclass(frozen=True, eq=False)  # hashed by identity: one per distinct workbook part, shared by the files that have it
class WorkbookPart:
    sheets: Mapping[str, SheetInfo]  # by name, in the workbook's order
    names: Mapping[str, str]  # workbook-wide defined names
    shared: bool = True  # remembered for other files (what is worked out from it may be remembered too)


def _workbook(data: bytes, rels_data: bytes | None, shared: bool = True) -> WorkbookPart:
    """The sheets (name, part, visibility) and the workbook-wide defined names of a workbook part."""
    root = parse_xml("xl/workbook.xml", data)
    if root.tag.startswith(STRICT_NS):
        raise FileProblem("strict-open-xml")
    if rels_data is None:
        raise FileProblem("no-workbook", f"缺少 {RELS}")
    rels: dict[str, str] = {}
    base = posixpath.dirname(posixpath.dirname(RELS))
    for rel in parse_xml(RELS, rels_data):
        target = rel.get("Target", "")
        rels[rel.get("Id", "")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
    sheets: dict[str, SheetInfo] = {}
    sheets_el = root.find(f"{NS}sheets")
    for el in sheets_el if sheets_el is not None else []:
        part = rels.get(el.get(f"{REL_NS}id", ""))
        if part is not None:
            sheets[el.get("name", "")] = SheetInfo(el.get("name", ""), part, el.get("state", "visible"))
    names: dict[str, str] = {}
    names_el = root.find(f"{NS}definedNames")
    for el in names_el if names_el is not None else []:
        if el.get("localSheetId") is None and el.text:
            names[el.get("name", "")] = el.text
    return WorkbookPart(MappingProxyType(sheets), MappingProxyType(names), shared)


# Every unit's file of one form has the same workbook part: parsed once. Only parts of a size forms have are
# remembered, so that hostile files cannot fill a reader's memory (at most 64 of 1 MB).
MAX_REMEMBERED_PART = 1024 * 1024
_remembered_workbook = memo(64)(_workbook)


V_TAG, F_TAG, IS_TAG = f"{NS}v", f"{NS}f", f"{NS}is"


@memo(65536)  # the same few hundred addresses in every file
def _position(ref: str) -> tuple[int, int] | None:
    m = CELL.fullmatch(ref)
    if not m:
        return None
    row, col = int(m.group(2)) - 1, col_index(m.group(1))
    return (row, col) if 0 <= row < MAX_ROWS and 0 <= col < MAX_COLS else None


# the positions a form reads, the same in every file (a table: read per field, where a call would cost)
_ADDRESSES: BoundedDict[Position, str] = BoundedDict("xlkit.intake.xlsx._ADDRESSES", 65536)


def _address(position: Position) -> str:
    try:
        address = cell_name(*position)
    except AddressError:
        return ""  # outside the grid: no cell has it
    return _ADDRESSES.put(position, address)


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
