"""共性指标: the ratios the spec's summary declares, per unit and per department, with the ranking by score
and the grade distribution by department — computed from the units in the bureau's totals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .consolidate import Consolidation, departments
from .sheets import Formats, header_row, print_setup, row_height, values_height


@dataclass
class UnitIndicators:
    unit_code: str
    unit_name: str
    department: str
    ratios: dict[str, float | None]  # indicator id -> ratio (None when the denominator is not a positive number)
    score: float | None
    rank: int | None = None  # overall, 1 = best; equal scores share a rank
    rank_in_department: int | None = None


@dataclass
class DepartmentIndicators:
    department: str
    units: int
    ratios: dict[str, float | None]  # the ratio of the department's sums
    average_score: float | None
    grades: dict[str, int] = field(default_factory=dict)


@dataclass
class IndicatorTable:
    units: list[UnitIndicators]
    departments: list[DepartmentIndicators]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 4)


def _ranks(scores: list[tuple[int, float | None]]) -> dict[int, int]:
    """Competition ranking (1, 2, 2, 4) of the entries that have a score."""
    ordered = sorted(((score, index) for index, score in scores if score is not None), key=lambda e: -e[0])
    ranks: dict[int, int] = {}
    for position, (score, index) in enumerate(ordered):
        previous = ordered[position - 1] if position else None
        ranks[index] = ranks[previous[1]] if previous is not None and previous[0] == score else position + 1
    return ranks


def common_indicators(consolidation: Consolidation) -> IndicatorTable:
    summary = consolidation.spec.summary
    indicators = summary.indicators if summary else []
    ranking = summary.ranking if summary else None
    frame = consolidation.frame
    wanted = {f for i in indicators for f in (i.numerator, i.denominator)} | {ranking or ""}
    if summary and summary.grade_chart:
        wanted.add(summary.grade_chart.field)
    columns = ["unit_code", "unit_name", "department", *[c for c in frame.columns if c in wanted]]
    records = frame[columns].to_dict("records")  # only the columns the indicators read: a unit has ~600
    units = []
    for record in records:
        ratios = {i.id: _ratio(_number(record.get(i.numerator)), _number(record.get(i.denominator))) for i in indicators}
        units.append(UnitIndicators(str(record["unit_code"]), str(record["unit_name"]), str(record["department"]), ratios,
                                    _number(record.get(ranking)) if ranking else None))
    for index, rank in _ranks([(k, u.score) for k, u in enumerate(units)]).items():
        units[index].rank = rank
    by_department: dict[str, list[int]] = {}
    for k, unit in enumerate(units):
        by_department.setdefault(unit.department, []).append(k)
    for members in by_department.values():
        for index, rank in _ranks([(k, units[k].score) for k in members]).items():
            units[index].rank_in_department = rank
    grades = [band.label for band in consolidation.spec.grades]
    grade_field = summary.grade_chart.field if summary and summary.grade_chart else None
    table = []
    for name in departments(consolidation):
        members = by_department.get(name, [])
        sums = {}
        for i in indicators:
            numerators = [_number(records[k].get(i.numerator)) for k in members]
            denominators = [_number(records[k].get(i.denominator)) for k in members]
            pairs = [(n, d) for n, d in zip(numerators, denominators, strict=True) if n is not None and d is not None and d > 0]
            sums[i.id] = _ratio(sum(n for n, _d in pairs), sum(d for _n, d in pairs)) if pairs else None
        scores = [score for k in members if (score := units[k].score) is not None]
        counts = {g: sum(1 for k in members if grade_field and records[k].get(grade_field) == g) for g in grades}
        table.append(DepartmentIndicators(name, len(members), sums, round(sum(scores) / len(scores), 2) if scores else None, counts))
    return IndicatorTable(units, table)


SHEET = "共性指标"


def indicators_sheet(book: Any, fmt: Formats, consolidation: Consolidation) -> None:
    """共性指标 per unit with its ranking; per department the ratios of the sums, the average score and the grades."""
    summary = consolidation.spec.summary
    assert summary is not None
    table = common_indicators(consolidation)
    indicators = summary.indicators
    percent = fmt.percent()  # a ratio of the summary's own, whatever types the form defines
    score = fmt.number("unit", fmt.field_type(summary.ranking))  # the ranking field's own format
    ws = book.add_worksheet(SHEET)
    widths: list[float] = [4, 18, 12, *[10] * len(indicators), 8, 6, 8]
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    last = len(widths) - 1
    ws.merge_range(0, 0, 0, last, f"共性指标（{consolidation.year}年度）", fmt["title_center"])
    note = "比率为实际数与基数之比；部门一行为本部门各单位合计数之比。排名按综合得分，得分相同者名次相同。"
    ws.merge_range(1, 0, 1, last, note, fmt["note"])
    ws.set_row(1, row_height([(note, sum(widths))]))
    headers = ["序号", "单位名称", "主管部门", *[i.label for i in indicators], "综合得分", "总排名", "部门内排名"]
    row = header_row(ws, fmt, 2, headers, widths)
    formats = [fmt["text"], fmt["text"], fmt["text"], *[percent] * len(indicators), score, fmt["text"], fmt["text"]]
    with fmt.rows(ws) as writer:
        for number, unit in enumerate(table.units, start=1):
            values: list[Any] = [number, unit.unit_name, unit.department, *[unit.ratios[i.id] for i in indicators], unit.score,
                                 unit.rank, unit.rank_in_department]
            writer.row(row, values, formats, values_height(values, widths))
            row += 1
    row += 1
    grades = [band.label for band in consolidation.spec.grades]
    headers = ["", "主管部门", "纳入汇总单位数", *[i.label for i in indicators], "平均得分", *[f"{g}（个）" for g in grades]]
    widths += [7] * (len(headers) - len(widths))
    row = header_row(ws, fmt, row, headers, widths)
    formats = [fmt["text"], fmt["text"], fmt["text"], *[percent] * len(indicators), score, *[fmt["text"]] * len(grades)]
    with fmt.rows(ws) as writer:
        for department in table.departments:
            values = ["", department.department, department.units, *[department.ratios[i.id] for i in indicators],
                      department.average_score, *[department.grades.get(g, 0) for g in grades]]
            writer.row(row, values, formats, values_height(values, widths))
            row += 1
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    print_setup(ws, SHEET, (row - 1, len(widths) - 1), repeat=2)
