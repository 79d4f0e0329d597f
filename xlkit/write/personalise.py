"""Distribution's fast path: a shape's workbook is written once by the plain path (`build._write`), then each unit's
copy is put together from its parts, writing only what differs: the prefilled cells and the formulas that read
them, row heights their texts raise, the page headers, the shared strings, the identity sheet, the document
properties. Every piece a unit changes is written by xlsxwriter's own code on the shape's workbook objects, so a copy
is the workbook the plain path writes for the same unit, part by part (tests/test_personalise.py holds it so).

A shape is what decides the layout and its cells (`shape_key`): row counts, item names (they are row labels), which
prefill keys are given, the issuer (it appears in labels), the constants. The password is the same for a whole run."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from xlsxwriter.core import Core
from xlsxwriter.custom import Custom
from xlsxwriter.sharedstrings import SharedStrings, SharedStringTable
from xlsxwriter.utility import xl_cell_to_rowcol
from xlsxwriter.worksheet import CellStringTuple, Worksheet

from ..form.functions import Value
from ..form.identity import META_SHEET
from ..form.layout import Layout
from ..form.params import BuildParams
from .build import (
    _Styles,
    _Workbook,
    _write,
    cached,
    field_values,
    header_text,
    identity_of,
    set_properties,
    write_cell_value,
)
from .heights import slot_heights, static_heights
from .zipparts import Deflated, Part, write_zip

Key = tuple[int, int, int]  # sheet index, row, column
ROW = re.compile(r'<row r="(\d+)"[^>]*>')
CELL = re.compile(r'<c r="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)
STRING_CELL = re.compile(r'(<c [^>]*t="s"><v>)(\d+)(</v></c>)')
HEADER = re.compile(r"<headerFooter\b.*?</headerFooter>", re.S)
CORE, CUSTOM, STRINGS = "docProps/core.xml", "docProps/custom.xml", "xl/sharedStrings.xml"


def shape_key(params: BuildParams) -> str:
    """Units with the same key share a workbook's layout and cell structure. Which prefill keys are given says
    which identity values are empty too (an empty value is no prefill key), and so which identity cells exist."""
    prefill = {k: v if k == "issuer" else True for k, v in params.prefill.items()}
    return json.dumps([prefill, params.items, params.constants], ensure_ascii=False, sort_keys=True)


class _Logged(dict[int, Any]):
    """A worksheet row that records every cell written, in order: the shared strings' order is the writes' order."""

    def __init__(self, log: list[tuple[Key, Any]] | None, sheet: int, row: int):
        super().__init__()
        self.log, self.sheet, self.row = log, sheet, row

    def __setitem__(self, col: int, cell: Any) -> None:
        if self.log is not None:
            self.log.append(((self.sheet, self.row, col), cell))
        super().__setitem__(col, cell)


class _Rows(defaultdict[int, _Logged]):
    def __init__(self, log: list[tuple[Key, Any]], sheet: int):
        super().__init__()
        self.log, self.sheet = log, sheet

    def __missing__(self, row: int) -> _Logged:
        self[row] = value = _Logged(self.log, self.sheet, row)
        return value


class _RecordingWorkbook(_Workbook):
    """The plain path's workbook, with every cell write recorded."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.log: list[tuple[Key, Any]] = []
        self.styles: _Styles | None = None

    def add_worksheet(self, name: str | None = None, worksheet_class: Any = None) -> Worksheet:
        ws = super().add_worksheet(name, worksheet_class)
        ws.table = _Rows(self.log, len(self.worksheets()) - 1)
        return ws


class _Probe:
    """A shared string table that only remembers the string: a unit's cell is written on the shape's worksheet
    to learn its cell, before its string has an index."""

    def __init__(self) -> None:
        self.string: str | None = None

    def _get_shared_string_index(self, string: str) -> int:
        self.string = string
        return -1


@dataclass
class _Piece:
    """A part of a sheet's XML a unit may change: a cell (`key`), a row's start tag or the page header."""

    kind: str  # "cell", "row", "header"
    key: Key  # (sheet, row, -1) for a row, (sheet, -1, -1) for the header
    text: str  # as the shape's workbook has it
    string: int | None = None  # a string cell's index there


