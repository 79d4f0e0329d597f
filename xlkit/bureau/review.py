"""审核 across units: the signals the spec's `review:` section declares, found in a consolidation's frame — per-person
figures out of line (median and MAD, within a department and overall), year-over-year jumps left without 说明 (the
yoy rules' own warnings), copied reports, and a top grade with one of its department's lowest rates. Each signal
names the unit, the figures and why it matters; the weights add up to a unit's risk for the 复核 sample."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from statistics import median
from typing import Any

from ..form.placement import build_layout
from ..form.spec_review import Review
from ..intake.catalogue import rule_code
from .consolidate import Consolidation, departments
from .copies import Text, near_copies

MAD_SCALE = 1.4826  # MAD × this estimates the standard deviation of normal figures
KINDS = {"outlier": "指标异常", "yoy": "较上年变动未说明", "copy": "报告雷同", "score-rate": "自评等次与执行率不符"}
ALL_UNITS = "全部单位"


@dataclass(frozen=True)
class Signal:
    """One line of 审核提示: the unit, the signal (kind: an ASCII code; KINDS words it), its figures and why."""

    kind: str
    unit_code: str
    unit_name: str
    department: str
    subject: str  # what is out of line (人均公用经费, 支出合计, 报告, 自评得分)
    figures: str
    why: str
    weight: float
    other: str = ""  # a copy's other unit (code)


@dataclass
class ReviewResult:
    signals: list[Signal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was compared and what was too small to judge

    def risk(self) -> dict[str, float]:
        """Each unit's weighted count of signals."""
        out: dict[str, float] = {}
        for signal in self.signals:
            out[signal.unit_code] = out.get(signal.unit_code, 0.0) + signal.weight
        return out


def review(consolidation: Consolidation) -> ReviewResult:
    """Every signal of the spec's review section (none without one), in the order units appear in the totals."""
    spec = consolidation.spec
    result = ReviewResult()
    if spec.review is None:
        return result
    read = _read(consolidation.frame.columns, spec.review)
    # a dict per unit, as to_dict("records") gives it (Python values): column by column, a tenth of its time
    rows = [dict(zip(read, values, strict=True)) for values in zip(*(consolidation.frame[c].tolist() for c in read), strict=True)]
    order = {str(r["unit_code"]): k for k, r in enumerate(rows)}
    groups = departments(consolidation)
    labels = {slot.id: slot.label for slot in build_layout(spec).fields.values()}
    for ratio in spec.review.ratios:
        _outliers(rows, groups, spec.review, ratio.id, labels, result)
    _yoy(consolidation, spec.review, result)
    _copies(consolidation, rows, spec.review, labels, result)
    _scores(consolidation, rows, groups, spec.review, labels, result)
    result.signals.sort(key=lambda s: (order.get(s.unit_code, len(order)), list(KINDS).index(s.kind)))
    return result


def _read(columns: Sequence[Any], review: Review) -> list[Any]:
    """The frame's columns the signals read, in its order (a unit has ~600; a dict of each was most of the time)."""
    wanted = {f for r in review.ratios for f in (r.numerator, r.denominator)} | {"unit_code", "unit_name", "department"}
    wanted |= {review.score_field, review.rate.numerator, review.rate.denominator} if review.score_field and review.rate else set()
    return [c for c in columns if c in wanted or _copied(str(c), review.copy_texts)]


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def ratio_of(row: Mapping[str, Any], numerator: str, denominator: str) -> float | None:
    top, bottom = number(row.get(numerator)), number(row.get(denominator))
    return top / bottom if top is not None and bottom is not None and bottom > 0 else None


def robust_scores(values: Sequence[float]) -> tuple[float, float] | None:
    """The median and the robust standard deviation (1.4826·MAD), or None when half the figures or more are equal
    (MAD 0: nothing to scale by)."""
    middle = median(values)
    spread = MAD_SCALE * median(abs(v - middle) for v in values)
    return (middle, spread) if spread > 0 else None


def _shown(value: float, percent: bool, unit: str = "") -> str:
    return f"{value:.1%}" if percent else f"{value:,.2f}{unit}"


