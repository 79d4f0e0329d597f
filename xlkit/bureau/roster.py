"""The roster of units: who gets a workbook and who must send one back.

A project roster (with 项目编码 and 项目名称 columns) lists projects instead: each project is what reports, and the
unit of the row carries it out (its implementer), so a unit with three projects gets three workbooks."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RosterError
from ..form.params import PREVIOUS_PREFIX
from ..form.spec import Spec

# The roster's own vocabulary, the same for every form: English header, then the Chinese headers accepted for it.
# Any other column is kept by its header (RosterUnit.columns) for the spec's `roster:` section to read.
HEADERS: dict[str, tuple[str, ...]] = {
    "unit_code": ("单位编码", "单位代码", "预算编码"),
    "unit_name": ("单位名称",),
    "parent_code": ("主管部门编码", "部门编码"),
    "parent_name": ("主管部门", "主管部门名称", "部门名称"),
    "contact_name": ("联系人",),
    "contact_phone": ("联系电话", "联络电话"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "Email"),
    "project_code": ("项目编码", "项目代码"),
    "project_name": ("项目名称",),
    "budget": ("预算数", "项目预算数", "预算金额"),
}
REQUIRED = ("unit_code", "unit_name")
NAME_SEPARATORS = re.compile(r"[；;、|]")
EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")


@dataclass(frozen=True)
class RosterUnit:
    code: str
    name: str
    parent_code: str = ""
    parent_name: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    row: int = 0
    implementer: str = ""  # a project roster: the unit carrying the project out (code and name are the project's)
    implementer_code: str = ""
    budget: float | None = None  # a project roster: the project's budget (万元), as the bureau set it (manifest.csv)
    columns: Mapping[str, str] = field(default_factory=dict)  # every other column, by its header: the spec's to read
    email: str = ""  # where the campaign's mail to the unit goes (邮箱)

    @property
    def department(self) -> str:
        return self.parent_name or self.parent_code or "（未分部门）"


@dataclass
class Roster:
    path: Path
    units: list[RosterUnit] = field(default_factory=list)
    extra: tuple[str, ...] = ()  # the headers of the columns beyond the roster's own vocabulary, in order

    def by_code(self) -> dict[str, RosterUnit]:
        return {u.code: u for u in self.units}


def _rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception:
            raise RosterError(f"{path}：无法读取名单工作簿（不是有效的 xlsx 文件，或已损坏）") from None
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        rows = [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
                for row in sheet.iter_rows(values_only=True)]
        book.close()
        return rows
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = path.read_text(encoding="gb18030")  # rosters saved by Excel on Chinese Windows
        except UnicodeDecodeError:
            raise RosterError(f"{path}：名单既不是 UTF-8 也不是 GB18030 编码的文本") from None
    except OSError as exc:
        raise RosterError(f"{path}：无法读取名单（{exc.strerror or '读取失败'}）") from None
    return list(csv.reader(io.StringIO(text)))


def load_roster(path: str | Path) -> Roster:
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise RosterError(f"{path}：名单是空的")
    columns: dict[str, int] = {}
    extra: dict[str, int] = {}
    for index, header in enumerate(rows[0]):
        name = header.strip()
        key = next((k for k, chinese in HEADERS.items() if name == k or name in chinese), None)
        if key is not None:
            columns[key] = index
        elif name:
            if name in extra:
                raise RosterError(f"{path}：名单有两列都叫“{name}”")
            extra[name] = index
        elif any(index < len(row) and row[index].strip() for row in rows[1:]):
            raise RosterError(f"{path}：名单第 {index + 1} 列有内容但没有列名")
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        accepted = "；".join(f"{k}（{'/'.join(HEADERS[k])}）" for k in missing)
        raise RosterError(f"{path}：名单缺少列 {accepted}")
    problems: list[str] = []
    units: list[RosterUnit] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def get(index: int | None, row: list[str] = row) -> str:
            return row[index].strip() if index is not None and index < len(row) else ""

        code, name = get(columns["unit_code"]), get(columns["unit_name"])
        implementer, implementer_code, budget = "", "", None
        if "project_code" in columns:  # a project roster: the row's project is what reports
            implementer, implementer_code = name, code
            code, name = get(columns["project_code"]), get(columns.get("project_name"))
            if not code or not name:
                problems.append(f"第 {number} 行：项目编码和项目名称都要填写")
                continue
            budget_text = get(columns.get("budget")).replace(",", "")
            try:
                budget = float(budget_text) if budget_text else None
            except ValueError:
                problems.append(f"第 {number} 行：预算数“{budget_text}”不是数字")
        if not code:
            problems.append(f"第 {number} 行：单位编码是空的")
            continue
        if not re.fullmatch(r"[0-9A-Za-z-]{1,30}", code):
            problems.append(f"第 {number} 行：编码“{code}”只能由字母、数字和“-”组成（至多 30 个）")
        if not name:
            problems.append(f"第 {number} 行：编码 {code} 没有名称")
        if code in seen:
            problems.append(f"第 {number} 行：编码 {code} 与第 {seen[code]} 行重复")
            continue
        seen[code] = number
        email = get(columns.get("email"))
        if email and not EMAIL.fullmatch(email):
            problems.append(f"第 {number} 行：邮箱“{email}”不是有效的电子邮件地址")
        units.append(RosterUnit(code, name, get(columns.get("parent_code")), get(columns.get("parent_name")),
                                get(columns.get("contact_name")), get(columns.get("contact_phone")), number, implementer,
                                implementer_code, budget, {header: get(index) for header, index in extra.items()}, email))
    if problems:
        listed = "\n  ".join(problems[:30])
        more = f"\n  ……另有 {len(problems) - 30} 处" if len(problems) > 30 else ""
        raise RosterError(f"{path}：名单有 {len(problems)} 处问题：\n  {listed}{more}")
    if not units:
        raise RosterError(f"{path}：名单中没有单位")
    return Roster(path, units, tuple(extra))


@dataclass(frozen=True)
class UnitParams:
    """What the roster sets for one unit's workbook of a form: row counts, item names and prefill keys."""

    counts: dict[str, int]
    names: dict[str, list[str]]
    prefill: dict[str, Any]


