"""Strict scanners for worksheet and shared-string parts as spreadsheet programs write them: the fast path.

Most of a form sheet's bytes never change from one unit to the next (conditional formats, validations, merged
cells), yet the general XML parser builds all of them into a tree for every file. The scanner splits a part into
its cell data and the frame around it. The cell data is read by a strict grammar, a few regular expressions run
in C. The frame goes through the general parser once per distinct frame and is remembered. The page header, which
carries the unit's name, is checked by its own small grammar and left out of the frame.

Anything the grammar does not account for, byte for byte, returns None and the caller parses the part with the
general parser. A hostile or unusual part is therefore read exactly as before, and gets the same error;
`tests/test_scan.py` holds the two readers to the same result. Shared strings are scanned the same way, whole
(a rich-text or phonetic run sends the part to the general parser).
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import XMLPullParser

from ..errors import FileProblem
from .decode import DOUBLE
from .package import parse_xml

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
OPEN, CLOSE = b"<sheetData>", b"</sheetData>"
MARK = b'<sheetData xlkit-scan="1"/>'  # stands for the cell data in the frame; found again only where it is an element

_UNSAFE = "\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff"  # refused by XML, or changed by its line-end rule
_REFERENCE = "&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});"  # the five entities, characters by number
_TEXT = rf"[^<&{_UNSAFE}]*(?:{_REFERENCE}[^<&{_UNSAFE}]*)*"  # element text as the grammar takes it (an unrolled loop)
_VALUE = rf'="[^"<&{_UNSAFE}]*"'
# Row and cell attributes in the schema's order, each at most once: a duplicate never matches, a reordered set
# goes to the general parser. The row's r is only checked (cells carry their own address).
_ROW_ATTRS = "".join(f"(?: {name}{_VALUE})?" for name in (
    "spans", "s", "customFormat", "ht", "hidden", "customHeight", "outlineLevel", "collapsed", "thickTop", "thickBot",
    "ph", "x14ac:dyDescent"))
_ROW = rf'<row(?: r="[1-9][0-9]{{0,5}}")?{_ROW_ATTRS}'  # rows past 999,999: the general parser checks them
_F_ATTRS = (r'(?: t="(normal|array|shared|dataTable)")?(?: aca="(?:0|1|false|true)")?(?: ref="[A-Z0-9:$]{1,30}")?'
            r'(?: ca="(?:0|1|false|true)")?(?: si="([0-9]{1,9})")?')
# A cell's address, only inside Excel's grid (A1 to XFD1048576): the general parser refuses any other
_GRID_COLUMN = "[A-Z]{1,2}|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D]"
_GRID_ROW = "[1-9][0-9]{0,5}|10[0-3][0-9]{4}|104[0-7][0-9]{3}|1048[0-4][0-9]{2}|10485[0-6][0-9]|104857[0-6]"
_CELL_BODY = r'>(?:<f{attrs}(?:/>|>({text})</f>))?(?:<v>({value})</v>|<v/>)?</c>'
# BODY's cell: a number cell's value only in xsd:double's decimal form (or empty, as xlsxwriter writes a formula's),
# so the fast path's float() never sees '1_000', ' 1 ' or 'NaN' (such a part goes to the general parser, whose
# cell_value says what it is); other types any text
# (the typed cells first: a number cell fails that branch at its first character)
_CELL = (rf'<c r="(?:{_GRID_COLUMN})(?:{_GRID_ROW})"(?: s="[0-9]{{1,9}}")?'
         rf'(?: t="(?:b|d|e|inlineStr|s|str)"(?:/>|{_CELL_BODY.format(attrs=_F_ATTRS, text=_TEXT, value=_TEXT)})'
         rf'|(?: t="n")?(?:/>|{_CELL_BODY.format(attrs=_F_ATTRS, text=_TEXT, value=f"(?:{DOUBLE})?")}))')


def _uncaptured(pattern: str) -> str:
    """The pattern with its groups made non-capturing: a capture inside a repeat costs the matcher dearly."""
    return re.sub(r"(?<!\\)\((?!\?)", "(?:", pattern)


def _possessive(pattern: str) -> str:
    """The pattern with its repeats made possessive (Python 3.11 and later), which saves the matcher its
    bookkeeping for taking back what a repeat took: a third of its time here. The grammar never needs to take
    anything back (each construct starts unlike anything that may follow it), and a possessive pattern matches
    only what the plain one matches, so at worst a part would go to the general parser."""
    if sys.version_info < (3, 11):
        return pattern
    return re.sub(r"(?<!\\)([)\]])([*?+]|\{[0-9]+(?:,[0-9]*)?\})(?![*?+])", r"\1\2+", pattern)  # groups and classes


# The whole cell data, every character accounted for (the text too: no character or entity the XML parser refuses)
BODY = re.compile(_possessive(_uncaptured(rf"(?:{_ROW}(?:/>|>(?:{_CELL})*</row>))*")))
# on a body BODY accounts for: exactly the cells that hold something (what BODY checked is only taken apart here)
CELLS = re.compile(_possessive(r'<c r="([^"]*)"(?: s="[^"]*")?(?: t="([^"]*)")?' + _CELL_BODY.format(
    attrs=r'(?: t="([^"]*)")?(?: aca="[^"]*")?(?: ref="[^"]*")?(?: ca="[^"]*")?(?: si="([^"]*)")?', text="[^<]*",
    value="[^<]*")))
# What BODY leaves to be checked apart, each searched alone (a literal is found several times faster by the regular
# expression engine than by bytes.find, and an alternation of the two ten times slower)
CDATA_END, BY_NUMBER, RICH, AMPERSAND = re.compile(rb"]]>"), re.compile(rb"&#"), re.compile(rb"<r>"), re.compile(rb"&")
BAD_CHAR = re.compile(f"[{_UNSAFE}]")
BAD_ENTITY = re.compile(f"&(?!{_REFERENCE[1:]})")
REFERENCE = re.compile(_REFERENCE)
DECLARATION = re.compile(rb'(?:\xef\xbb\xbf)?(?:<\?xml version="1\.0"(?: encoding="(?:UTF|utf)-8")?'
                         rb'(?: standalone="(?:yes|no)")?\?>)?[ \t\r\n]*<')  # XML's own white space only
HEADER_FOOTER = re.compile(rb'(<headerFooter(?: [A-Za-z]+="[^"<&]*")*>)((?:<(oddHeader|oddFooter|evenHeader|evenFooter|'
                           rb'firstHeader|firstFooter)>[^<]*</\3>)*)</headerFooter>')


_T = rf'<t(?: xml:space="preserve")?>{_TEXT}</t>|<t/>'  # the text as in cells: nothing XML refuses or rewrites
# A run of rich text (a cell with mixed fonts, as LibreOffice and Excel save it): its font, then its text. The font's
# elements are empty, with at most two attributes of different names (a repeated one goes to the XML parser).
_FONT_ELEMENT = rf'<[a-zA-Z]{{1,16}}(?: ([a-zA-Z]{{1,16}})="[^"<&{_UNSAFE}]*"(?: (?!\1=)[a-zA-Z]{{1,16}}="[^"<&{_UNSAFE}]*")?)?/>'
_RUN = rf'<r>(?:<rPr>(?:{_FONT_ELEMENT})*</rPr>)?(?:{_T})</r>'
SHARED_STRINGS = re.compile(_possessive(r'<sst xmlns="http://schemas\.openxmlformats\.org/spreadsheetml/2006/main"(?: count="[0-9]{1,9}")?'
                            rf'(?: uniqueCount="[0-9]{{1,9}}")?>(?:<si>(?:{_T}|(?:{_RUN})+)</si>)*</sst>[ \t\r\n]*'))
STRING_ITEMS = re.compile(r"<si>(.*?)</si>", re.DOTALL)  # on a part SHARED_STRINGS accounts for: each item
PLAIN_ITEMS = re.compile(_possessive(r'<si>(?:<t(?: xml:space="preserve")?>([^<]*)</t>|<t/>)</si>'))  # ... when none has runs
TEXTS = re.compile(r'<t(?: xml:space="preserve")?>([^<]*)</t>')  # within an item: its text, or its runs' texts


# One cell that holds a value or a formula, as written (texts still XML-escaped, '' where absent):
# (ref, type, formula type, shared-formula index, formula, value). A plain tuple: findall makes them in C.
ScannedCell = tuple[str, str, str, str, str, str]


def scan_sheet(data: bytes) -> tuple[list[ScannedCell], bool] | None:
    """The cells that hold something and whether the sheet is protected; None when the part is not in the plain
    shape (the general parser then reads it)."""
    start = data.find(OPEN)
    end = data.find(CLOSE, start)
    if start < 0 or end < 0 or not DECLARATION.match(data):
        return None
    if CDATA_END.search(data, start, end):  # refused in text (searched in the bytes: ASCII in UTF-8 is itself)
        return None
    try:
        body = data[start + len(OPEN):end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not BODY.fullmatch(body) or (BY_NUMBER.search(data, start, end) and not _characters_allowed(body)):
        return None
    frame = _sheet_frame(data, start, end)
    if frame is None:
        return None
    protected, row_prefix = frame
    if not row_prefix and "x14ac:" in body:
        return None  # the one prefixed attribute the grammar takes, undeclared: the general parser refuses it
    return CELLS.findall(body), protected


def scan_strings(data: bytes) -> list[str] | None:
    """The shared strings, in order; None when the part is not a plain list of plain strings."""
    declaration = DECLARATION.match(data)
    if declaration is None:
        return None
    try:
        text = data[declaration.end() - 1:].decode("utf-8")  # from the root's "<"
    except UnicodeDecodeError:
        return None
    if not SHARED_STRINGS.fullmatch(text) or CDATA_END.search(data) or (BY_NUMBER.search(data) and not _characters_allowed(text)):
        return None
    if not RICH.search(data):  # no rich text: each item is one text
        items = PLAIN_ITEMS.findall(text)
        return [unescape(item) for item in items] if AMPERSAND.search(data) else items
    return [unescape("".join(TEXTS.findall(item))) for item in STRING_ITEMS.findall(text)]


def _plain_text(text: str) -> bool:
    """No character XML refuses or rewrites, no reference but the five entities and characters XML allows by
    number, no "]]>" (refused in text)."""
    return not BAD_CHAR.search(text) and ("&" not in text or not BAD_ENTITY.search(text)) and "]]>" not in text \
        and _characters_allowed(text)


def _characters_allowed(text: str) -> bool:
    """Every character given by number (&#10;, as LibreOffice writes a line break) is one XML allows."""
    if "&#" not in text:
        return True
    return all(_allowed(_code(ref)) for ref in REFERENCE.findall(text) if ref.startswith("&#"))


def _code(reference: str) -> int:
    return int(reference[3:-1], 16) if reference.startswith("&#x") else int(reference[2:-1])


def _allowed(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


NAMED = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


def formula_text(text: str) -> str:
    """A scanned formula's text, unescaped: the same few hundred formulas recur in every unit's file, so short ones
    are remembered (at most 16,384 of 256 characters)."""
    if "&" not in text:
        return text
    return _remembered_unescape(text) if len(text) <= 256 else unescape(text)


def unescape(text: str) -> str:
    """XML text of a scanned part, in one pass (so "&amp;lt;" stays "&lt;"); the scanner let only allowed
    references through."""
    if "&" not in text:
        return text
    return REFERENCE.sub(lambda m: NAMED.get(m.group()) or chr(_code(m.group())), text)


def _sheet_frame(data: bytes, start: int, end: int) -> tuple[bool, bool] | None:
    """The frame around a sheet's cell data (see `_frame`): recognised in place when remembered, parsed otherwise.
    The page header's text is left out of the frame (it names the unit, so no two frames would match), but it is
    checked; None when it is not plain or the frame is not as the grammar requires."""
    after = end + len(CLOSE)
    at = data.rfind(b"<headerFooter", after)  # near the end: found from there (another one would stay in the frame)
    if at < 0:
        cut, tag, resume = len(data), b"", len(data)
    else:
        match = HEADER_FOOTER.match(data, at)
        if match is None:
            return None
        try:
            text = match.group(2).decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not _plain_text(text):
            return None
        cut, tag, resume = match.start(), match.group(1) + b"</headerFooter>", match.end()
    head = data[:start]  # a few hundred bytes: the key; the long tail is compared in place, never copied or hashed
    known = _frames.get(head, [])
    for before, known_tag, rest, frame in known:
        if len(before) == cut - after and known_tag == tag and len(rest) == len(data) - resume \
                and data.startswith(before, after) and data.endswith(rest):
            return frame
    before, rest = data[after:cut], data[resume:]
    frame = _frame(head + MARK + before + tag + rest)
    if len(head) + len(before) + len(rest) <= MAX_REMEMBERED:
        if sum(map(len, _frames.values())) >= MAX_FRAMES:
            _frames.clear()  # full (many forms, or hostile parts): start again rather than grow
        _frames.setdefault(head, []).append((before, tag, rest, frame))
    return frame


def _frame(frame: bytes) -> tuple[bool, bool] | None:
    """Whether the sheet is protected and whether the root declares the x14ac prefix; None unless the frame is
    well-formed and the mark is the worksheet's one sheetData element."""
    try:
        root = parse_xml("frame", frame)
    except FileProblem:
        return None
    data = [child for child in root if child.tag == f"{NS}sheetData"]
    if root.tag != f"{NS}worksheet" or len(data) != 1 or data[0].get("xlkit-scan") != "1":
        return None
    protection = root.find(f"{NS}sheetProtection")
    return protection is not None and protection.get("sheet") in ("1", "true"), "x14ac" in _root_prefixes(frame)


# The frames of one form's sheets are the same in every unit's file, so each is parsed once and remembered by the
# bytes before the cell data: (the tail up to the page header's text, the header's tag, the tail after it, what the
# frame says). Only frames of a size forms have are remembered, so that hostile parts cannot fill a reader's memory
# (at most 256 frames of 256 KB).
MAX_REMEMBERED, MAX_FRAMES = 256 * 1024, 256
_frames: dict[bytes, list[tuple[bytes, bytes, bytes, tuple[bool, bool] | None]]] = {}


def _root_prefixes(frame: bytes) -> set[str]:
    """Namespace prefixes declared on the root element (the frame is known to be well-formed and DTD-free)."""
    parser: Any = XMLPullParser(events=("start-ns", "start"))
    parser.feed(frame)
    prefixes: set[str] = set()
    for event, item in parser.read_events():
        if event == "start":
            break
        prefixes.add(item[0])  # start-ns events carry (prefix, uri)
    return prefixes


_remembered_unescape = lru_cache(maxsize=16384)(unescape)
