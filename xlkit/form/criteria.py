"""Excel's criteria, as COUNTIF, COUNTIFS, SUMIF and SUMIFS read them (docs/forms.md, "Counting and summing by value").

Why a module of its own: a criterion is a small language ("<>", ">=60", "完全不可能", "a*", "#N/A") whose rules are not
those of the comparison operators (`=A1>0` holds for text, `COUNTIF(A1,">0")` does not), so it is parsed once into a
matcher of one cell's value, cached by the criterion, and the closures and the generated code share it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from itertools import pairwise
from typing import TypeGuard

from ..caches import memo
from .a1 import Ref
from .functions import NUM_ERR, VALUE_ERR, Value, XlError, to_number

Match = Callable[[Value], bool]
OPERATORS = ("<=", ">=", "<>", "<", ">", "=")  # two-letter operators first
ERROR_LITERALS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
ORDER: dict[str, Callable[[object, object], bool]] = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}  # type: ignore[operator]


def _is_number(value: Value) -> bool:
    return type(value) is float or (isinstance(value, int) and not isinstance(value, bool))


def _is_text(value: Value) -> TypeGuard[str]:
    return isinstance(value, str) and not isinstance(value, XlError)


@memo(4096)
def reading(text: str) -> float | bool | XlError | str:
    """What text stands for in a criterion, and in a cell an "=" criterion looks at: a number (as arithmetic reads
    text: "1,000", " 5", "50%"), TRUE or FALSE, an error literal, else the text itself."""
    upper = text.strip().upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    if upper in ERROR_LITERALS:
        return XlError(upper)
    number = to_number(text)
    return number if type(number) is float else text


def _same(value: Value, target: float | bool | XlError) -> bool:
    """The cell holds the target itself: a number equal to a number, the same boolean, the same error."""
    if isinstance(target, XlError):
        return isinstance(value, XlError) and value == target
    if isinstance(target, bool):
        return type(value) is bool and value is target
    return _is_number(value) and value == target


def _equal(target: float | bool | XlError) -> Match:
    """"=" to a number, boolean or error: the cell holds it, or is text that reads as it (Excel counts the text "5"
    for 5; "<>5" still counts that text, as Excel does)."""
    def match(value: Value) -> bool:
        if _same(value, target):
            return True
        if not _is_text(value):
            return False
        read = reading(value)
        return type(read) is type(target) and read == target
    return match


def _pattern(text: str) -> Match:
    """Text equal to text, without regard to case; * and ? are wildcards, ~ takes the next character as it is."""
    if not any(c in text for c in "*?~"):
        lowered = text.lower()
        return lambda value: _is_text(value) and value.lower() == lowered
    parts, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "~" and i + 1 < len(text):
            parts.append(re.escape(text[i + 1]))
            i += 2
            continue
        parts.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    regex = re.compile("".join(parts), re.DOTALL)
    return lambda value: _is_text(value) and regex.fullmatch(value.lower()) is not None


@memo(4096, typed=True)
def criterion(given: Value) -> Match | XlError:
    """The matcher a criterion stands for; an error criterion is the answer of the function."""
    if isinstance(given, XlError):
        return given
    if given is None:
        return _equal(0.0)  # a criterion read from a blank cell is 0 (COUNTIFS' documentation)
    if isinstance(given, bool):
        return _equal(given)
    if not isinstance(given, str):
        return _equal(float(given))
    op = next((o for o in OPERATORS if given.startswith(o)), "")
    operand = given[len(op):]
    if operand == "" and op in ("", "=", "<>"):
        if op == "<>":
            return lambda value: value is not None  # not blank: "" from a formula counts
        if op == "=":
            return lambda value: value is None  # blank only
        return lambda value: value is None or value == ""  # blank, or empty text
    target = reading(operand) if operand else operand
    if _is_text(target):
        if op in ("", "=", "<>"):
            equal = _pattern(operand)
            return (lambda value: not equal(value)) if op == "<>" else equal
        order, lowered = ORDER[op], operand.lower()
        return lambda value: _is_text(value) and order(value.lower(), lowered)
    assert not isinstance(target, str) or isinstance(target, XlError)
    if op in ("", "="):
        return _equal(target)
    if op == "<>":
        return lambda value: not _same(value, target)
    if isinstance(target, XlError):
        return lambda value: False  # errors have no order
    order = ORDER[op]
    if isinstance(target, bool):
        return lambda value: type(value) is bool and order(value, target)
    return lambda value: _is_number(value) and order(value, target)


def _matchers(criteria: list[Value]) -> list[Match] | XlError:
    out: list[Match] = []
    for given in criteria:
        match = criterion(given)
        if isinstance(match, XlError):
            return match
        out.append(match)
    return out


def count_ifs(ranges: list[list[Value]], criteria: list[Value]) -> Value:
    """COUNTIF and COUNTIFS: the cells where every range matches its criterion; errors in the ranges are not counted
    (unless the criterion asks for them) and do not propagate."""
    matchers = _matchers(criteria)
    if isinstance(matchers, XlError):
        return matchers
    if any(len(r) != len(ranges[0]) for r in ranges):
        return VALUE_ERR
    if len(matchers) == 1:
        return float(sum(map(matchers[0], ranges[0])))
    return float(sum(all(m(v) for m, v in zip(matchers, row, strict=True)) for row in zip(*ranges, strict=True)))


def sum_ifs(total: list[Value], ranges: list[list[Value]], criteria: list[Value]) -> Value:
    """SUMIF and SUMIFS: the numbers of `total` where every range matches its criterion; text and booleans there are
    not added, an error there is the answer only where its row matches."""
    matchers = _matchers(criteria)
    if isinstance(matchers, XlError):
        return matchers
    if any(len(r) != len(total) for r in ranges):
        return VALUE_ERR
    result = 0.0
    for i, row in enumerate(zip(*ranges, strict=True)):
        if all(m(v) for m, v in zip(matchers, row, strict=True)):
            value = total[i]
            if _is_number(value):
                result += value  # type: ignore[operator]
            elif isinstance(value, XlError):
                return value
    return result if math.isfinite(result) else NUM_ERR


# ---------------------------------------------------------------- the arguments (checked when a formula is read)

CRITERIA_USAGE = {"COUNTIF": "COUNTIF(range, criterion)", "COUNTIFS": "COUNTIFS(range1, criterion1, range2, criterion2, …)",
                  "SUMIF": "SUMIF(range, criterion, [sum_range])", "SUMIFS": "SUMIFS(sum_range, range1, criterion1, …)"}


def criteria_roles(name: str, count: int) -> str | None:
    """Each argument's role in a criteria function, r(ange), c(riterion) or s(um range); None for a wrong count."""
    if name == "COUNTIF":
        return "rc" if count == 2 else None
    if name == "COUNTIFS":
        return "rc" * (count // 2) if count >= 2 and count % 2 == 0 else None
    if name == "SUMIF":
        return {2: "rc", 3: "rcs"}.get(count)
    return "s" + "rc" * (count // 2) if count >= 3 and count % 2 else None


def list_hint(single_cells: list[bool]) -> str:
    """Why there are too many arguments, when single cells follow each other: how a {table.*.column} reads whose rows
    are not adjacent."""
    if any(a and b for a, b in pairwise(single_cells)):
        return "（行不相邻的 {table.*.column} 是一串单元格，不是一个区域）"
    return ""


def shape(ref: Ref) -> tuple[int, int]:
    return ref.row2 - ref.row + 1, ref.col2 - ref.col + 1
