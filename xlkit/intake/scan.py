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
from typing import Any
from xml.etree.ElementTree import XMLPullParser

from ..caches import BoundedDict, memo
from ..errors import FileProblem
from . import patterns
from .package import parse_xml

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
OPEN, CLOSE = b"<sheetData>", b"</sheetData>"
MARK = b'<sheetData xlkit-scan="1"/>'  # stands for the cell data in the frame; found again only where it is an element

# The grammar, from patterns.py (each written out there as it runs)
BODY = patterns.compiled(patterns.BODY)
CELLS = patterns.compiled(patterns.CELLS)
SHARED_STRINGS = patterns.compiled(patterns.SHARED_STRINGS)
STRING_ITEMS = patterns.compiled(patterns.STRING_ITEMS, re.DOTALL)
PLAIN_ITEMS = patterns.compiled(patterns.PLAIN_ITEMS)
TEXTS = patterns.compiled(patterns.TEXTS)
DECLARATION = patterns.compiled(patterns.DECLARATION)
HEADER_FOOTER = patterns.compiled(patterns.HEADER_FOOTER)
REFERENCE = patterns.compiled(patterns.REFERENCE)
BAD_CHAR = patterns.compiled(f"[{patterns.UNSAFE}]")
BAD_ENTITY = patterns.compiled(f"&(?!{patterns.REFERENCE[1:]})")
# What BODY leaves to be checked apart, each searched alone (a literal is found several times faster by the regular
# expression engine than by bytes.find, and an alternation of the two ten times slower)
CDATA_END, BY_NUMBER, RICH, AMPERSAND = re.compile(rb"]]>"), re.compile(rb"&#"), re.compile(rb"<r>"), re.compile(rb"&")


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
            text = match.group("parts").decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not _plain_text(text):
            return None
        cut, tag, resume = match.start(), match.group("tag") + b"</headerFooter>", match.end()
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
_frames: BoundedDict[bytes, list[tuple[bytes, bytes, bytes, tuple[bool, bool] | None]]] = BoundedDict("xlkit.intake.scan._frames", MAX_FRAMES)


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


_remembered_unescape = memo(16384)(unescape)
