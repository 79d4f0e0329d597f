"""Many returned workbooks into one account: who sent what, what is accepted, the figures."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConsolidationError
from ..form.compute import calculator
from ..form.functions import Value
from ..form.params import BuildParams
from ..form.placement import build_layout
from ..form.registry import registry_for
from ..form.spec import Spec
from ..intake.batch import plan_formulas, shape_hint
from ..intake.check import check_file
from ..intake.discover import collect_files, display_name
from ..intake.report import FileReport, Issue, file_issue
from ..intake.rows import columns
from ..kinds import FileState
from .isolate import Outcome, Workers, run_isolated
from .roster import Roster
from .wide_csv import csv_safe, field_order, write_wide_csv

if TYPE_CHECKING:  # imported when a frame is made: `xlkit check` never needs pandas (a third of its start-up)
    import pandas as pd

__all__ = ["Consolidation", "FileStatus", "account", "consolidate", "csv_safe", "field_order", "write_wide_csv"]  # the CSV's, here too

STATUS_LABELS: dict[FileState, str] = {
    "accepted": "已接收",
    "accepted-warnings": "已接收（有警告）",
    "accepted-errors": "已接收（有错误）",  # in the totals only with include_errors
    "rejected": "已拒收",
    "superseded": "已被替代",
    "missing": "未报送",
    "empty": "无已接收单位",  # a summary of the level below that carries no unit (its department's units sent nothing)
}
EMPTY_SUMMARY = "汇总表无已接收单位"
OUTSIDE_ROSTER = "（名单外）"
DUPLICATE = "重复报送"  # a unit that reached this level twice (two roll-ups, or directly and through one)


@dataclass
class FileStatus:
    """One input file, or one roster unit that sent nothing (path "")."""

    path: str
    status: FileState
    reason: str = ""
    unit_code: str = ""
    unit_name: str = ""
    department: str = ""
    year: str = ""
    saved_at: str = ""
    in_roster: bool | None = None
    issues: list[Issue] = field(default_factory=list)
    in_totals: bool = False  # counted in the bureau's figures
    via: str = ""  # the summary of the level below it came through, with its own source file
    form: str = ""  # the template id of the workbook, when it was identified
    within: str = ""  # a key project's sheet inside a unit's workbook: that workbook (`path` is then `<file>#kp<n>`)
    issuer: str = ""  # the bureau the workbook was distributed by (its build parameters' prefill `issuer`)

    @property
    def label(self) -> str:
        if self.status == "accepted-errors" and not self.in_totals:
            return "有错误（未计入汇总）"
        return STATUS_LABELS[self.status]

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")


@dataclass
class Consolidation:
    spec: Spec
    year: str
    files: list[FileStatus]  # every input file, then roster units with no accepted file
    frame: pd.DataFrame  # one row per included unit: unit_code, unit_name, department, status, file, then field ids
    roster: Roster | None = None
    others: dict[str, Consolidation] = field(default_factory=dict)  # other forms in the same run (项目 forms), by template id
    previous: dict[str, Mapping[str, Value]] = field(default_factory=dict)  # last year's values by unit code (上年对比)
    fields: list[str] = field(default_factory=list)  # every field id of the form's workbooks in the totals, blank or not
    department: str = ""  # a 主管部门's own summary (by_department): written into it, so the level above knows it when empty

    @property
    def included(self) -> list[FileStatus]:
        """The units in the bureau's figures: accepted files, those with errors only when asked for."""
        return [f for f in self.files if f.in_totals]

    @property
    def all_files(self) -> list[FileStatus]:
        """Every input file of the run, whichever form it holds."""
        return self.files + [f for other in self.others.values() for f in other.files]


def check_one(item: tuple[str, tuple[str, ...], bool] | tuple[str, tuple[str, ...], bool, int]) -> list[FileReport]:
    """Worker entry point: check one file; the layout stays behind (the values and issues travel). A summary of
    the level below gives one report per unit it carries, unless `whole` (then its own, the units inside). A batch
    check adds how many files of the file's shape the run has (`plan_formulas`)."""
    path, spec_paths, whole, *batch = item
    report = check_file(path, registry_for(spec_paths))
    if batch and report.layout is not None:
        plan_formulas(calculator(report.layout), batch[0])
    report.layout = None
    return [report] if whole else report.units or [report]


