"""The roster of units: who gets a workbook and who must send one back.

A project roster (with 项目编码 and 项目名称 columns) lists projects instead: each project is what reports, and the
unit of the row carries it out (its implementer), so a unit with three projects gets three workbooks."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import RosterError

# English header, then the Chinese headers accepted for it.
HEADERS: dict[str, tuple[str, ...]] = {
    "unit_code": ("单位编码", "单位代码", "预算编码"),
    "unit_name": ("单位名称",),
    "parent_code": ("主管部门编码", "部门编码"),
    "parent_name": ("主管部门", "主管部门名称", "部门名称"),
    "sub_units": ("二级机构",),
    "key_projects": ("重点项目",),
    "projects": ("项目数", "项目个数"),
    "contact_name": ("联系人",),
    "contact_phone": ("联系电话", "联络电话"),
    "project_code": ("项目编码", "项目代码"),
    "project_name": ("项目名称",),
    "budget": ("预算数", "项目预算数", "预算金额"),
}
REQUIRED = ("unit_code", "unit_name")
NAME_SEPARATORS = re.compile(r"[；;、|]")


@dataclass(frozen=True)
class RosterUnit:
    code: str
    name: str
    parent_code: str = ""
    parent_name: str = ""
    sub_units: tuple[str, ...] | None = None  # None: the spec's default rows
    projects: int | None = None
    contact_name: str = ""
    contact_phone: str = ""
    row: int = 0
    implementer: str = ""  # a project roster: the unit carrying the project out (code and name are the project's)
    implementer_code: str = ""
    budget: float | None = None  # a project roster: the project's budget (万元), as the bureau set it
    key_projects: tuple[str, ...] = ()  # names of the unit's key projects: each gets its own 项目自评表 sheet

    @property
    def department(self) -> str:
        return self.parent_name or self.parent_code or "（未分部门）"


@dataclass
class Roster:
    path: Path
    units: list[RosterUnit] = field(default_factory=list)

    def by_code(self) -> dict[str, RosterUnit]:
        return {u.code: u for u in self.units}


def _rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:
            raise RosterError(f"{path}: cannot read roster workbook ({type(exc).__name__}: {exc})") from None
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
            raise RosterError(f"{path}: roster is neither UTF-8 nor GB18030 text") from None
    except OSError as exc:
        raise RosterError(f"{path}: cannot read roster: {exc.strerror or exc}") from None
    return list(csv.reader(io.StringIO(text)))


def load_roster(path: str | Path) -> Roster:
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise RosterError(f"{path}: roster is empty")
    columns: dict[str, int] = {}
    for index, header in enumerate(rows[0]):
        name = header.strip()
        for key, chinese in HEADERS.items():
            if name == key or name in chinese:
                columns[key] = index
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        accepted = "; ".join(f"{k} ({'/'.join(HEADERS[k])})" for k in missing)
        raise RosterError(f"{path}: roster lacks column(s) {accepted}")
    problems: list[str] = []
    units: list[RosterUnit] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def get(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index].strip() if index is not None and index < len(row) else ""

        code, name = get("unit_code"), get("unit_name")
        implementer, implementer_code, budget = "", "", None
        if "project_code" in columns:  # a project roster: the row's project is what reports
            implementer, implementer_code = name, code
            code, name = get("project_code"), get("project_name")
            if not code or not name:
                problems.append(f"row {number}: project code and name (项目编码, 项目名称) are both needed")
                continue
            budget_text = get("budget").replace(",", "")
            try:
                budget = float(budget_text) if budget_text else None
            except ValueError:
                problems.append(f"row {number}: budget (预算数) {budget_text!r} is not a number")
        if not code:
            problems.append(f"row {number}: unit code (单位编码) is empty")
            continue
        if not re.fullmatch(r"[0-9A-Za-z-]{1,30}", code):
            problems.append(f"row {number}: unit code {code!r} must be letters, digits or '-' (at most 30)")
        if not name:
            problems.append(f"row {number}: unit {code} has no name (单位名称)")
        if code in seen:
            problems.append(f"row {number}: unit code {code} repeats row {seen[code]}")
            continue
        seen[code] = number
        projects_text = get("projects")
        projects = None
        if projects_text:
            if not projects_text.isdigit():
                problems.append(f"row {number}: project count (项目数) {projects_text!r} is not a whole number")
            else:
                projects = int(projects_text)
        subs_text = get("sub_units")
        # an empty 二级机构 cell means the unit has none; no such column means the spec's default rows
        subs = tuple(s.strip() for s in NAME_SEPARATORS.split(subs_text) if s.strip()) if "sub_units" in columns else None
        keys = tuple(s.strip() for s in NAME_SEPARATORS.split(get("key_projects")) if s.strip())
        units.append(RosterUnit(code, name, get("parent_code"), get("parent_name"), subs, projects,
                                get("contact_name"), get("contact_phone"), number, implementer, implementer_code, budget, keys))
    if problems:
        listed = "\n  ".join(problems[:30])
        raise RosterError(f"{path}: {len(problems)} problem(s) in the roster:\n  {listed}")
    if not units:
        raise RosterError(f"{path}: roster lists no units")
    return Roster(path, units)
