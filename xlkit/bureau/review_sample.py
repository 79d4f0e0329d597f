"""The 复核 sample: every unit whose weighted signals reach the spec's risk threshold (重点复核), and `n` of the rest
drawn at random (抽查) — `random.Random(seed)` over the units in code order, so an auditor redraws the same units
from the same seed. Each unit is listed with why it was chosen, its contacts and its figures."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

from ..errors import ConsolidationError
from ..files import atomic_path
from ..form.placement import build_layout
from .consolidate import Consolidation, entity
from .review import KINDS, ReviewResult, review
from .sheets import Formats, print_setup, write_table

SHEET = "复核抽样"


@dataclass(frozen=True)
class Chosen:
    unit_code: str
    unit_name: str
    department: str
    risk: float
    why: str  # 重点复核 with its signals, or 随机抽查 with the seed
    drawn: bool  # by lot (抽查), not by risk
    contacts: str
    figures: list[Any]


@dataclass
class Sample:
    chosen: list[Chosen]
    seed: int
    n: int
    threshold: float
    units: int  # the units it was drawn from
    figure_labels: list[str]
    figure_types: list[str | None]


def draw_sample(consolidation: Consolidation, n: int, seed: int, result: ReviewResult | None = None) -> Sample:
    """Over-threshold units first (highest risk first), then the drawn ones in the order drawn."""
    spec = consolidation.spec
    if spec.review is None:
        raise ConsolidationError(f"表式 {spec.template.id} 没有 review 部分，无法抽取复核样本")
    if n < 0:
        raise ConsolidationError(f"抽查数量应为 0 或正整数，不是 {n}")
    result = result if result is not None else review(consolidation)
    risk = result.risk()
    rows = {str(r["unit_code"]): r for r in consolidation.frame.to_dict("records")}
    threshold = spec.review.risk_threshold
    heavy = sorted((c for c in rows if risk.get(c, 0.0) >= threshold), key=lambda c: (-risk[c], c))
    rest = sorted(c for c in rows if c not in set(heavy))
    drawn = random.Random(seed).sample(rest, min(n, len(rest)))
    roster = consolidation.roster.by_code() if consolidation.roster else {}
    slots = build_layout(spec).fields
    labels = [slots[f].label for f in spec.review.figures]
    types: list[str | None] = [slots[f].type for f in spec.review.figures]

    def chosen(code: str, by_lot: bool) -> Chosen:
        row = rows[code]
        signals = [s for s in result.signals if s.unit_code == code]
        if by_lot:
            why = f"随机抽查（种子 {seed}）" + (f"；另有提示：{'、'.join(_kinds(signals))}，风险分 {risk[code]:g}" if signals else "")
        else:
            why = f"重点复核：风险分 {risk[code]:g}（达到 {threshold:g}）；" + "；".join(f"{KINDS[s.kind]}：{s.figures}" for s in signals)
        unit = roster.get(code)
        people = [unit.contact_name, unit.contact_phone, unit.email] if unit else []
        people += [_text(row.get(f)) for f in spec.review.contacts]  # type: ignore[union-attr]
        contacts = "、".join(dict.fromkeys(p for p in people if p))
        figures = [_value(row.get(f)) for f in spec.review.figures]  # type: ignore[union-attr]
        return Chosen(code, str(row["unit_name"]), str(row["department"]), risk.get(code, 0.0), why, by_lot, contacts, figures)

    picked = [chosen(c, False) for c in heavy] + [chosen(c, True) for c in drawn]
    return Sample(picked, seed, n, threshold, len(rows), labels, types)


def _kinds(signals: list[Any]) -> list[str]:
    return list(dict.fromkeys(KINDS[s.kind] for s in signals))


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _value(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value


def write_sample(consolidation: Consolidation, sample: Sample, path: str | Path) -> None:
    """The sample as a workbook that prints: one row per unit chosen, the rule of the draw below."""
    spec = consolidation.spec
    words = entity(spec)
    headers = [("序号", 4.0), (f"{words}编码", 10.0), (f"{words}名称", 14.0), ("主管部门", 12.0), ("入选原因", 36.0), ("联系方式", 14.0)]
    headers += [(label, 10.0) for label in sample.figure_labels]
    rows = [[k, c.unit_code, c.unit_name, c.department, c.why, c.contacts, *c.figures] for k, c in enumerate(sample.chosen, start=1)]
    heavy = sum(1 for c in sample.chosen if not c.drawn)
    notes = [f"抽样规则：风险分（各项审核提示按表式 review 部分的权重相加）达到 {sample.threshold:g} 的{words}全部列入重点复核（{heavy} 个）；"
             f"其余 {sample.units - heavy} 个{words}按编码排序，以种子 {sample.seed} 随机抽取 {sum(1 for c in sample.chosen if c.drawn)} 个"
             f"（要求 {sample.n} 个）。用同一种子重新抽取，结果相同。"]
    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
        fmt = Formats(book, spec)
        formats = [fmt["text"]] * 6 + [fmt.number("unit", t) for t in sample.figure_types]
        write_table(book, fmt, SHEET, f"复核抽样（{consolidation.year}年度）", headers, rows, formats=formats)
        ws = book.get_worksheet_by_name(SHEET)
        last = max(len(rows) + 1, 2) + 2
        wrapped = book.add_format({**fmt.base, "border": 0, "text_wrap": True, "valign": "top"})
        ws.merge_range(last, 0, last, len(headers) - 1, notes[0], wrapped)
        ws.set_row(last, 30)
        print_setup(ws, SHEET, (last, len(headers) - 1), repeat=1)
        book.set_properties({"title": f"复核抽样（{consolidation.year}年度）", "author": "xlkit"})
        book.close()