def _outliers(rows: list[dict[str, Any]], groups: list[str], review: Review, ratio_id: str, labels: Mapping[str, str],
              result: ReviewResult) -> None:
    ratio = next(r for r in review.ratios if r.id == ratio_id)
    values = {str(r["unit_code"]): ratio_of(r, ratio.numerator, ratio.denominator) for r in rows}
    members: dict[str, list[str]] = {g: [] for g in groups}
    for r in rows:  # one pass, not one per department
        code = str(r["unit_code"])
        if r["department"] in members and values[code] is not None:
            members[r["department"]].append(code)
    members[ALL_UNITS] = [c for c, v in values.items() if v is not None]
    flagged: dict[str, list[str]] = {}
    small = []
    for group, codes in members.items():
        if len(codes) < review.min_group:
            small.append(f"{group}（{len(codes)} 个）")
            continue
        scale = robust_scores([values[c] for c in codes])  # type: ignore[misc]
        if scale is None:
            continue
        middle, spread = scale
        for code in codes:
            z = (values[code] - middle) / spread  # type: ignore[operator]
            if abs(z) > review.outlier_threshold and abs(values[code] - middle) >= review.outlier_min_change * abs(middle):  # type: ignore[operator]
                where = "本部门" if group != ALL_UNITS else ALL_UNITS
                flagged.setdefault(code, []).append(f"{where} {len(codes)} 个单位中位数 {_shown(middle, ratio.percent, ratio.unit)}，"
                                                    f"{'高' if z > 0 else '低'}出 {abs(z):.1f} 个稳健标准差")
    result.notes.append(f"{ratio.label}（{labels[ratio.numerator]} ÷ {labels[ratio.denominator]}）：在各主管部门内和{ALL_UNITS}中比较，"
                        f"偏离中位数超过 {review.outlier_threshold:g} 个稳健标准差（1.4826×MAD）"
                        f"且相差中位数的 {review.outlier_min_change:.0%} 以上即提示"
                        + (f"；单位少于 {review.min_group} 个不作比较：{'、'.join(small)}" if small else ""))
    by_code = {str(r["unit_code"]): r for r in rows}
    for code, reasons in flagged.items():
        row = by_code[code]
        result.signals.append(Signal("outlier", code, str(row["unit_name"]), str(row["department"]), ratio.label,
                                     f"{ratio.label} {_shown(values[code], ratio.percent, ratio.unit)}；" + "；".join(reasons),  # type: ignore[arg-type]
                                     "与同类单位相差悬殊，可能填报有误（单位、口径）或支出异常，需核实", review.weights.outlier))


def _yoy(consolidation: Consolidation, review: Review, result: ReviewResult) -> None:
    """The yoy rules' own warnings (their threshold is the rule's): one left without 说明 is a signal."""
    figures = {rule_code(f.rule): f for f in consolidation.spec.previous.figures if f.rule}
    if not figures:
        return
    result.notes.append("较上年变动：" + "、".join(f.label for f in figures.values()) + " 超出校验规则允许的幅度且单位未填说明即提示")
    for status in consolidation.included:
        for issue in status.issues:
            figure = figures.get(issue.code)
            if figure is None or issue.explained:
                continue
            previous = number(consolidation.previous.get(status.unit_code, {}).get(figure.field))
            last = f"，上年 {previous:,.2f}" if previous is not None else ""
            result.signals.append(Signal("yoy", status.unit_code, status.unit_name, status.department, figure.label,
                                         f"{issue.message}{last}", "变动幅度超出规定且未说明原因，需单位补充说明", review.weights.yoy))


def _matching(labels: Mapping[str, str], patterns: Sequence[str]) -> list[str]:
    """The labels of the fields the patterns match, in the form's order: how a person knows which texts are meant."""
    return [label for f, label in labels.items() if any(f == p or fnmatch(f, p) for p in patterns)]


def _copied(key: str, patterns: Sequence[str]) -> bool:
    return any(key == p or fnmatch(key, p) for p in patterns)


def _copy_text(values: Mapping[str, Any], patterns: Sequence[str], keys: Collection[str] | None = None) -> str:
    """`keys`: those the patterns match, when known (every row of the frame has the same)."""
    return "\n".join(str(v) for k, v in values.items() if isinstance(v, str) and (k in keys if keys is not None else _copied(k, patterns)))