def read_all(paths: list[Path], spec_paths: tuple[str, ...] = (), jobs: int | None = None, timeout: float = 120.0,
             memory_mb: int | None = 2048, progress: Callable[[], None] | None = None, whole: bool = False,
             workers: Workers | None = None, by_shape: bool = True) -> list[FileReport]:
    """Check every file in its own reader process, bounded in time and memory; a reader failure becomes that
    file's `reader-crash`. Reports come in the order of `paths` (`whole`: exactly one per path). `workers`: readers
    kept from an earlier call (a server's), which then set the bounds. `by_shape`, the batch check: files that look
    of one shape (`intake.batch`) go to one reader one after another, which sets the shape up once; without it
    (the plain path, same reports) files go out in their order."""
    jobs = jobs or os.cpu_count() or 1
    affinity = [shape_hint(p) for p in paths] if by_shape and not workers else None
    items: list[Any] = [(str(p), spec_paths, whole) for p in paths]
    if affinity is not None:
        shapes = Counter(affinity)
        items = [(*item, shapes[hint]) if hint else item for item, hint in zip(items, affinity, strict=True)]

    def tick(_outcome: Outcome) -> None:
        if progress:
            progress()

    registry_for(spec_paths)  # loaded before the readers fork
    outcomes = workers.run(items, tick) if workers else run_isolated(check_one, items, jobs, timeout=timeout, memory_mb=memory_mb,
                                                                      on_outcome=tick, affinity=affinity)
    reports: list[FileReport] = []
    for path, outcome in zip(paths, outcomes, strict=True):
        if outcome.ok:
            reports.extend(outcome.value)
        else:
            report = FileReport(display_name(path))
            report.issues.append(file_issue("reader-crash", outcome.failure))
            reports.append(report)
    return reports


def consolidate(
    inputs: list[str | Path],
    roster: Roster | None = None,
    spec_paths: tuple[str, ...] = (),
    year: str | int | None = None,
    strict: bool = False,
    jobs: int | None = None,
    timeout: float = 120.0,
    progress: Callable[[], None] | None = None,
    paths: list[Path] | None = None,
    include_errors: bool = False,
    memory_mb: int | None = 2048,
    roll_up: bool = False,
) -> Consolidation:
    paths = paths if paths is not None else collect_files(inputs)
    if not paths:
        raise ConsolidationError(f"在 {'、'.join(map(str, inputs))} 中没有找到任何文件")
    reports = read_all(paths, spec_paths, jobs, timeout, memory_mb, progress=progress)
    registry = registry_for(spec_paths)
    return account(reports, registry.current, roster, year, strict, include_errors, roll_up, registry.forms())