def declared_column(name: str, column: str, extra: tuple[str, ...]) -> str | None:
    """The roster header a `roster:` entry reads: its Chinese header, or the entry's own (English) name."""
    found = [header for header in (column, name) if header in extra]
    return found[0] if found else None


def unused_columns(spec: Spec, roster: Roster) -> list[str]:
    """The roster's columns this form neither knows (the roster's own vocabulary) nor declares in `roster:`."""
    declared = {declared_column(name, p.column, roster.extra) for name, p in spec.roster.parameters.items()}
    declared |= {declared_column(key, column, roster.extra) for key, column in spec.roster.prefill.items()}
    return [header for header in roster.extra if header not in declared]


def unused_notice(spec: Spec, roster: Roster) -> str | None:
    """Said by `distribute` and `campaign init`: nothing in the roster is silently ignored."""
    unused = unused_columns(spec, roster)
    if not unused:
        return None
    listed = "、".join(f"“{h}”" for h in unused)
    return (f"注意：名单中的列 {listed} 不是名单的通用列，{spec.template.title} 的说明书（roster 部分）也没有用到，"
            "这些列未写入报表")


def unit_params(spec: Spec, roster: Roster) -> list[UnitParams]:
    """Each unit's parameters and prefill from the columns the spec's `roster:` declares, checked against the spec's
    bounds for every unit before any workbook is made (all problems at once, by row)."""
    mapping = spec.roster
    headers = {name: declared_column(name, p.column, roster.extra) for name, p in mapping.parameters.items()}
    prefill_headers = {key: declared_column(key, column, roster.extra) for key, column in mapping.prefill.items()}
    out: list[UnitParams] = []
    problems: list[str] = []
    for unit in roster.units:
        counts: dict[str, int] = {}
        names: dict[str, list[str]] = {}
        prefill: dict[str, Any] = {}
        for name, declared in mapping.parameters.items():
            header = headers[name]
            if header is None:  # no such column: the spec's default rows
                continue
            text, parameter = unit.columns.get(header, ""), spec.parameters[name]
            if declared.names:  # an empty cell: none
                names[name] = [s.strip() for s in NAME_SEPARATORS.split(text) if s.strip()]
                count = len(names[name])
            elif not text:  # an empty cell: the spec's default
                continue
            elif not text.isdigit():
                problems.append(f"第 {unit.row} 行：{header}“{text}”不是整数")
                continue
            else:
                count = counts[name] = int(text)
            if not parameter.min <= count <= parameter.max:
                problems.append(f"第 {unit.row} 行：{header} 为 {count}，{parameter.label}应在 {parameter.min} 至 {parameter.max} 之间")
        for key, header in prefill_headers.items():
            text = unit.columns.get(header, "") if header else ""
            if not text:
                continue
            if key.startswith(PREVIOUS_PREFIX):  # last year's figures are numbers
                try:
                    prefill[key] = float(text.replace(",", ""))
                except ValueError:
                    problems.append(f"第 {unit.row} 行：{header}“{text}”不是数字")
                continue
            prefill[key] = text
        out.append(UnitParams(counts, names, prefill))
    if problems:
        listed = "\n  ".join(problems[:30])
        more = f"\n  ……另有 {len(problems) - 30} 处" if len(problems) > 30 else ""
        raise RosterError(f"{roster.path}：名单与 {spec.template.title} 不符，{len(problems)} 处：\n  {listed}{more}")
    return out
