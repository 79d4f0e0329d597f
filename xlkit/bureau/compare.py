"""上年对比: this year's main figures beside last year's, unit by unit, with the rate of change and the unit's
说明 where the change is beyond what the spec's rule allows."""

from __future__ import annotations

from typing import Any

from ..form.functions import Value
from ..form.placement import build_layout
from ..intake.catalogue import rule_code
from .consolidate import Consolidation
from .sheets import Formats, write_table

# widths sum to one A4 landscape page at full size (as the other lists): names on one line, 说明 wraps
COLUMNS = [("单位编码", 10.0), ("单位名称", 18.0), ("主管部门", 19.0), ("指标", 14.0), ("上年数", 10.0), ("本年数", 10.0), ("变动率", 8.0),
           ("超出幅度的说明", 21.0)]


def change_rate(current: Value, previous: Value) -> float | None:
    """(本年 − 上年) / 上年; none when either is missing or last year's is zero."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (current, previous)) or not previous:
        return None
    return float(current) / float(previous) - 1  # type: ignore[arg-type]


def compare_rows(consolidation: Consolidation) -> list[list[Any]]:
    spec = consolidation.spec
    frame = consolidation.frame
    by_code = {f.unit_code: f for f in consolidation.included}
    rows = []
    for record in frame.to_dict("records"):
        code = str(record["unit_code"])
        last_year = consolidation.previous.get(code, {})
        issues = by_code[code].issues if code in by_code else []
        for figure in spec.previous.figures:
            current, previous = _number(record.get(figure.field)), _number(last_year.get(figure.field))
            flagged = [i for i in issues if figure.rule and i.code == rule_code(figure.rule)]
            note = (flagged[0].explanation or "（未说明）") if flagged else ""
            rows.append([code, record["unit_name"], record["department"], figure.label, previous, current,
                         change_rate(current, previous), note])
    return rows


def compare_sheet(book: Any, fmt: Formats, consolidation: Consolidation) -> None:
    spec = consolidation.spec
    fields = build_layout(spec).fields
    numbers = [fmt.number("unit", fields[f.field].type) for f in spec.previous.figures[:1]]
    ratio = fmt.percent()  # 变动率: the summary's own percentage
    formats = [fmt["text"]] * 4 + [numbers[0] if numbers else fmt["text"]] * 2 + [ratio, fmt["text"]]
    write_table(book, fmt, "上年对比", f"上年对比（{consolidation.year}年度与上年）", COLUMNS, compare_rows(consolidation),
                formats=formats)


def _number(value: Value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value else None