def account(reports: list[FileReport], spec: Spec, roster: Roster | None, year: str | int | None, strict: bool = False,
            include_errors: bool = False, roll_up: bool = False, forms: dict[str, Spec] | None = None) -> Consolidation:
    """Give every file a status, pick one file per unit (per project, for a project form), list units that sent
    nothing. Workbooks of other forms (`forms`, by template id) are accounted apart, each with its own spec."""
    roster_units = roster.by_code() if roster else {}
    readable = [r for r in reports if r.readable and r.identity is not None]
    campaign_year = str(year) if year is not None else _most_common_year(readable)
    files: list[FileStatus] = []
    candidates: dict[tuple[str, str], list[tuple[FileReport, FileStatus]]] = {}
    for report in reports:
        ident = report.identity
        status = FileStatus(report.path, "rejected", issues=list(report.issues), saved_at=report.saved_at, via=report.via)
        files.append(status)
        if ident is not None:
            status.unit_code, status.unit_name, status.year, status.form = ident.unit_code, ident.unit_name, ident.year, ident.template_id
            status.department = _department(ident.unit_code, ident.params_json, roster_units)
            status.issuer = _prefill(ident.params_json, "issuer")
            status.in_roster = ident.unit_code in roster_units if roster and ident.template_id == spec.template.id else None
        summary = ident is not None and ident.kind == "summary" and not report.issues  # one carrying no unit (else: its units)
        if not report.readable and not summary:
            first = next((i for i in report.issues if i.severity == "error"), None)
            status.reason = first.message if first else "无法读取"
            if not status.unit_code:  # unreadable: name the unit after the file name `<code>_<name>.xlsx` when it fits the roster
                guess = Path(report.path).name.split("_", 1)[0]
                if guess in roster_units:
                    unit = roster_units[guess]
                    status.unit_code, status.unit_name, status.department, status.in_roster = unit.code, unit.name, unit.department, True
                    status.reason += "（单位按文件名识别）"
            continue
        if (report.via or summary) and not roll_up:  # a summary stands in for units only when the bureau says it consolidates a level below
            status.reason = "这是下级汇总表，不是单位报表；汇总下级汇总表须指定 --roll-up"
            continue
        if campaign_year and status.year != campaign_year:
            status.reason = f"年度为 {status.year or '（空）'}，不是 {campaign_year} 年度"
            continue
        if summary:  # read, and nothing in it: its department's units stay 未报送, and their lines say why
            status.status, status.unit_name = "empty", ""
            status.department = "" if status.department == OUTSIDE_ROSTER else status.department
            status.reason = EMPTY_SUMMARY + (f"（{status.department}）" if status.department else "")
            continue
        if not status.unit_code:
            status.reason = "文件中没有单位编码"
            continue
        candidates.setdefault((status.form, status.unit_code), []).append((report, status))
    for entries in candidates.values():
        entries.sort(key=lambda e: (e[0].saved_at, e[0].path))
        if strict:  # a file with errors is rejected first, so that a unit's earlier clean file still counts
            for _report, status in entries:
                if status.errors:
                    status.reason = f"有 {status.errors} 个错误，按 --strict 拒收"
            entries = [e for e in entries if not e[1].errors]
            if not entries:
                continue
        winner = entries[-1][1]
        for _report, status in entries[:-1]:
            status.status = "superseded"
            if status.via or winner.via:  # the same unit reached this level twice: counted once, and said so
                status.reason = f"{DUPLICATE}，已按 {winner.via or Path(winner.path).name} 计入一次"
            else:
                status.reason = f"同一单位有保存时间更晚的文件：{Path(winner.path).name}"
        winner.in_totals = include_errors or not winner.errors
        winner.status = "accepted-errors" if winner.errors else "accepted-warnings" if winner.warnings else "accepted"
        notes = []
        if winner.errors:
            notes.append(f"{winner.errors} 个错误" + ("" if winner.in_totals else "，未计入汇总（退回修改后再报）"))
        if winner.warnings:
            notes.append(f"{winner.warnings} 个警告")
        if roster and winner.in_roster is False:
            notes.append("单位不在名单中")
        winner.reason = "；".join(notes)
    values = {r.path: r.values for r in reports}
    forms = {**(forms or {}), **{entry.loaded.template.id: entry.loaded for entry in spec.compose}}
    others = {form: [f for f in files if f.form == form] for form in dict.fromkeys(f.form for f in files)
              if form and form != spec.template.id and form in forms}
    files = [f for f in files if f.form not in others]
    for entry in spec.compose:  # key projects inside the units' workbooks join the project forms sent on their own
        form = entry.loaded.template.id
        sent = others.get(form, [])
        members = sent + _embedded(entry.id, entry.loaded, [f for f in files if f.in_totals], values, sent)
        if members:
            others[form] = members
    sent_codes = {f.unit_code for f in files if f.unit_code}
    for unit in roster.units if roster else []:
        if unit.code not in sent_codes:  # a unit whose files were all rejected is listed with them, not as missing
            files.append(FileStatus("", "missing", "未收到文件", unit.code, unit.name, unit.department, campaign_year, in_roster=True))
    parts = {form: Consolidation((forms or {})[form], campaign_year, members, _frame([f for f in members if f.in_totals], values, None),
                                 fields=field_order((forms or {})[form], [values[f.path] for f in members if f.in_totals]))
             for form, members in others.items()}
    included = [f for f in files if f.in_totals]
    return Consolidation(spec, campaign_year, files, _frame(included, values, roster), roster, parts,
                         fields=field_order(spec, [values[f.path] for f in included]))


def entity(spec: Spec) -> str:
    """What one row of the form is, in the bureau's words: 单位, or 项目 for a project form (the spec's summary says)."""
    return spec.summary.entity if spec.summary else "单位"


def by_department(consolidation: Consolidation) -> dict[str, Consolidation]:
    """One consolidation per 主管部门, holding only its units: each is written as that department's summary,
    which the next level consolidates again (节点汇总)."""
    out: dict[str, Consolidation] = {}
    frame = consolidation.frame
    for department in dict.fromkeys(f.department for f in consolidation.files if f.department):
        files = [f for f in consolidation.files if f.department == department]
        roster = None
        if consolidation.roster is not None:
            roster = Roster(consolidation.roster.path, [u for u in consolidation.roster.units if u.department == department])
        out[department] = Consolidation(consolidation.spec, consolidation.year, files,
                                        frame[frame["department"] == department].reset_index(drop=True), roster, department=department)
    return out


def identity_fields(spec: Spec) -> dict[str, str]:
    """The fields of a form that hold what reports (prefill unit_code, unit_name: a project form's are the project's)."""
    return {str(slot.prefill): slot.id for slot in build_layout(spec).fields.values() if slot.prefill in ("unit_code", "unit_name")}


