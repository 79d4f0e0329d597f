"""The demo's campaign: two years of a bureau's collection with the ledger — receive, 退回, 再报, 确认, consolidate —
then the next year with last year's figures beside this year's."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..bureau.clock import bureau_zone
from ..bureau.summary import write_summary
from ..campaign.account import consolidate_campaign
from ..campaign.actions import accept_unit, return_unit
from ..campaign.ledger import Ledger
from ..campaign.receive import receive
from ..campaign.reminders import write_reminders
from ..campaign.setup import DISTRIBUTED, init_campaign
from ..campaign.state import STATUS_LABELS, unit_states
from ..form.load import load_spec
from ..intake.identify import open_template_workbook
from ..write.fill import fill_workbook
from .sample_data import generate_unit_data, seed_unit_data
from .web import run_web_demo

ZONE = "Asia/Shanghai"


def run_campaign_demo(directory: Path, samples: Path, year: int, issuer: str, contact: str, seed_unit: str, seed_project_code: str,
                      echo: Callable[[str], None]) -> dict[str, Path]:
    spec = load_spec()
    seed = json.loads((samples / "seed_2019.json").read_text(encoding="utf-8"))
    seed_project = json.loads((samples / "seed_project_2019.json").read_text(encoding="utf-8"))
    first = directory / str(year)
    init_campaign(first, samples / "roster.csv", year, deadline=f"{year + 1}-03-31", issuer=issuer)
    sent = sorted((first / DISTRIBUTED).glob("*.xlsx"))
    inbox = directory / "inbox" / str(year)
    inbox.mkdir(parents=True)
    late, blank_unit, explaining_unit = sent[-2:], sent[3], sent[1]

    def filled(template: Path, changes: dict[str, Any], name: str = "") -> Path:
        layout = open_template_workbook(template, spec).layout
        code = template.name.split("_", 1)[0]
        data = seed_unit_data(layout, seed, seed_project, seed_project_code) if code == seed_unit else generate_unit_data(layout, code)
        data = {k: v for k, v in {**data, **changes}.items() if v is not None}
        target = inbox / (name or template.name)
        fill_workbook(template, data, target, spec)
        return target

    wave = [filled(t, {"score": None} if t == blank_unit else
                   {"staff.actual": 150, "check.staff.note": "含年内借调人员，编制调整已报批"} if t == explaining_unit else {})
            for t in sent if t not in late]
    results = receive(first, wave, note="第一批（邮件）", by="收件员")
    echo(f"5. 报送任务 {first}：台账、存档，{DISTRIBUTED}/ 中 {len(sent)} 个工作簿；第一批收到 {len(results)} 个文件："
         + "，".join(f"{label} {n}" for label, n in Counter(r.label for r in results).items()))
    blank_code = blank_unit.name.split("_", 1)[0]
    letter = return_unit(first, blank_code, "自评得分未填写", by="审核员", zone=ZONE, contact=contact, issuer=issuer).letter
    echo(f"   退回 {blank_unit.name}：审核意见书 {letter}")
    receive(first, [filled(blank_unit, {}, blank_unit.name.replace(".xlsx", "（修改后）.xlsx"))], note="再报", by="收件员")
    explaining_code = explaining_unit.name.split("_", 1)[0]
    accept_unit(first, explaining_code, by="审核员", require_explanations=True)
    accept_unit(first, seed_unit, by="审核员")
    reminders = directory / f"催报名单_{year}.xlsx"
    listed = write_reminders(first, reminders, bureau_zone(ZONE))
    summary = directory / f"summary_{year}.xlsx"
    result, checked = consolidate_campaign(str(first))
    write_summary(result, summary, ZONE)
    echo(f"   状态：{_counts(first)}；催报名单 {listed} 个单位：{reminders}")
    echo(f"   从台账汇总（重新审核 {checked} 个文件，其余取自台账缓存）：{summary}")

    second = directory / str(year + 1)
    init_campaign(second, samples / "roster.csv", year + 1, deadline=f"{year + 2}-03-31", previous=first, issuer=issuer)
    inbox = directory / "inbox" / str(year + 1)
    inbox.mkdir(parents=True)
    sent = sorted((second / DISTRIBUTED).glob("*.xlsx"))
    grown = [sent[2], sent[5]]  # income up by half: one explains it, the other does not

    def grow(template: Path) -> dict[str, Any]:
        layout = open_template_workbook(template, spec).layout
        data = generate_unit_data(layout, template.name.split("_", 1)[0])
        changes: dict[str, Any] = {k: round(v * 1.5, 2) for k, v in data.items() if k.startswith("income.") and k.endswith(".fiscal")}
        if template == grown[0]:
            changes["check.yoy_income.note"] = "新增市级专项补助资金"
        return changes

    web_unit = sent[-1]  # hands its return in through its own web link, after the e-mail wave
    results = receive(second, [filled(t, grow(t) if t in grown else {}) for t in sent if t != web_unit], note="邮件", by="收件员")
    echo(f"6. 下一年度 {second}（--previous {first}）：每个工作簿预填上年数；邮件收到 {len(results)} 个文件："
         f"{_counts(second)}")
    web = run_web_demo(second, web_unit.name.split("_", 1)[0], filled(web_unit, {}), echo)
    summary_next = directory / f"summary_{year + 1}.xlsx"
    result, _checked = consolidate_campaign(str(second))
    write_summary(result, summary_next, ZONE)
    echo(f"   {summary_next}：{_counts(second)}；上年对比（{grown[0].name.split('_')[1].removesuffix('.xlsx')} 收入增加一半，已说明；"
         f"{grown[1].name.split('_')[1].removesuffix('.xlsx')} 同样增加，未说明）")
    return {"campaign": first, "campaign_next": second, "campaign_summary": summary, "campaign_summary_next": summary_next, **web}


def _counts(folder: Path) -> str:
    with Ledger(folder) as ledger:
        counts = Counter(s.status for s in unit_states(ledger) if s.in_roster)
    return "，".join(f"{label} {counts[key]}" for key, label in STATUS_LABELS.items() if counts[key])
