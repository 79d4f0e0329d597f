"""Python-side rules of a value type: what a field accepts, shared by fill and check."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import ValueProblem
from .spec import Spec, ValueType


def _decimals(number: float) -> int:
    """Decimal places of the shortest text that reads back as the number (12.0: none, 0.1 + 0.2: seventeen)."""
    text = repr(float(number))
    if text.isascii() and text.replace(".", "", 1).lstrip("-").isdigit():  # plain digits: counted as written
        return 0 if text.endswith(".0") else len(text) - text.index(".") - 1
    exponent = Decimal(text).normalize().as_tuple().exponent  # 1e-07, inf, nan
    return max(0, -exponent) if isinstance(exponent, int) else 0


def plain_number(number: float) -> float | int:
    """12.0 shown as 12: how a clerk typed it."""
    return int(number) if float(number).is_integer() else number


def check_number(number: float, vtype: ValueType) -> float | int:
    if vtype.base == "integer":
        if not float(number).is_integer():
            raise ValueProblem("not-integer", f"应为整数，实为 {number}", number, None)
        number = int(number)
    if vtype.min is not None and number < vtype.min:
        raise ValueProblem("below-min", f"不能小于 {vtype.min:g}，实为 {number}", plain_number(number), plain_number(vtype.min))
    if vtype.max is not None and number > vtype.max:
        raise ValueProblem("above-max", f"不能大于 {vtype.max:g}，实为 {number}", plain_number(number), plain_number(vtype.max))
    if vtype.decimals is not None and vtype.base == "number" and _decimals(float(number)) > vtype.decimals:
        raise ValueProblem("too-many-decimals", f"最多 {vtype.decimals} 位小数，实为 {number}", number, vtype.decimals)
    return number


def check_text(text: str, vtype: ValueType, spec: Spec) -> str:
    if vtype.max_length is not None and len(text) > vtype.max_length:
        raise ValueProblem("too-long", f"不超过 {vtype.max_length} 个字，实为 {len(text)} 个字", len(text), vtype.max_length)
    if vtype.pattern and not re.fullmatch(vtype.pattern, text):
        raise ValueProblem("bad-format", f"格式不正确：{text!r}", text, None)
    if vtype.choices and text not in spec.lists[vtype.choices]:
        choices = "/".join(spec.lists[vtype.choices])
        raise ValueProblem("not-in-list", f"应为 {choices} 之一，实为 {text!r}", text, choices)
    return text


EXCEL_EPOCH = date(1899, 12, 30)  # serial 0 of the 1900 date system, as seen by every date after 1900-03-01
DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
TRUE_TEXT = {"true", "是", "1", "yes", "y", "√"}
FALSE_TEXT = {"false", "否", "0", "no", "n", "×"}


def date_from_text(text: str) -> date | None:
    """2019-12-31, 2019/12/31, 2019.12.31 or 2019年12月31日; None when it is not one of those."""
    m = DATE_TEXT.match(unicodedata.normalize("NFKC", text).strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def date_from_serial(serial: float) -> date | None:
    if not 1 <= serial < 2958466:  # up to 9999-12-31
        return None
    return EXCEL_EPOCH + timedelta(days=int(serial))


def date_serial(value: date) -> float:
    return float((value - EXCEL_EPOCH).days)


def boolean_from_text(text: str) -> bool | None:
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return True if folded in TRUE_TEXT else False if folded in FALSE_TEXT else None


def is_choice(value: Any, vtype: ValueType, spec: Spec) -> bool:
    """A number type with `choices` takes a number or one of those words (定性 indicators: 达成 / 基本达成 / 未达成)."""
    return isinstance(value, str) and vtype.base != "text" and vtype.choices is not None and value in spec.lists[vtype.choices]


def coerce_fill_value(value: Any, vtype: ValueType, spec: Spec) -> Any:
    """Fill data is typed by the person writing it: numbers as numbers (or plain numeric text from CSV)."""
    if value is None or value == "":
        return None
    if vtype.base == "date":
        if isinstance(value, date):
            return value
        parsed = date_from_text(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValueProblem("not-a-date", f"应为日期（如 2019-12-31），实为 {value!r}", value)
        return parsed
    if vtype.base == "boolean":
        flag = value if isinstance(value, bool) else boolean_from_text(value) if isinstance(value, str) else None
        if flag is None:
            raise ValueProblem("not-a-boolean", f"应为 是/否，实为 {value!r}", value)
        return flag
    if vtype.base in ("number", "integer"):
        if is_choice(value, vtype, spec):
            return value
        if isinstance(value, bool):
            raise ValueProblem("not-a-number", f"应为数字，实为 {value!r}", value)
        if isinstance(value, str):
            try:
                number = float(Decimal(value.strip()))
            except InvalidOperation:
                raise ValueProblem("not-a-number", f"应为数字，实为 {value!r}", value) from None
        elif isinstance(value, (int, float)):
            number = float(value)
        else:
            raise ValueProblem("not-a-number", f"应为数字，实为 {value!r}", value)
        return check_number(number, vtype)
    if not isinstance(value, str):
        raise ValueProblem("wrong-type", f"应为文字（字符串），实为 {value!r}", value)
    return check_text(value, vtype, spec)


THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def number_from_text(text: str, vtype: ValueType) -> float | None:
    """Read a number a clerk typed as text, when it reads one way only; None when it does not.

    Accepted: surrounding spaces, full-width digits, thousands separators in
    groups of three, and the column's own unit as a suffix ("12.5万元" in 万元).
    """
    normal = unicodedata.normalize("NFKC", text).strip().replace("\u3000", "").replace(" ", "")
    if vtype.unit and normal.endswith(vtype.unit):
        normal = normal[: -len(vtype.unit)].strip()
    if THOUSANDS.match(normal):
        normal = normal.replace(",", "")
    if not PLAIN_NUMBER.match(normal):
        return None
    return float(Decimal(normal))
