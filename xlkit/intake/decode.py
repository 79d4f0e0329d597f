"""A cell's stored text as a value: the one decoder of both readers (the scanner's grammar and the XML parser's).

Each cell type's text has one reading here, whichever reader found it:
- a number (t="n" or no type) is xsd:double's decimal lexical form, and finite. Python's float() takes much more
  ('1_000', ' 1 ', 'nan', 'Infinity', '١٢'), and so would put numbers in the totals that Excel shows as #NUM! or
  calls a corrupt file;
- a shared string (t="s") is an index into the workbook's strings: ASCII digits, in range;
- a boolean (t="b") is 0, 1, false or true;
- an inline string, a formula's text result (t="str") and an error (t="e") are their text; a date (t="d", ISO 8601,
  which Excel writes only on request) is read as text, as a date field reads a date typed as text.
A stored text that is none of these is kept as written with an invalid kind ("bad" for a number, "bad-string",
"bad-boolean"): an issue on its cell, never a value guessed for it (a garbage index is not an empty cell, nor is a
boolean holding 2 FALSE). An absent or empty text is an empty cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from . import patterns

_DOUBLE = patterns.compiled(patterns.DOUBLE)  # xsd:double's decimal form, as the scanner's grammar takes it
_SPECIAL = re.compile(r"([+-]?)(nan|inf|infinity)", re.IGNORECASE)
_INDEX = re.compile(r"[0-9]{1,9}")  # a shared string's index as spreadsheets write it (no sign, space or other digits)
BOOLEANS = {"1": True, "true": True, "0": False, "false": False}
INVALID = {"bad": "数字", "bad-string": "共享文本", "bad-boolean": "逻辑值"}  # invalid kind -> the cell type, for a person


def finite(number: float) -> bool:
    """The one finiteness test (inf - inf and nan - nan are NaN, which equals nothing): 1e999 is lexically a double."""
    return number - number == 0.0


def cell_number(text: str) -> float | None:
    """The number a numeric cell's text stands for; None when it is not one (the cell then holds an error)."""
    if _DOUBLE.fullmatch(text) is None:
        return None
    number = float(text)
    return number if finite(number) else None


def scanned_number(text: str) -> float | None:
    """`cell_number` for text the scanner's grammar took as a number: its lexical form is known (BODY takes only
    DOUBLE), so only finiteness is left to test."""
    number = float(text)
    return number if finite(number) else None


def cell_value(cell_type: str, text: str | None, strings: Callable[[], Sequence[str]], inline: str | None = None) -> tuple[Any, str]:
    """A cell's value as written, and its kind, from its type attribute, its <v> text (unescaped) and, for an
    inline string, the text of its <is>; `strings` gives the shared strings, read only when a cell refers to them."""
    if cell_type == "n" and text:  # the common case first
        number = cell_number(text)
        return (number, cell_type) if number is not None else (text, "bad")  # NaN, INF, 1e999, 1_000
    if cell_type == "inlineStr":
        return (inline if inline is not None else ""), "s"
    if cell_type in ("e", "str"):
        return (text if text is not None else ""), cell_type
    if not text:
        return None, "empty"
    if cell_type == "s":
        items = strings()
        return (items[int(text)], "s") if _INDEX.fullmatch(text) and int(text) < len(items) else (text, "bad-string")
    if cell_type == "b":
        value = BOOLEANS.get(text)
        return (value, "b") if value is not None else (text, "bad-boolean")
    if cell_type == "d":
        return text, "str"
    number = cell_number(text)  # a type no spreadsheet writes: a number when it is one, else its text
    return (number, "n") if number is not None else (text, "str")


def invalid_text(kind: str, text: str) -> str:
    """How a clerk is told what a cell of an invalid kind holds, in Excel's terms."""
    if kind == "bad":
        return not_a_number(text)
    shown = f"“{text[:40]}{'…' if len(text) > 40 else ''}”"
    if kind == "bad-string":
        return f"{shown}（共享文本编号无效，文件已损坏）"
    return f"{shown}（逻辑值只能是 TRUE 或 FALSE）"


def not_a_number(text: str) -> str:
    """How a clerk is told what a numeric cell holds when it is not a number, in Excel's terms."""
    special = _SPECIAL.fullmatch(text.strip())
    if special is not None and special.group(2).lower() == "nan":
        return "非数字（NaN）"
    if special is not None or _DOUBLE.fullmatch(text) is not None:  # INF, or a double too large for any number
        return "负无穷大" if text.strip().startswith("-") else "无穷大"
    return f"“{text[:40]}{'…' if len(text) > 40 else ''}”（不是数字的写法）"
