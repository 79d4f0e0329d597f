"""The `formulas` package as the independent oracle for every formula cell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import formulas


def evaluate_with_formulas(path: Path) -> dict[tuple[str, str], Any]:
    """(sheet, cell) -> value as the `formulas` package computes the workbook."""
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    out: dict[tuple[str, str], Any] = {}
    for key, ranges in solution.items():
        if "!" not in key or ":" in key.split("!")[1]:
            continue
        sheet_part, cell = key.rsplit("!", 1)
        sheet = sheet_part.split("]", 1)[1].rstrip("'")
        value = ranges.value[0][0]
        if hasattr(value, "item"):
            value = value.item()
        out[(sheet.upper(), cell.upper())] = value
    return out


def same(a: Any, b: Any) -> bool:
    if a is None or a == "":
        a = 0.0 if isinstance(b, (int, float)) and not isinstance(b, bool) else ""
    if b is None or b == "":
        b = 0.0 if isinstance(a, (int, float)) and not isinstance(a, bool) else ""
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return str(a) == str(b)
