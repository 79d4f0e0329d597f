"""Excel semantics of values and the worksheet functions the specs may use."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Union

Value = Union[None, float, str, bool, "XlError"]


class XlError(str):
    """An Excel error value such as #VALUE! (a str subclass so it prints as itself)."""


VALUE_ERR = XlError("#VALUE!")
DIV0_ERR = XlError("#DIV/0!")
NUM_ERR = XlError("#NUM!")


def to_number(value: Value) -> float | XlError:
    if type(value) is float:
        return value
    if value is None:
        return 0.0
    if isinstance(value, XlError):
        return value
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return _number_in_text(value)


THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _number_in_text(text: str) -> float | XlError:
    """Text converted where an operator wants a number, as Excel and LibreOffice do: spaces, thousands
    separators and a trailing % are accepted ("1,126.28" + 1 is 1127.28); anything else is #VALUE!."""
    body = text.strip()
    percent = body.endswith("%")
    body = body[:-1].strip() if percent else body
    if THOUSANDS.match(body):
        body = body.replace(",", "")
    if not PLAIN.match(body):
        return VALUE_ERR
    number = float(body) / (100 if percent else 1)
    return number if math.isfinite(number) else NUM_ERR


def to_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.15g}"
    return str(value)


def to_bool(value: Value) -> bool | XlError:
    if isinstance(value, XlError):
        return value
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    upper = value.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    return VALUE_ERR


def excel_round(x: float, digits: int) -> float:
    """Half away from zero on the decimal shown, as Excel does (2.675 -> 2.68): the value is taken at 15 significant
    digits first, as Excel and LibreOffice do, so that 0.6355 × 10 (6.3549999999999995 in binary) rounds to 6.36."""
    if math.isinf(x) or math.isnan(x):
        return x
    if digits >= 0 and type(x) is float and x.is_integer() and -1e15 < x < 1e15:
        return x  # a whole number (a blank is 0) has no decimals to round: a third of a form's ROUNDs
    text = f"{x:.15g}"
    if digits >= 0 and "e" not in text:  # the usual case, done on the digits themselves: as the Decimal path, faster
        whole, _, fraction = text.partition(".")
        if len(fraction) <= digits:
            return float(text)
        kept = int(whole + fraction[:digits]) + (-1 if whole.startswith("-") else 1) * (fraction[digits] >= "5")
        return float(f"{kept}e-{digits}") if kept else (-0.0 if whole.startswith("-") else 0.0)
    digits = max(-400, min(400, digits))
    return float(Decimal(text).quantize(Decimal(1).scaleb(-digits, WIDE), rounding=ROUND_HALF_UP, context=WIDE))


WIDE = Context(prec=1000, Emin=-2000, Emax=2000)  # room for any double at any place: 1e28 rounds, not raises


def _type_rank(value: Value) -> int:
    return 0 if isinstance(value, (int, float)) and not isinstance(value, bool) else 1 if isinstance(value, str) else 2


def compare(op: str, a: Value, b: Value) -> bool | XlError:
    if isinstance(a, XlError):
        return a
    if isinstance(b, XlError):
        return b
    if a is None and b is None:
        a = b = 0.0
    elif a is None:
        a = "" if isinstance(b, str) else False if isinstance(b, bool) else 0.0
    elif b is None:
        b = "" if isinstance(a, str) else False if isinstance(a, bool) else 0.0
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb:
        ka: Any = ra
        kb: Any = rb
    elif ra == 1:
        ka, kb = str(a).lower(), str(b).lower()
    else:
        ka, kb = float(a), float(b)  # type: ignore[arg-type]
    result: bool  # the keys are Any: typed here, not converted (compare runs per comparison)
    if op == "=":
        result = ka == kb
    elif op == "<>":
        result = ka != kb
    elif op == "<":
        result = ka < kb
    elif op == ">":
        result = ka > kb
    elif op == "<=":
        result = ka <= kb
    else:
        result = ka >= kb
    return result


def arith(op: str, a: Value, b: Value) -> Value:
    x, y = to_number(a), to_number(b)
    if isinstance(x, XlError):
        return x
    if isinstance(y, XlError):
        return y
    try:
        if op == "+":
            result = x + y
        elif op == "-":
            result = x - y
        elif op == "*":
            result = x * y
        elif op == "/":
            if y == 0:
                return DIV0_ERR
            result = x / y
        else:
            result = x**y
    except (OverflowError, ZeroDivisionError):
        return NUM_ERR
    if isinstance(result, complex) or not math.isfinite(result):
        return NUM_ERR  # Excel never holds an infinity: an overflow is #NUM!
    return result


# An argument reaches a function as a list of (value, from_reference) pairs, so
# that SUM and friends can ignore text in cells but coerce text typed literally.
Args = list[list[tuple[Value, bool]]]


def _first(arg: list[tuple[Value, bool]]) -> Value:
    return arg[0][0] if len(arg) == 1 else VALUE_ERR


def _numbers(args: Args) -> list[float] | XlError:
    out: list[float] = []
    for arg in args:
        for value, from_ref in arg:
            if isinstance(value, XlError):
                return value
            if from_ref:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out.append(float(value))
            else:
                number = to_number(value)
                if isinstance(number, XlError):
                    return number
                out.append(number)
    return out


def _total(nums: list[float] | XlError) -> Value:
    if isinstance(nums, XlError):
        return nums
    total = 0.0
    for n in nums:  # left to right, as Excel adds
        total += n
    return total if math.isfinite(total) else NUM_ERR


def fn_sum(args: Args) -> Value:
    return _total(_numbers(args))


