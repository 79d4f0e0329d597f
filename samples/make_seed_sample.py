"""Regenerate samples/seed_2019.json from the seed text (run once; the JSON is committed).

Usage: python samples/make_seed_sample.py ../shared/seeds/000_3679031e8d34fd41.txt
Personal contact details are replaced by placeholders. The seed gives only the
totals of the six smaller projects (budget 442.03, spent 337.01); their split
here is illustrative and sums exactly to those totals.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def section(text: str, start: str, end: str) -> str:
    body = text.split(start, 1)[1].split(end, 1)[0]
    lines = [line.strip() for line in body.replace("\t", "").splitlines()]
    paragraphs = [line for line in lines if line]
    return "\n".join(paragraphs)


def main(seed_path: str) -> None:
    text = Path(seed_path).read_text(encoding="utf-8")
    report = text.split("五、评价报告综述", 1)[1]
    data: dict[str, object] = {
        "unit.name": "岳阳市智慧城管指挥中心",
        "year": 2019,
        "contact.name": "联系人（示例）",
        "contact.phone": "13800000000",
        "staff.authorized": 22,
        "staff.actual": 20,
        "duties": section(text, "职能职责概述", "年度主要"),
    }
    tasks = re.findall(r"任务\d：(.+)", text)
    for n, task in enumerate(tasks[:5], start=1):
        data[f"tasks.{n}"] = task.strip()
    data["achievements"] = section(text, "年度部门（单位）总体运行情况及取得的成绩", "二、部门（单位）收支情况")
    data.update({
        "income.sub1.carryover": 103.77, "income.sub1.fiscal": 1022.51,
        "expense.sub1.personnel": 217.23, "expense.sub1.public": 60.92, "expense.sub1.project": 724.10,
        "sangong.sub1.reception": 2.91, "sangong.sub1.vehicle_ops": 5.80,
        "sangong_budget.sub1.reception": 3.90, "sangong_budget.sub1.vehicle_ops": 6.00,
        "assets.sub1.in_use": 1.63,
    })
    projects = [
        ("数字城管信息采集服务", 400.00, 387.09, 97),
        ("12319运营经费", 60.00, 45.20, None),
        ("二期网络通迅运营经费", 48.00, 40.16, None),
        ("软件数据库及设备维护经费", 95.00, 72.35, None),
        ("设备运营电费", 36.00, 30.48, None),
        ("网络运营经费", 55.03, 41.62, None),
        ("中心平台座席人员劳务派遣服务费", 148.00, 107.20, None),
    ]
    for n, (name, budget, spent, score) in enumerate(projects, start=1):
        data[f"projects.p{n}.name"] = name
        data[f"projects.p{n}.budget"] = budget
        data[f"projects.p{n}.spent"] = spent
        if score is not None:
            data[f"projects.p{n}.score"] = score
    targets = re.findall(r"目标(\d)：(.+)", text)
    results = re.findall(r"目标(\d)完成情况：(.+)", text)
    for n, goal in targets[:5]:
        data[f"qualitative.g{n}.target"] = goal.strip()
    for n, result in results[:5]:
        data[f"qualitative.g{n}.result"] = result.strip()
    block = text.split("整体支出\n\n绩效定量目标", 1)[1].split("绩效自评综合得分", 1)[0]
    cells = [c.strip() for c in block.split("\t") if c.strip()]
    indicator_rows = {
        "quality": 3, "quantity": 6, "timeliness": 3, "cost": 1,
    }
    pairs: list[tuple[str, str]] = []
    for i, cell in enumerate(cells):
        if re.match(r"^指标\d：", cell) or cell == "控制在预算金额之内":
            pairs.append((cell, cells[i + 1]))
    keys = [f"{group}{n}" for group, count in indicator_rows.items() for n in range(1, count + 1)]
    for key, (goal, result) in zip(keys, pairs, strict=False):
        data[f"indicators.{key}.goal"] = re.sub(r"^指标\d：", "", goal)
        data[f"indicators.{key}.result"] = result
    for key, label in (("social1", "社会效益"), ("economic1", "经济效益"), ("ecological1", "生态效益"),
                       ("satisfaction1", "社会公众或服务对象满意度")):
        after = [c for c in block.split(label, 1)[1].split("\t") if c.strip()]
        data[f"indicators.{key}.goal"] = after[0].strip()
        data[f"indicators.{key}.result"] = after[1].strip()
    measured = {
        "quality3": (96, 96.92), "quantity1": (280000, 298532), "quantity2": (250000, 261238),
        "quantity3": (10000, 10569), "quantity4": (18, 44), "quantity5": (10, 13), "quantity6": (8, 10),
        "satisfaction1": (90, 93),
    }
    for key, (target, actual) in measured.items():
        data[f"indicators.{key}.target"] = target
        data[f"indicators.{key}.actual"] = actual
    data["score"] = 98
    evaluators = [("何其勇", "主任"), ("徐辉", "副主任"), ("杨东华", "副主任"), ("罗泽岳", "办公室主任"), ("胡洋", "副主任")]
    for n, (name, title) in enumerate(evaluators, start=1):
        data[f"evaluators.e{n}.name"] = name
        data[f"evaluators.e{n}.title"] = title
        data[f"evaluators.e{n}.org"] = "岳阳市智慧城管指挥中心"
    data["reporter.name"] = "联系人（示例）"
    data["reporter.phone"] = "13800000000"
    # the cover: the seed text names no method, body or date; a unit's own self-evaluation, dated after the year
    data.update({"cover.method": "部门（单位）自评", "cover.evaluator": "岳阳市智慧城管指挥中心", "cover.date": "2020-03-31"})
    heads = ["一、单位概况", "二、单位整体支出管理及使用情况", "三、单位专项组织实施情况", "四、单位整体支出绩效情况",
             "五、存在的主要问题", "六、改进措施和有关建议"]
    ids = ["overview", "management", "implementation", "performance", "problems", "suggestions"]
    tail = report.split("项目支出未超预算", 1)[0]
    for k, (head, field_id) in enumerate(zip(heads, ids, strict=True)):
        end = heads[k + 1] if k + 1 < len(heads) else "\x00"
        body = tail.split(head, 1)[1]
        body = body.split(end, 1)[0] if end in body else body
        data[f"report.{field_id}"] = "\n".join(line.strip() for line in body.splitlines() if line.strip())
    out = Path(__file__).with_name("seed_2019.json")
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(data)} fields)")


if __name__ == "__main__":
    main(sys.argv[1])
