"""Python-side rules of a value type: what a field accepts, shared by fill and check."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .spec import Spec, ValueType


class ValueProblem(ValueError):
    """A value that does not fit its type; the message is for a clerk (Chinese)."""


def _decimals(number: float) -> int:
    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_number(number: float, vtype: ValueType) -> float | int:
    if vtype.base == "integer":
        if not float(number).is_integer():
            raise ValueProblem(f"应为整数，实为 {number}")
        number = int(number)
    if vtype.min is not None and number < vtype.min:
        raise ValueProblem(f"不能小于 {vtype.min:g}，实为 {number}")
    if vtype.max is not None and number > vtype.max:
        raise ValueProblem(f"不能大于 {vtype.max:g}，实为 {number}")
    if vtype.decimals is not None and vtype.base == "number" and _decimals(float(number)) > vtype.decimals:
        raise ValueProblem(f"最多 {vtype.decimals} 位小数，实为 {number}")
    return number


def check_text(text: str, vtype: ValueType, spec: Spec) -> str:
    if vtype.max_length is not None and len(text) > vtype.max_length:
        raise ValueProblem(f"不超过 {vtype.max_length} 个字，实为 {len(text)} 个字")
    if vtype.pattern and not re.fullmatch(vtype.pattern, text):
        raise ValueProblem(f"格式不正确：{text!r}")
    if vtype.choices and text not in spec.lists[vtype.choices]:
        raise ValueProblem(f"应为 {'/'.join(spec.lists[vtype.choices])} 之一，实为 {text!r}")
    return text


def coerce_fill_value(value: Any, vtype: ValueType, spec: Spec) -> Any:
    """Fill data is typed by the person writing it: numbers as numbers (or plain numeric text from CSV)."""
    if value is None or value == "":
        return None
    if vtype.base in ("number", "integer"):
        if isinstance(value, bool):
            raise ValueProblem(f"应为数字，实为 {value!r}")
        if isinstance(value, str):
            try:
                number = float(Decimal(value.strip()))
            except InvalidOperation:
                raise ValueProblem(f"应为数字，实为 {value!r}") from None
        elif isinstance(value, (int, float)):
            number = float(value)
        else:
            raise ValueProblem(f"应为数字，实为 {value!r}")
        return check_number(number, vtype)
    if not isinstance(value, str):
        raise ValueProblem(f"应为文字（字符串），实为 {value!r}")
    return check_text(value, vtype, spec)