def fn_min(args: Args) -> Value:
    nums = _numbers(args)
    return nums if isinstance(nums, XlError) else (min(nums) if nums else 0.0)


def fn_max(args: Args) -> Value:
    nums = _numbers(args)
    return nums if isinstance(nums, XlError) else (max(nums) if nums else 0.0)


def fn_average(args: Args) -> Value:
    nums = _numbers(args)
    if isinstance(nums, XlError):
        return nums
    if not nums:
        return DIV0_ERR
    total = fn_sum(args)
    return total / len(nums) if isinstance(total, float) else total


def fn_count(args: Args) -> Value:
    """Numbers in cells, and literals that read as numbers; errors and text in cells are not counted."""
    count = 0
    for arg in args:
        for value, from_ref in arg:
            if from_ref:
                count += isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                count += not isinstance(to_number(value), XlError)
    return float(count)


def fn_counta(args: Args) -> Value:
    """Cells that are not blank (text, "" from a formula, booleans and errors too), and every literal."""
    return float(sum(value is not None or not from_ref for arg in args for value, from_ref in arg))


def fn_countblank(args: Args) -> Value:
    return _countblank_cells([value for arg in args for value, _ in arg])


def fn_round(args: Args) -> Value:
    if len(args) != 2:
        return VALUE_ERR
    x, d = to_number(_first(args[0])), to_number(_first(args[1]))
    if isinstance(x, XlError):
        return x
    if isinstance(d, XlError):
        return d
    return excel_round(x, int(d)) if math.isfinite(d) else NUM_ERR


def _logic(args: Args, combine: Callable[[list[bool]], bool]) -> Value:
    flags: list[bool] = []
    for arg in args:
        for value, from_ref in arg:
            if from_ref and (value is None or (isinstance(value, str) and not isinstance(value, XlError))):
                continue
            flag = to_bool(value)
            if isinstance(flag, XlError):
                return flag
            flags.append(flag)
    return combine(flags) if flags else VALUE_ERR


def fn_abs(args: Args) -> Value:
    x = to_number(_first(args[0]))
    return x if isinstance(x, XlError) else abs(x)


def fn_not(args: Args) -> Value:
    flag = to_bool(_first(args[0]))
    return flag if isinstance(flag, XlError) else not flag


def fn_len(args: Args) -> Value:
    value = _first(args[0])
    return value if isinstance(value, XlError) else float(len(to_text(value)))


def fn_isnumber(args: Args) -> Value:
    value = _first(args[0])
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fn_isblank(args: Args) -> Value:
    return _first(args[0]) is None


def fn_istext(args: Args) -> Value:
    value = _first(args[0])
    return isinstance(value, str) and not isinstance(value, XlError)


def fn_iserror(args: Args) -> Value:
    return isinstance(_first(args[0]), XlError)


def fn_n(args: Args) -> Value:
    value = _first(args[0])
    if isinstance(value, XlError):
        return value
    return float(value) if isinstance(value, (int, float)) else 0.0


def _cell_numbers(values: list[Value]) -> list[float] | XlError:
    """The numbers among values read from cells, as _numbers() takes them: text, booleans and blanks are skipped,
    the first error is the answer."""
    out: list[float] = []
    for value in values:
        if type(value) is float:
            out.append(value)
        elif isinstance(value, XlError):
            return value
        elif isinstance(value, int) and not isinstance(value, bool):
            out.append(float(value))
    return out


def _sum_cells(values: list[Value]) -> Value:
    return _total(_cell_numbers(values))


def _count_cells(values: list[Value]) -> Value:
    return float(sum(1 for v in values if type(v) is float or (isinstance(v, int) and not isinstance(v, bool))))


def _counta_cells(values: list[Value]) -> Value:
    return float(sum(value is not None for value in values))


def _countblank_cells(values: list[Value]) -> Value:
    """Blank cells and empty text, as Excel counts them."""
    return float(sum(value is None or value == "" for value in values))


def _extreme_cells(pick: Callable[[list[float]], float]) -> Callable[[list[Value]], Value]:
    def extreme(values: list[Value]) -> Value:
        nums = _cell_numbers(values)
        return nums if isinstance(nums, XlError) else (pick(nums) if nums else 0.0)
    return extreme


# The same functions when every argument is a cell or a range, taking the cells' values in order: the totals of a
# form, with no (value, from_reference) pairs to build.
CELL_AGGREGATES: dict[str, Callable[[list[Value]], Value]] = {
    "SUM": _sum_cells, "COUNT": _count_cells, "MIN": _extreme_cells(min), "MAX": _extreme_cells(max),
    "COUNTA": _counta_cells, "COUNTBLANK": _countblank_cells}

# IF and IFERROR are lazy, and the criteria functions pair ranges with criteria (`criteria.py`): compile() handles them.
FUNCTIONS: dict[str, Callable[[Args], Value] | None] = {
    "SUM": fn_sum,
    "MIN": fn_min,
    "MAX": fn_max,
    "ROUND": fn_round,
    "AVERAGE": fn_average,
    "COUNT": fn_count,
    "COUNTA": fn_counta,
    "COUNTBLANK": fn_countblank,
    "AND": lambda a: _logic(a, all),
    "OR": lambda a: _logic(a, any),
    "NOT": fn_not,
    "ABS": fn_abs,
    "LEN": fn_len,
    "ISNUMBER": fn_isnumber,
    "ISBLANK": fn_isblank,
    "ISTEXT": fn_istext,
    "ISERROR": fn_iserror,
    "N": fn_n,
    "IF": None,
    "IFERROR": None,
    "COUNTIF": None,
    "COUNTIFS": None,
    "SUMIF": None,
    "SUMIFS": None,
}

