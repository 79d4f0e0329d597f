"""Deterministic, plausible fill data for the bundled forms (demo and benchmark).

It speaks in field ids, the form's public data interface; the numbers are made
to reconcile (project detail = 项目支出, 三公 within budget) so that a generated
unit passes every check unless a test breaks it on purpose.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ..form.compute import calculator
from ..form.layout import Layout

TEXT = {
    "duties": "负责本单位职能范围内的业务管理、组织实施和监督检查工作。\n负责本单位预算编制、执行和绩效管理工作。",
    "achievements": "全面完成年度各项工作任务，预算执行规范，绩效目标基本实现。",
    "report.overview": "（一）单位基本情况\n本单位为财政全额拨款事业单位。\n"
                       "（二）单位整体支出规模、使用方向和主要内容\n支出主要用于人员经费、公用经费和项目支出。",
    "report.management": "（一）基本支出\n基本支出按预算执行。\n（二）专项支出\n专项资金专款专用。",
    "report.implementation": "项目按政府采购和合同管理规定组织实施。",
    "report.performance": "年度绩效目标完成情况良好。",
    "report.problems": "预算编制的精准度有待提高。",
    "report.suggestions": "加强预算管理，提高资金使用效益。",
}


def _cents(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def generate_unit_data(layout: Layout, seed: str) -> dict[str, Any]:
    """Every required field and the money tables, reconciled, from a seed (the unit code)."""
    rng = random.Random(seed)
    fields = layout.fields
    data: dict[str, Any] = {k: v for k, v in TEXT.items() if k in fields}
    authorized = rng.randint(8, 120)
    data.update({"contact.name": "联系人（示例）", "contact.phone": f"138{rng.randint(0, 99999999):08d}",
                 "staff.authorized": authorized, "staff.actual": rng.randint(max(1, authorized - 10), authorized)})
    for n in range(1, 6):
        if f"tasks.{n}" in fields:
            data[f"tasks.{n}"] = f"完成年度重点工作任务{n}。"
    rows = [r.key for r in layout.table_rows["income"] if not r.total]
    projects = [r.key for r in layout.table_rows["projects"] if not r.total]
    spent_by_project = []
    for key in projects:
        budget = _cents(rng, 10, 400)
        spent = round(budget * rng.uniform(0.75, 1.0), 2)
        spent_by_project.append(spent)
        data.update({f"projects.{key}.name": f"专项业务经费{key[1:]}", f"projects.{key}.budget": budget,
                     f"projects.{key}.spent": spent, f"projects.{key}.score": rng.randint(70, 99)})
    project_total = round(sum(spent_by_project), 2)
    # the project spending lands in the rows of the expense table, the remainder on the office row
    shares = [round(project_total * rng.uniform(0.1, 0.3), 2) for _ in rows[1:]]
    project_rows = [round(project_total - sum(shares), 2), *shares]
    for key, project in zip(rows, project_rows, strict=True):
        personnel, public = _cents(rng, 50, 600), _cents(rng, 10, 120)
        spent = personnel + public + project
        fiscal = round(spent * rng.uniform(0.95, 1.1), 2)
        data.update({f"expense.{key}.personnel": personnel, f"expense.{key}.public": public, f"expense.{key}.project": project,
                     f"income.{key}.carryover": _cents(rng, 0, 80), f"income.{key}.fiscal": fiscal,
                     f"income.{key}.other": _cents(rng, 0, 20)})
        sangong_budget = {"reception": _cents(rng, 1, 6), "vehicle_ops": _cents(rng, 2, 10)}
        for item, amount in sangong_budget.items():
            data[f"sangong_budget.{key}.{item}"] = amount
            data[f"sangong.{key}.{item}"] = round(amount * rng.uniform(0.6, 1.0), 2)
        data[f"assets.{key}.in_use"] = _cents(rng, 5, 300)
    for key in [r.key for r in layout.table_rows["qualitative"]][:2]:
        data[f"qualitative.{key}.target"] = "保障单位职能正常运转。"
        data[f"qualitative.{key}.result"] = "已完成。"
    data["score"] = rng.choice([rng.randint(60, 79), rng.randint(80, 89), rng.randint(90, 99), rng.randint(90, 99)])
    data.update({"evaluators.e1.name": "评价人（示例）", "evaluators.e1.title": "主任", "evaluators.e1.org": "本单位",
                 "evaluators.e1.role": "组长", "reporter.name": "联系人（示例）", "reporter.phone": data["contact.phone"]})
    return {k: v for k, v in data.items() if k in fields and fields[k].kind == "input"}


def seed_unit_data(layout: Layout, seed: dict[str, Any], seed_project: dict[str, Any], project_code: str) -> dict[str, Any]:
    """The seed unit's fill data for its own workbook: what it may type (not its prefilled identity, not the 项目支出
    rows its key-project sheet fills by formula), and that sheet from the seed project."""
    fields = layout.fields
    data = {k: v for k, v in seed.items() if k in fields and fields[k].kind == "input" and not fields[k].locked}
    for entry in layout.spec.compose:
        for n in range(1, len(layout.params.items.get(entry.repeat, [])) + 1):
            prefix = f"{entry.id}{n}."
            data.update({prefix + k: v for k, v in seed_project.items()
                         if prefix + k in fields and fields[prefix + k].kind == "input" and not fields[prefix + k].locked})
            data[prefix + "project.code"] = project_code
    return data


# the seed project's 评分表 rows that may lose points, with their 分值, in the order points are taken off
SCORECARD_LOSSES = [("effect2", 10.0, "服务对象满意度低于目标。"), ("effect1", 10.0, "效益目标未全部达成。"),
                    ("process2", 4.0, "预算未全部执行。"), ("output4", 10.0, "成本控制不到位。"), ("output3", 10.0, "部分任务未按时完成。")]
WEAK_ROWS = ("economic1", "social1", "ecological1", "sustainable1")  # 定性 rows a weak project does not achieve


def generate_project_data(layout: Layout, seed_project: dict[str, Any], code: str, budget: float, weak: bool = False,
                          rate: float | None = None) -> dict[str, Any]:
    """A project like the seed's, with its own budget, spending (`rate` of the budget, or drawn) and satisfaction (a
    weak one misses its 效益 targets): the 评分表 loses the points the 自评表's 总分, computed by the form's own
    formulas, loses, so the two totals agree (a rule of the form)."""
    rng = random.Random(code)
    data = dict(seed_project)
    if weak:
        for row in WEAK_ROWS:
            data[f"indicators.{row}.actual"] = "未达成"
            data[f"indicators.{row}.reason"] = "目标未达成，原因正在分析，将制定整改措施。"
    spent = round(budget * (rate if rate is not None else rng.uniform(0.85, 1.0)), 2)
    data.update({"funds.fiscal.budget_initial": budget, "funds.fiscal.budget_full": budget, "funds.fiscal.spent": spent,
                 "indicators.cost1.target": budget, "indicators.cost1.actual": spent})
    satisfaction = round(rng.uniform(80, 99), 2)
    data["indicators.satisfaction1.actual"] = satisfaction
    if satisfaction >= 95:
        data.pop("indicators.satisfaction1.reason", None)
    total = calculator(layout).compute({k: v for k, v in data.items() if k in layout.fields})["total_score"]
    loss = round(100 - float(total or 0), 2)
    for key, weight, note in SCORECARD_LOSSES:
        taken = round(min(loss, weight), 2)
        data[f"scorecard.{key}.score"] = round(weight - taken, 2)
        if taken:
            data[f"scorecard.{key}.note"] = note
        else:
            data.pop(f"scorecard.{key}.note", None)
        loss = round(loss - taken, 2)
    return _own_figures(data, seed_project, budget, spent, float(total or 0))


def _own_figures(data: dict[str, Any], seed: dict[str, Any], budget: float, spent: float, total: float) -> dict[str, Any]:
    """The seed's report quotes the seed's 预算, 支出, 结余 and 得分; a generated project's report quotes its own, so
    the 审核 of the report against the tables (narrative) finds nothing to say about a demo project."""
    was_budget, was_spent = float(seed["funds.fiscal.budget_full"]), float(seed["funds.fiscal.spent"])
    pairs = [(f"{was_spent:g}万元", f"{spent:.2f}万元"), (f"{round(was_budget - was_spent, 2):g}万元", f"{round(budget - spent, 2):.2f}万元"),
             (f"{was_budget:g}万元", f"{budget:g}万元")]
    for key in ("goal.result", "report.funds", "report.conclusion"):
        text = data.get(key)
        if isinstance(text, str):
            for old, new in pairs:
                text = text.replace(old, new)
            data[key] = re.sub(r"得分[0-9.]+分", f"得分{total:g}分", text)
    return data

