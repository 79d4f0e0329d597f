"""The 催报 list: one entry per roster unit whatever arrived (`unit_statuses`), and the 报送情况 sheet that prints it
in the bureau's local time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from .clock import DEFAULT_ZONE, local_time
from .consolidate import DUPLICATE, EMPTY_SUMMARY, STATUS_LABELS, Consolidation, FileStatus
from .sheets import Formats, header_row, print_setup, values_height, write_table

# widths sum to one A4 landscape page at full size: text stays legible on paper, long cells wrap
STATUS_HEADERS = [("序号", 4), ("单位编码", 10), ("单位名称", 15), ("主管部门", 11), ("联系人", 8), ("电话", 12), ("报送状态", 10),
                  ("收到的文件", 14), ("保存时间", 9), ("错误", 4), ("警告", 4), ("说明", 9)]
FILE_HEADERS = [("序号", 4), ("单位编码", 10), ("单位名称", 15), ("文件", 24), ("保存时间", 10), ("状态", 8), ("错误", 4), ("警告", 4),
                ("说明", 31)]
# what became of one file: the one that stands for its unit, one a later (or the same, through another roll-up) replaced,
# or one not taken at all
FILE_STATES = {"accepted": "采用", "accepted-warnings": "采用", "accepted-errors": "采用", "superseded": "已被替代", "rejected": "未采用",
               "empty": "采用"}


@dataclass
class UnitStatus:
    """One row of the 催报 list: a roster unit (or a unit outside it) and everything it sent."""

    unit_code: str
    unit_name: str
    department: str
    contact_name: str
    contact_phone: str
    status: str  # the label people read: 已接收 / 已接收（有警告）/ 有错误（未计入汇总）/ 已拒收 / 未报送 …
    files: list[FileStatus]
    in_roster: bool

    @property
    def counted(self) -> FileStatus | None:
        """The file whose figures stand for the unit: the one not superseded, when any was read."""
        chosen = [f for f in self.files if f.status in ("accepted", "accepted-warnings", "accepted-errors")]
        return chosen[0] if chosen else None


def unit_statuses(consolidation: Consolidation) -> list[UnitStatus]:
    """Exactly one entry per roster unit, in roster order, whatever arrived (nothing, rejected files, two files);
    then units from outside the roster, then files no unit could be named for (each once)."""
    files_by_unit: dict[str, list[FileStatus]] = {}
    for status in consolidation.files:
        if status.path and status.status != "empty":  # a summary carrying no unit: its units' lines name it (`_note`)
            files_by_unit.setdefault(status.unit_code, []).append(status)
    out: list[UnitStatus] = []
    roster = consolidation.roster
    for unit in roster.units if roster else []:
        sent = files_by_unit.pop(unit.code, [])
        out.append(UnitStatus(unit.code, unit.name, unit.department, unit.contact_name, unit.contact_phone, _unit_label(sent), sent, True))
    for code, sent in files_by_unit.items():
        if not code:
            continue
        first = sent[0]
        out.append(UnitStatus(code, first.unit_name, first.department, "", "", _unit_label(sent), sent, roster is None))
    for status in files_by_unit.get("", []):
        out.append(UnitStatus("", "（无法识别单位）", "", "", "", _unit_label([status]), [status], False))
    return out


@dataclass
class Tally:
    """The counts of one run, read by the 报送情况 header and the console alike: each row of the 催报 list once
    (a roster unit, a unit outside the roster, a file no unit could be named for)."""

    due: int  # 应报: the roster's units (every unit without a roster)
    sent: int  # 已报: those of them that sent anything
    outside: int  # rows outside the roster
    accepted: int
    warnings: int
    errors: int  # a unit whose counted file has errors, in the totals or not
    rejected: int  # every file it sent was refused
    missing: int
    superseded: int  # files a later one of the same unit replaced
    refused_aside: int  # refused files of units whose other file counts (listed in 文件清单, not a row's status)

    @property
    def rate(self) -> str:
        return f"{self.sent / self.due:.1%}" if self.due else "—"


def tally(consolidation: Consolidation, units: list[UnitStatus] | None = None) -> Tally:
    """One source for every count people read about a run."""
    units = unit_statuses(consolidation) if units is None else units
    listed = [u for u in units if u.in_roster] if consolidation.roster else [u for u in units if u.unit_code]
    states = [u.counted.status if u.counted is not None else "rejected" if u.files else "missing" for u in units]
    files = [f for u in units for f in u.files]
    return Tally(len(listed), sum(1 for u in listed if u.files), len(units) - len(listed), states.count("accepted"),
                 states.count("accepted-warnings"), states.count("accepted-errors"), states.count("rejected"), states.count("missing"),
                 sum(1 for f in files if f.status == "superseded"),
                 sum(1 for u in units if u.counted is not None for f in u.files if f.status == "rejected"))


def empty_summaries(consolidation: Consolidation) -> list[FileStatus]:
    """Summaries of the level below that carry no unit (their department's units sent nothing)."""
    return [f for f in consolidation.files if f.status == "empty"]


def file_list(consolidation: Consolidation) -> list[FileStatus]:
    """Every file of the run once, each unit's together (in the order of `unit_statuses`, oldest first), then the
    files of other forms that came with them (a key project's sheet inside a unit's workbook is not a file)."""
    listed = [f for unit in unit_statuses(consolidation) for f in sorted(unit.files, key=lambda f: (f.saved_at, f.path))]
    return listed + empty_summaries(consolidation) + [f for other in consolidation.others.values() for f in other.files if f.path and not f.within]


def file_state(status: FileStatus) -> str:
    """采用 / 已被替代 / 未采用: what the file counts for (why is in its reason)."""
    return FILE_STATES.get(status.status, "未采用")


def file_name(status: FileStatus) -> str:
    """The file as a person finds it: its name, or for a unit carried by a summary of the level below, that
    summary and the unit's own file (where it came from)."""
    return status.via or os.path.basename(status.path)  # a file name: basename is Path.name at a tenth of its cost


STATUS_SHEET, FILES_SHEET = "报送情况", "文件清单"


def files_sheet(book: Any, fmt: Formats, consolidation: Consolidation, zone: tzinfo) -> None:
    """文件清单: one row per file received, with what became of it and why, so a unit that sent several files shows
    which one counts, which were replaced and which were refused."""
    rows = [[n, f.unit_code, f.unit_name, file_name(f), local_time(f.saved_at, zone), file_state(f), f.errors, f.warnings, f.reason]
            for n, f in enumerate(file_list(consolidation), start=1)]
    entity = consolidation.spec.summary.entity if consolidation.spec.summary else "单位"
    headers: list[tuple[str, float]] = [(label.replace("单位", entity), width) for label, width in FILE_HEADERS]
    write_table(book, fmt, FILES_SHEET, f"收到的文件（{consolidation.year}年度，时间为{_zone_label(zone)}）", headers, rows)


def _unit_label(sent: list[FileStatus]) -> str:
    if not sent:
        return STATUS_LABELS["missing"]
    counted = [f for f in sent if f.status in ("accepted", "accepted-warnings", "accepted-errors")]
    return counted[0].label if counted else STATUS_LABELS["rejected"]


def status_sheet(book: Any, fmt: Formats, consolidation: Consolidation, zone: tzinfo) -> None:
    """The 催报 list: the counts at the top, then one row per roster unit with its contact and what it sent."""
    units = unit_statuses(consolidation)
    n = tally(consolidation, units)
    counts: list[tuple[str, Any]] = [("应报", n.due), ("已报", n.sent), ("报送率", n.rate), ("已接收", n.accepted + n.warnings),
                                     ("有错误", n.errors), ("已拒收", n.rejected), ("未报", n.missing)]
    if n.outside:
        counts.append(("名单外", n.outside))
    empty = {f.department: f for f in empty_summaries(consolidation)}
    ws = book.add_worksheet(STATUS_SHEET)
    ws.merge_range(0, 0, 0, len(STATUS_HEADERS) - 1, f"报送情况（{consolidation.year}年度）", fmt["title_center"])
    ws.write_string(1, 0, "；".join(f"{label} {n}" for label, n in counts) + f"（时间为{_zone_label(zone)}）",
                    fmt["note"])
    for c, (_label, width) in enumerate(STATUS_HEADERS):
        ws.set_column(c, c, width)
    entity = consolidation.spec.summary.entity if consolidation.spec.summary else "单位"  # 项目编码 in a project campaign
    header_row(ws, fmt, 2, [label.replace("单位", entity) for label, _w in STATUS_HEADERS], [w for _l, w in STATUS_HEADERS])
    widths = [width for _label, width in STATUS_HEADERS]
    formats = [fmt["text"]] * len(STATUS_HEADERS)
    with fmt.rows(ws) as writer:
        for r, unit in enumerate(units, start=3):
            counted = unit.counted
            shown = [counted] if counted is not None else unit.files
            values: list[Any] = [r - 2, unit.unit_code, unit.unit_name, unit.department, unit.contact_name, unit.contact_phone,
                                 unit.status, _files_cell(unit.files),
                                 local_time(shown[0].saved_at, zone) if shown else "",
                                 sum(f.errors for f in shown), sum(f.warnings for f in shown),
                                 _note(unit, shown, empty.get(unit.department) if not unit.files else None)]
            writer.row(r, values, formats, values_height(values, widths))
    ws.freeze_panes(3, 3)
    ws.autofilter(2, 0, max(len(units) + 2, 3), len(STATUS_HEADERS) - 1)
    print_setup(ws, STATUS_SHEET, (len(units) + 2, len(STATUS_HEADERS) - 1), repeat=2)


def _files_cell(files: list[FileStatus]) -> str:
    """Every file the unit sent; when more than one, each with what became of it (the reasons: 文件清单)."""
    if len(files) == 1:
        return file_name(files[0])
    return "；".join(f"{file_name(f)}（{file_state(f)}）" for f in sorted(files, key=lambda f: (f.saved_at, f.path)))


def _note(unit: UnitStatus, shown: list[FileStatus], empty: FileStatus | None = None) -> str:
    """Why the row stands as it does; a unit that sent nothing, whose department's summary came without it, says so."""
    missing = f"未收到文件（{file_name(empty)}：{EMPTY_SUMMARY}）" if empty is not None else "未收到文件"
    reasons = "；".join(dict.fromkeys(f.reason for f in shown if f.reason)) if shown else missing
    twice = [f for f in unit.files if f.status == "superseded" and f.reason.startswith(DUPLICATE)]
    if twice:  # the same unit reached this level through two roll-ups (or directly and through one)
        reasons = "；".join(filter(None, [reasons, f"{DUPLICATE}：另经 {'、'.join(file_name(f) for f in twice)} 收到，已计入一次"]))
    return reasons if unit.in_roster else "；".join(filter(None, ["不在报送名单内", reasons]))


def _zone_label(zone: tzinfo) -> str:
    key = getattr(zone, "key", None)
    return "北京时间" if key in (None, DEFAULT_ZONE) else str(key)


