"""A numeric cell's text as a number: the one decoder of both readers (the scanner's grammar and the XML parser's).

OOXML stores a number cell's value as xsd:double. Python's float() takes much more ('1_000', ' 1 ', 'nan',
'Infinity', '١٢'), and so would put numbers in the totals that Excel shows as #NUM! or calls a corrupt file.
Only the decimal lexical form is a number here, and only when finite; INF and NaN are never a figure.
"""

from __future__ import annotations

import re

# xsd:double's decimal lexical form (its INF and NaN are not figures), ASCII only; the scanner's grammar takes it too
DOUBLE = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_DOUBLE = re.compile(DOUBLE)
_SPECIAL = re.compile(r"([+-]?)(nan|inf|infinity)", re.IGNORECASE)


def cell_number(text: str) -> float | None:
    """The number a numeric cell's text stands for; None when it is not one (the cell then holds an error)."""
    if _DOUBLE.fullmatch(text) is None:
        return None
    number = float(text)
    return number if number - number == 0.0 else None  # 1e999: lexically a double, but infinite


def not_a_number(text: str) -> str:
    """How a clerk is told what a numeric cell holds when it is not a number, in Excel's terms."""
    special = _SPECIAL.fullmatch(text.strip())
    if special is not None and special.group(2).lower() == "nan":
        return "非数字（NaN）"
    if special is not None or _DOUBLE.fullmatch(text) is not None:  # INF, or a double too large for any number
        return "负无穷大" if text.strip().startswith("-") else "无穷大"
    return f"“{text[:40]}{'…' if len(text) > 40 else ''}”（不是数字的写法）"