def _embedded(prefix: str, spec: Spec, units: list[FileStatus], values: dict[str, Mapping[str, Value]],
              sent: list[FileStatus]) -> list[FileStatus]:
    """A status per key-project sheet of the units' workbooks (`<prefix><n>.` fields), its values under `path#kp<n>`;
    a project also sent on its own counts once, by its own file. The copy's code and name are its fields that a
    workbook of that form has prefilled as its identity (the spec says which)."""
    form, identity = spec.template.id, identity_fields(spec)
    alone = {f.unit_code: f for f in sent if f.in_totals}
    out = []
    composes: dict[int, bool] = {}  # by layout: whether its fields include any key-project sheet
    for unit in units:
        row = values[unit.path]
        keys = getattr(row, "keys_", row)
        if id(keys) not in composes:
            composes[id(keys)] = any(key.startswith(prefix) for key in keys)
        if not composes[id(keys)]:
            continue
        for n in itertools.count(1):
            head = f"{prefix}{n}."
            own = {k[len(head):]: v for k, v in values[unit.path].items() if k.startswith(head)}
            if not own:
                break
            code = str(own.get(identity.get("unit_code", "")) or f"{unit.unit_code}-{prefix}{n}")
            name = str(own.get(identity.get("unit_name", "")) or "")
            status = FileStatus(f"{unit.path}#{prefix}{n}", unit.status, "", code, name, unit.department,
                                unit.year, unit.saved_at, None, in_totals=True, via=f"{Path(unit.path).name}（重点项目{n}）", form=form,
                                within=unit.path)
            if code in alone:
                status.status, status.in_totals = "superseded", False
                status.reason = f"该项目另有单独报送的项目表，已按 {Path(alone[code].path).name} 计入一次"
            values[status.path] = own
            out.append(status)
    return out


def departments(consolidation: Consolidation) -> list[str]:
    """Every 主管部门 in roster order (one with no unit in the totals too), then those only files name."""
    roster_units = consolidation.roster.units if consolidation.roster else []
    names = [u.department for u in roster_units] + [f.department for f in consolidation.files]
    return list(dict.fromkeys(name for name in names if name))


def _most_common_year(reports: list[FileReport]) -> str:
    years = Counter(r.identity.year for r in reports if r.identity and r.identity.year)
    return years.most_common(1)[0][0] if years else ""


def _department(code: str, params_json: str, roster_units: dict[str, Any]) -> str:
    if code in roster_units:
        return str(roster_units[code].department)
    return _prefill(params_json, "parent_name") or OUTSIDE_ROSTER


def _prefill(params_json: str, key: str) -> str:
    """One prefilled value of a workbook's build parameters; "" when absent or unreadable (the file says nothing)."""
    try:
        value = BuildParams.from_json(params_json).prefill.get(key)
    except (ValueError, TypeError, AttributeError):
        value = None
    return str(value).strip() if isinstance(value, str) else ""


def _frame(included: list[FileStatus], values: dict[str, Mapping[str, Value]], roster: Roster | None) -> pd.DataFrame:
    """Built column by column: one copy of the units' values, whatever N is."""
    import pandas as pd

    order = {u.code: i for i, u in enumerate(roster.units)} if roster else {}
    included = sorted(included, key=lambda f: (order.get(f.unit_code, len(order)), f.department, f.unit_code))
    data: dict[str, Any] = {
        "unit_code": [f.unit_code for f in included], "unit_name": [f.unit_name for f in included],
        "department": [f.department for f in included], "status": [f.status for f in included], "file": [f.path for f in included],
    }
    data.update(columns([values[f.path] for f in included]))
    return pd.DataFrame(data, columns=list(data))


def column_values(consolidation: Consolidation, column: Any) -> list[Value]:
    """A summary column's value for each included unit (field value, or a count of non-blank fields)."""
    frame = consolidation.frame
    if column.field is not None:
        if column.field not in frame.columns:
            return [None] * len(frame)
        # `_blank` written out: called for each of ten thousand units' values of every column
        return [None if v is None or v == "" or (isinstance(v, float) and v != v) else v for v in frame[column.field].tolist()]
    matching = [c for c in frame.columns if fnmatch(str(c), column.count)]
    counts = [0.0] * len(frame)
    wanted = column.equals
    for name in matching:
        for i, value in enumerate(frame[name].tolist()):
            if not _blank(value) and (wanted is None or _same(value, wanted)):
                counts[i] += 1
    return list[Value](counts)


def _same(value: Any, wanted: str | float) -> bool:
    """A field's value is the one a count asks for: text as written, numbers as numbers."""
    if isinstance(wanted, str):
        return str(value).strip() == wanted
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) == float(wanted)


def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and value != value)