def _copies(consolidation: Consolidation, rows: list[dict[str, Any]], review: Review, labels: Mapping[str, str],
            result: ReviewResult) -> None:
    if not review.copy_texts:
        return
    names = {str(r["unit_code"]): (str(r["unit_name"]), str(r["department"])) for r in rows}
    keys = {k for k in (rows[0] if rows else {}) if _copied(k, review.copy_texts)}
    texts = [Text(str(r["unit_code"]), _copy_text(r, review.copy_texts, keys), names[str(r["unit_code"])]) for r in rows]
    for code, values in consolidation.previous.items():
        texts.append(Text(code, _copy_text(values, review.copy_texts), names.get(code, ()), last_year=True))
    pairs = near_copies(texts, review.copy_shingle, review.copy_threshold, review.copy_min_chars, review.copy_common,
                        review.min_group)
    result.notes.append(f"报告雷同：比较{'、'.join(_matching(labels, review.copy_texts))}，"
                        f"去掉单位名称、数字和标点后，相同内容（{review.copy_shingle} 字片段）"
                        f"占 {review.copy_threshold:.0%} 以上即提示；多数单位共用的表述和不足 {review.copy_min_chars} 字的文字不作比较；"
                        "单位本身上年的报告不算雷同")
    by_code = {str(r["unit_code"]): r for r in rows}
    for pair in pairs:
        for one, other in ((texts[pair.first], texts[pair.second]), (texts[pair.second], texts[pair.first])):
            if one.last_year:
                continue
            row = by_code[one.key]
            other_name = names.get(other.key, (other.key, ""))[0]
            whose = f"{other_name}（{other.key}）" + ("上年的报告" if other.last_year else "的报告")
            result.signals.append(Signal("copy", one.key, str(row["unit_name"]), str(row["department"]), "报告",
                                         f"与{whose}相同内容约占 {pair.share:.0%}",
                                         "去掉名称和数字后几乎相同，可能是套用他人报告，未反映本单位实际", review.weights.copy_, other.key))


def _grade_band(consolidation: Consolidation, label: str) -> tuple[float, float]:
    """The scores graded `label`: from its band's minimum up to the next band's (grades run highest first)."""
    grades = consolidation.spec.grades
    k = next(i for i, band in enumerate(grades) if band.label == label)
    return grades[k].min, grades[k - 1].min if k else float("inf")


def _scores(consolidation: Consolidation, rows: list[dict[str, Any]], groups: list[str], review: Review, labels: Mapping[str, str],
            result: ReviewResult) -> None:
    if review.score_field is None or review.rate is None or review.grade_top is None:
        return
    rate = review.rate
    low, high = _grade_band(consolidation, review.grade_top)
    small = []
    for group in groups:
        members = [(r, ratio_of(r, rate.numerator, rate.denominator)) for r in rows if r["department"] == group]
        rated = [(r, v) for r, v in members if v is not None]
        if len(rated) < review.min_group:
            small.append(f"{group}（{len(rated)} 个）")
            continue
        all_rates = sorted(v for _r, v in rated)
        for row, value in rated:
            score = number(row.get(review.score_field))
            below = bisect_left(all_rates, value)  # how many rates are lower
            if score is None or not low <= score < high or below >= review.rate_share * len(rated) or value >= review.rate_below:
                continue
            result.signals.append(Signal(
                "score-rate", str(row["unit_code"]), str(row["unit_name"]), group, "自评得分",
                f"自评得分 {score:g} 分（{review.grade_top}），{rate.label} {value:.1%}，在本部门 {len(rated)} 个单位中"
                f"位于最低的 {review.rate_share:.0%}（本部门中位数 {median(all_rates):.1%}）",
                "自评等次高而执行率在同部门中最低，自评可能偏高，需核实评分依据", review.weights.score))
    result.notes.append(f"自评等次：评为{review.grade_top}而{rate.label}（{labels[rate.numerator]} ÷ {labels[rate.denominator]}）位于本部门最低的 "
                        f"{review.rate_share:.0%} 且低于 {review.rate_below:.0%} 即提示"
                        + (f"；单位少于 {review.min_group} 个的部门不作比较：{'、'.join(small)}" if small else ""))
