"""The 催报 list of a campaign: every roster unit not yet 已确认, with its contact, the step it is at (who holds it)
and what it still has to do."""

from __future__ import annotations

import csv
from datetime import date, datetime, tzinfo
from pathlib import Path

import xlsxwriter

from ..bureau.clock import local_time
from ..bureau.consolidate import csv_safe
from ..bureau.sheets import Formats, write_table
from ..errors import CampaignError
from ..files import atomic_path
from .checks import registry_of
from .ledger import Ledger
from .state import UnitState, parse_deadline, unit_states

COLUMNS = [("单位编码", 10.0), ("单位名称", 16.0), ("主管部门", 12.0), ("联系人", 8.0), ("电话", 12.0), ("状态", 11.0),
           ("当前环节", 14.0), ("最后收件", 14.0), ("错误", 5.0), ("未说明警告", 6.0), ("距截止（天）", 7.0), ("需要做的", 19.0)]
TODO = {"not-sent": "尽快报送", "failed": "按审核意见修改后再报", "returned": "按退回意见修改后再报",
        "received": "等待财政部门确认", "received-warnings": "核实警告，必要时填写说明", "resubmitted": "等待财政部门确认",
        "passed": "等待财政部门确认"}


def reminder_rows(states: list[UnitState], zone: tzinfo, deadline: date | None, today: date) -> list[list[object]]:
    rows: list[list[object]] = []
    for s in states:
        if not s.in_roster or s.status == "confirmed":
            continue
        current = s.current
        rows.append([s.code, s.name, s.department, s.contact, s.phone, s.label, s.step,
                     f"{current.name}（{local_time(current.received_at, zone)}）" if current else "",
                     current.errors if current else "", current.unexplained if current else "",
                     (deadline - today).days if deadline else "", TODO[s.status]])
    return rows


def write_reminders(folder: str | Path, target: str | Path, zone: tzinfo, department: str | None = None) -> int:
    """As .xlsx (printable, filterable) or .csv (UTF-8 with BOM); returns how many units are listed. `department`:
    that 主管部门's units only (its officer's list)."""
    target = Path(target)
    if target.suffix.lower() not in (".xlsx", ".csv"):
        raise CampaignError(f"催报名单只能写成 .xlsx 或 .csv：{target.name}")
    with Ledger(folder, readonly=True) as ledger:
        deadline = parse_deadline(ledger.meta("deadline"))
        today = datetime.now(zone).date()
        states = [s for s in unit_states(ledger) if department is None or s.department == department]
        rows = reminder_rows(states, zone, deadline, today)
        spec = registry_of(ledger).current
        title = f"{ledger.meta('year')}年度{spec.template.title}催报名单（{today:%Y-%m-%d}）"
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".csv":
            with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow([label for label, _w in COLUMNS])
                writer.writerows([[csv_safe(v) for v in row] for row in rows])
        else:
            book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
            write_table(book, Formats(book, spec), "催报名单", title, COLUMNS, rows)
            book.close()
    return len(rows)