@dataclass
class _Run:
    """About CHUNK characters of a part, compressed apart: a run whose pieces a unit leaves alone is not rewritten."""

    text: str
    pieces: list[str | _Piece]
    keys: frozenset[Key]  # cells and rows (column -1) in it
    strings: frozenset[int]  # the string indices its cells hold
    header: bool


class Shape:
    """One layout's workbook, written once, and how to write it for each of its units."""

    def __init__(self, layout: Layout, values: Mapping[str, Any], password_hash: str, out: Path):
        """Writes the shape's first unit (its `layout` and `values`) to `out` by the plain path and keeps its parts."""
        self.layout, self.password_hash = layout, password_hash
        self.results = field_values(layout, values)
        self.workbook = _write(layout, self.results, out, password_hash, _RecordingWorkbook)
        self.sheets: list[Worksheet] = self.workbook.worksheets()
        for ws in self.sheets:
            for row in ws.table.values():
                row.log = None  # later probes are not writes of the plain path
        self.log = self.workbook.log
        self.last = {key: n for n, (key, _cell) in enumerate(self.log)}  # a cell's final write
        self.final = [self.last[key] == n for n, (key, _cell) in enumerate(self.log)]
        self.base_array: list[str] = self.workbook.str_table.string_array
        self.base_index = set(self.base_array)
        self.base_strings = [self.base_array[cell.string] if _is_string(cell) else None for _key, cell in self.log]
        self.slots = {(index, slot.row, slot.col): slot for index, sheet in enumerate(layout.sheets) for slot in sheet.slots}
        self.meta = next(i for i, ws in enumerate(self.sheets) if ws.name == META_SHEET)
        self.fingerprint = layout.spec.fingerprint()
        self.heights = [static_heights(sheet) for sheet in layout.sheets]
        self.rows: dict[Key, list[Any]] = {}  # the fields in each row
        for key, slot in self.slots.items():
            self.rows.setdefault((key[0], key[1], -1), []).append(slot)
        self.base_heights = self._heights(self.results, self.rows)
        self.si: dict[str, str] = {}  # a string's <si> element
        self.deflated = Deflated()
        with zipfile.ZipFile(out) as archive:
            self.names = archive.namelist()
            self.parts: dict[str, Part] = {name: [(archive.read(name).decode("utf-8"), True)] for name in self.names}
        self.runs = {f"xl/worksheets/sheet{i + 1}.xml": self._cut(i, self.parts[f"xl/worksheets/sheet{i + 1}.xml"][0][0])
                     for i in range(len(self.sheets))}

    def _heights(self, results: Mapping[str, Value], rows: Iterable[Key]) -> dict[Key, float | None]:
        """The height of each of `rows` (None: the default), raised by its fields' texts."""
        out: dict[Key, float | None] = {}
        for key in rows:
            sheet, row, _ = key
            static = self.heights[sheet]
            out[key] = slot_heights(self.layout.sheets[sheet], {row: static[row]} if row in static else {}, results,
                                    self.rows[key]).get(row)
        return out

    def _cut(self, sheet: int, xml: str) -> list[_Run]:
        """A sheet's XML as runs of fixed text and the pieces a unit may change."""
        form = sheet < len(self.layout.sheets)
        found: list[tuple[int, int, _Piece]] = []
        for match in ROW.finditer(xml):
            key = (sheet, int(match.group(1)) - 1, -1)
            if key in self.base_heights:
                found.append((match.start(), match.end(), _Piece("row", key, match.group())))
        for match in CELL.finditer(xml):
            r, c = xl_cell_to_rowcol(match.group(1))
            text = match.group()
            string = STRING_CELL.fullmatch(text)
            if string or (sheet, r, c) in self.slots or sheet == self.meta:
                found.append((match.start(), match.end(), _Piece("cell", (sheet, r, c), text,
                                                                 int(string.group(2)) if string else None)))
        header = HEADER.search(xml) if form else None
        if header:
            found.append((header.start(), header.end(), _Piece("header", (sheet, -1, -1), header.group())))
        found.sort(key=lambda f: f[0])
        runs: list[_Run] = []
        pieces: list[str | _Piece] = []
        size = at = 0

        def close() -> None:
            nonlocal pieces, size
            if pieces:
                cut = [p for p in pieces if isinstance(p, _Piece)]
                runs.append(_Run("".join(p if isinstance(p, str) else p.text for p in pieces), pieces,
                                 frozenset(p.key for p in cut), frozenset(p.string for p in cut if p.string is not None),
                                 any(p.kind == "header" for p in cut)))
            pieces, size = [], 0

        for start, end, piece in found:
            if piece.kind == "header":  # the header alone: every unit rewrites it
                pieces.append(xml[at:start])
                close()
                pieces.append(piece)
                close()
            else:
                pieces += [xml[at:start], piece]
                size += end - at
                if size >= Deflated.CHUNK:
                    close()
            at = end
        pieces.append(xml[at:])
        close()
        return runs

    def parts_for(self, params: BuildParams, values: Mapping[str, Any]) -> dict[str, Part]:
        """The unit's workbook, part by part, as the plain path writes it."""
        results = field_values(self.layout, values, params)
        identity = identity_of(self.layout, self.password_hash, params, self.fingerprint)
        changed: dict[Key, Any] = {}  # a cell of the unit's own: its xlsxwriter cell (a string's index still open)
        texts: dict[Key, str | None] = {}  # the string a changed cell holds, or None
        for key, slot in self.slots.items():
            value, base = results.get(slot.id), self.results.get(slot.id)
            if type(value) is not type(base) or value != base:
                changed[key], texts[key] = self._cell(key, slot, value)
        meta = self.sheets[self.meta]
        for r, (row_key, value) in enumerate(identity.rows()):
            for c, text in ((0, row_key), (1, value)):
                key = (self.meta, r, c)
                changed[key], texts[key] = self._probe(meta, key, meta.write_string, r, c, text)
        written: list[str | None] = list(self.base_strings)  # every string written, in order: the shared strings' order
        for key, held in texts.items():
            written[self.last[key]] = held
        unique = [string for string in dict.fromkeys(written) if string is not None]
        index = {string: i for i, string in enumerate(unique)}
        moved = {i for i, string in enumerate(self.base_array) if index.get(string) != i}
        heights = self._heights(results, {(key[0], key[1], -1) for key in changed if key[0] != self.meta})
        rows = {key for key, height in heights.items() if height != self.base_heights[key]}
        unit_name = str(params.prefill.get("unit_name", ""))
        parts = dict(self.parts)
        for name, runs in self.runs.items():
            parts[name] = [(run.text, True) if not run.header and run.strings.isdisjoint(moved) and run.keys.isdisjoint(changed)
                           and run.keys.isdisjoint(rows)
                           else ("".join(self._render(run.pieces, changed, texts, index, heights, rows, unit_name)), False)
                           for run in runs]
        parts[STRINGS] = [(self._strings(unique, len(written) - written.count(None)), False)]
        set_properties(self.workbook, self.layout.spec, unit_name, identity)
        parts[CORE] = [(_assemble(Core(), "_set_properties", self.workbook.doc_properties), False)]
        if CUSTOM in parts:
            parts[CUSTOM] = [(_assemble(Custom(), "_set_properties", self.workbook.custom_properties), False)]
        return parts

    def write(self, params: BuildParams, values: Mapping[str, Any], out: Path) -> str:
        """The unit's workbook to `out`; returns its content digest (`content_digest`)."""
        parts = self.parts_for(params, values)
        entries = [(name, *self.deflated.compress(parts[name])) for name in self.names]
        write_zip([(name, data, crc, size) for name, data, crc, size, _raw in entries], out)
        digest = hashlib.sha256()
        for name, _data, _crc, _size, raw in sorted(entries):
            if name != CORE:
                digest.update(name.encode())
                digest.update(raw)
        return digest.hexdigest()

    def _strings(self, strings: list[str], count: int) -> str:
        """The shared strings part, as xlsxwriter's SharedStrings writes it: its frame, then each string's element
        (written once per distinct string)."""
        table = SharedStringTable()
        table.count, table.unique_count, table.string_array = count, len(strings), []
        frame = _assemble(SharedStrings(), "string_table", table)
        head, tail = frame.rsplit("</sst>", 1)
        return head + "".join(map(self._si, strings)) + "</sst>" + tail

    def _si(self, string: str) -> str:
        """A string's <si> element; the shape's own strings' are kept."""
        found = self.si.get(string)
        if found is None:
            writer = SharedStrings()
            found = _xml(writer, writer._write_si, string)
            if string in self.base_index:
                self.si[string] = found
        return found

    def _cell(self, key: Key, slot: Any, value: Value) -> tuple[Any, str | None]:
        ws = self.sheets[key[0]]
        if slot.kind == "formula":  # the formula as written, its cached value the unit's
            return ws.table[key[1]][key[2]]._replace(value=cached(value)), None
        fmt = self.log[self.last[key]][1].format
        return self._probe(ws, key, write_cell_value, ws, key[1], key[2], value, fmt)

    def _probe(self, ws: Worksheet, key: Key, write: Callable[..., Any], *args: Any) -> tuple[Any, str | None]:
        """The cell a write makes on the shape's worksheet (which is left as it was) and its string, if any."""
        row = ws.table[key[1]]
        before, probe, strings = row.get(key[2]), _Probe(), ws.str_table
        ws.str_table = probe
        try:
            write(*args)
            cell = row.get(key[2])
        finally:
            ws.str_table = strings
            if before is None:
                row.pop(key[2], None)
            else:
                dict.__setitem__(row, key[2], before)
        return cell, probe.string if _is_string(cell) else None

    def _render(self, pieces: list[str | _Piece], changed: dict[Key, Any], texts: dict[Key, str | None],
                index: dict[str, int], heights: dict[Key, float | None], rows: set[Key], unit_name: str) -> Iterator[str]:
        for piece in pieces:
            if isinstance(piece, str):
                yield piece
                continue
            sheet, row, col = piece.key
            ws = self.sheets[sheet]
            if piece.kind == "cell":
                if piece.key in changed:
                    cell, text = changed[piece.key], texts[piece.key]
                    if text is not None:
                        cell = cell._replace(string=index[text])
                    yield _xml(ws, ws._write_cell, row, col, cell)
                elif piece.string is not None:
                    new = index[self.base_array[piece.string]]
                    yield piece.text if new == piece.string else STRING_CELL.sub(rf"\g<1>{new}\g<3>", piece.text)
                else:
                    yield piece.text
            elif piece.kind == "row":
                yield self._row_tag(ws, row, heights[piece.key], piece.text) if piece.key in rows else piece.text
            else:
                ws.header = ""
                ws.set_header(header_text(unit_name, self.layout.spec.template.title))
                yield _xml(ws, ws._write_header_footer)

    def _row_tag(self, ws: Worksheet, row: int, height: float | None, text: str) -> str:
        """The row's start tag at the unit's height, by xlsxwriter's set_row on the shape's sheet."""
        saved = ws.row_info.get(row)
        spans = re.search(r'spans="([^"]*)"', text)
        try:
            ws.row_info.pop(row, None)
            if height is not None:
                ws.set_row(row, height)
            tag = _xml(ws, ws._write_row, row, spans.group(1) if spans else None, ws.row_info.get(row))
        finally:
            if saved is None:
                ws.row_info.pop(row, None)
            else:
                ws.row_info[row] = saved
        return tag


def _is_string(cell: Any) -> bool:
    return isinstance(cell, CellStringTuple)


def _xml(writer: Any, write: Callable[..., Any], *args: Any) -> str:
    """What an xlsxwriter object's method writes, as text."""
    writer.fh = StringIO()
    write(*args)
    return str(writer.fh.getvalue())


def _assemble(part: Any, setter: str, value: Any) -> str:
    if setter == "string_table":
        part.string_table = value
    else:
        getattr(part, setter)(value)
    part._set_xml_writer(StringIO())
    fh = part.fh
    part._assemble_xml_file()
    return str(fh.getvalue())
