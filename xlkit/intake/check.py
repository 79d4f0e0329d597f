"""Check a returned workbook: read it, recompute every formula, apply every rule of its spec."""

from __future__ import annotations

import logging
import zipfile
import zlib
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ..errors import FileProblem, ValueProblem, XlkitError
from ..form.a1 import cell_name
from ..form.compute import calculator, formula_inputs, formula_sources
from ..form.functions import NUM_ERR, VALUE_ERR, Value, XlError, to_text
from ..form.identity import Identity
from ..form.layout import FieldSlot, Layout
from ..form.params import BuildParams
from ..form.placement import build_layout
from ..form.registry import SpecRegistry
from ..form.values import (
    boolean_from_text,
    check_number,
    check_text,
    date_from_serial,
    date_from_text,
    is_choice,
    number_from_text,
    plain_number,
)
from ..kinds import Severity
from .catalogue import CATALOGUE, message, rule_code
from .decode import INVALID, invalid_text
from .discover import display_name
from .formula_text import canonical, canonical_formulas, relocate
from .identify import Located, identify, locate, read_identity
from .narrative import narrative_issues
from .node import read_units
from .package import Package, open_package
from .report import FileReport, Issue, file_issue
from .rows import ValueRow
from .xlsx import RawCell, XlsxReader

Cell = tuple[str, int, int]
CORE_NS = "{http://purl.org/dc/terms/}"
log = logging.getLogger(__name__)
# What a damaged part can raise from below our own checks (decoding, decompressing): the file's fault. Any other
# exception is xlkit's, and is said as such (internal-error), never blamed on the unit.
DAMAGE = (UnicodeError, zlib.error, zipfile.BadZipFile, EOFError, RecursionError)


def check_file(path: str | Path, registry: SpecRegistry) -> FileReport:
    """Never raises for a bad file: every problem becomes an issue of the report."""
    report = FileReport(display_name(path))
    try:
        package = open_package(path)
    except FileProblem as problem:
        report.issues.append(_problem_issue(problem))
        return report
    try:
        for code, detail in package.notes:
            report.issues.append(file_issue(code, detail))
        _check_package(report, package, registry)
    except FileProblem as problem:
        report.issues.append(_problem_issue(problem))
    except MemoryError:
        raise  # the reader process reports it
    except DAMAGE:
        # garbage no spreadsheet writes, met below our own checks: this file fails, the batch goes on
        report.read_ok = False
        report.issues.append(file_issue("content-damaged", "内部数据无法解码"))
    except Exception:
        report.read_ok = False
        report.issues.append(internal_error(report.path, "检查文件内容时"))
    finally:
        package.close()
    return report


def internal_error(path: str, stage: str) -> Issue:
    """An xlkit bug met while reading one file: the traceback to the log for the maintainers, the file an error
    that says whose fault it is (called inside the `except` that caught it)."""
    log.exception("xlkit internal error while reading %s (%s)", path, stage)
    return file_issue("internal-error", stage)


def sheet_limits(layout: Layout) -> dict[str, int]:
    """How large a form sheet's part may be: its fields bound it (inline text, styles), far below a dense sheet."""
    return {sheet.name: 1024 * 1024 + 32 * 1024 * len(sheet.slots) for sheet in layout.sheets}


def _problem_issue(problem: FileProblem) -> Issue:
    return file_issue(problem.code, problem.detail, problem.found, problem.expected)


def _check_package(report: FileReport, package: Package, registry: SpecRegistry) -> None:
    reader = XlsxReader(package)
    report.saved_at = _saved_at(reader)
    report.identity = read_identity(reader)
    if report.identity is not None and report.identity.kind == "summary":  # a roll-up from the level below
        report.units = read_units(reader, report.identity, registry, report.path, report.saved_at)
        return  # none for a department whose units sent nothing: normal, not damage (its units stay 未报送 above)
    found = identify(reader, registry, report.identity)
    try:
        layout = build_layout(found.spec, found.params.shape())
    except XlkitError:  # the spec refuses what the file's parameters ask for
        raise FileProblem("metadata-damaged", "生成参数无法展开为表格布局") from None
    except MemoryError:
        raise
    except Exception:
        report.issues.append(internal_error(report.path, "按模板标识展开表格布局时"))
        return
    report.layout = layout
    reader.sheet_limits = sheet_limits(layout)
    report.read_ok = True
    checker = _Checker(report, reader, layout, found.identity, found.params)
    checker.locate()
    inputs = checker.read_inputs()
    calc = calculator(layout)
    results = calc.compute(inputs)
    for field_id in calc.required_now(results):  # required_if: a blank that its condition makes required
        slot = layout.fields[field_id]
        if inputs.get(field_id) is None and not slot.locked:
            checker.add("required-missing", slot)
    report.values = ValueRow.of(results, layout.field_ids)
    checker.check_formulas(results)
    checker.check_rules(results)
    if found.spec.narrative is not None:  # 审核: the figures the report quotes against the tables
        report.issues += narrative_issues(layout, found.params, results, checker.location)
    checker.check_protection()


class _Checker:
    def __init__(self, report: FileReport, reader: XlsxReader, layout: Layout, identity: Identity, params: BuildParams):
        self.params = params  # this unit's own parameters; `layout` may be shared by every unit of its shape
        self.report = report
        self.reader = reader
        self.layout = layout
        self.spec = layout.spec
        self.identity = identity
        self.location: Mapping[str, Cell] = {}
        self.missing_sheets: set[str] = set()
        self.located = Located()
        self.lookups: dict[str, Callable[[tuple[int, int]], RawCell | None]] = {}  # per sheet: its cells' get

    def raw(self, cell: Cell) -> RawCell | None:
        """The cell as written, its sheet looked up once per check (this runs for every field of every file)."""
        get = self.lookups.get(cell[0])
        if get is None:
            get = self.lookups[cell[0]] = self.reader.cells(cell[0]).get
        return get(cell[1:])

    def add(self, code: str, slot: FieldSlot | None = None, cell: Cell | None = None, found: Any = None, expected: Any = None,
            detail: str = "", severity: Severity | None = None, sheet: str | None = None, message_code: str | None = None) -> None:
        kind = CATALOGUE[message_code or code]
        if cell is None and slot is not None:
            cell = self.location.get(slot.id, (slot.sheet, slot.row, slot.col))
        address = cell_name(cell[1], cell[2]) if cell else None
        sheet = cell[0] if cell else sheet
        label = slot.label_for(self.params) if slot else ""
        text = message(message_code or code, label=label, found=found, expected=expected, detail=detail, sheet=sheet, cell=address)
        self.report.issues.append(Issue(code, severity or kind.severity, slot.id if slot else None, sheet, address, found, expected, text,
                                        label))

    # -------------------------------------------------------------- locate
    def locate(self) -> None:
        located = locate(self.reader, self.layout)
        self.location = located.cells
        self.missing_sheets = set(located.missing_sheets)
        self.located = located
        for old, new in located.renamed.items():
            self.add("sheet-renamed", sheet=new, expected=old)
            if old in self.reader.sheet_limits:
                self.reader.sheet_limits[new] = self.reader.sheet_limits[old]
        for name in located.missing_sheets:
            sheet = next(s for s in self.layout.sheets if s.name == name)
            self.add("sheet-missing", sheet.slots[0] if sheet.slots else None, cell=None, detail=str(len(sheet.slots)), sheet=name)
        unnamed, moved = set(located.unnamed), set(located.moved)
        for slot in self.layout.fields.values() if unnamed or moved else ():
            if slot.id in unnamed:
                self.add("name-missing", slot)
            elif slot.id in moved:
                self.add("field-moved", slot, expected=f"{slot.sheet}!{slot.address}")

    # -------------------------------------------------------------- inputs
    def read_inputs(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        prefilled = {"unit_code": self.identity.unit_code, "unit_name": self.identity.unit_name, "year": self.identity.year}
        location, raw_of = self.location, self.raw
        for slot in self.layout.inputs():
            cell = location.get(slot.id)
            if cell is None:
                continue
            value = self.input_value(slot, raw_of(cell))
            if slot.locked and slot.prefill:
                given = self.params.value_of(slot.prefill)
                expected = given if given is not None else prefilled.get(slot.prefill)
                if to_text(value) != to_text(expected):
                    self.add("identity-changed", slot, found=value, expected=expected)
                value = expected  # identity comes from the metadata, not from an edited cell
            if value is not None:
                values[slot.id] = value
        return values

    def input_value(self, slot: FieldSlot, raw: RawCell | None) -> Any:
        """The value the formulas see, as a spreadsheet sees the cell (a number typed as text stays text, so totals
        equal the unit's own form); anything that does not fit the field is an issue on its cell."""
        vtype = self.spec.types[slot.type]
        value = raw.value if raw else None
        if raw is not None and raw.kind in INVALID:  # NaN, INF, 1_000 stored as a number (Excel's #NUM!), a garbage index
            self.add("invalid-number" if raw.kind == "bad" else "invalid-value", slot, found=invalid_text(raw.kind, str(value)))
            return NUM_ERR if raw.kind == "bad" else VALUE_ERR
        if raw is not None and raw.formula is not None:
            self.add("input-is-formula", slot, found=value, detail=raw.formula)
        if isinstance(value, str) and not value.strip() and raw is not None and raw.kind != "e":
            value = None
        if value is None:
            if slot.required and not slot.locked:
                self.add("required-missing", slot)
            return None
        if raw is not None and raw.kind == "e":
            self.add("wrong-type", slot, found=value)
            return XlError(str(value))  # an error value propagates through the formulas, as in the spreadsheet
        if vtype.base == "date":
            return self.date_value(slot, value)
        if vtype.base == "boolean":
            return self.boolean_value(slot, value)
        if isinstance(value, bool):
            self.add("wrong-type", slot, found=value)
            return value
        try:
            if vtype.base in ("number", "integer"):
                if is_choice(value, vtype, self.spec):
                    return value
                if isinstance(value, str):
                    number = number_from_text(value, vtype)
                    if number is None:
                        self.add("not-a-number", slot, found=value)
                    else:
                        self.add("number-as-text", slot, found=value, expected=plain_number(number))
                    return value
                return check_number(float(value), vtype)
            text = to_text(value)
            return check_text(text, vtype, self.spec)
        except ValueProblem as problem:
            detail = ""
            if problem.code == "bad-format" and vtype.validation:
                detail = str(vtype.validation.get("error_message", ""))
            self.add(problem.code, slot, found=problem.found, expected=problem.expected, detail=detail)
            return value if isinstance(value, (int, float)) else None

    def date_value(self, slot: FieldSlot, value: Any) -> date | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parsed = date_from_serial(float(value))
        elif isinstance(value, str):
            parsed = date_from_text(value)
            if parsed is not None:
                self.add("date-as-text", slot, found=value, expected=parsed.isoformat())
        else:
            parsed = None
        if parsed is None:
            self.add("not-a-date", slot, found=value)
        return parsed

    def boolean_value(self, slot: FieldSlot, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        flag = boolean_from_text(value) if isinstance(value, str) else None
        if flag is None:
            self.add("not-a-boolean", slot, found=value)
        else:
            self.add("boolean-as-text", slot, found=value, expected=flag)
        return flag

    # -------------------------------------------------------------- formulas
    def check_formulas(self, results: dict[str, Value]) -> None:
        moved = self.located.displaced
        cell_field = self.layout.by_cell if moved else {}
        stale: list[tuple[FieldSlot, RawCell, Value]] = []
        overwritten: set[str] = set()
        intact, cached_any = 0, False
        location, raw_of = self.location, self.raw
        for slot in self.layout.formulas():
            cell = location.get(slot.id)
            if cell is None:
                continue
            sheet, raw = cell[0], raw_of(cell)
            expected_text = relocate(slot.formula or "", slot.sheet, cell_field, self.location) if moved else slot.formula or ""
            if raw is None or raw.formula is None:
                found = _shown(raw) if raw else None
                self.add("formula-overwritten", slot, found=found if found is not None else "（空）", expected="=" + expected_text)
                overwritten.add(slot.id)
                continue
            if raw.formula != expected_text:  # the same text is the common case; otherwise compare canonical forms
                expected = canonical_formulas(self.layout)[slot.id] if not moved else canonical(expected_text, sheet)
                if canonical(raw.formula, sheet) != expected:
                    self.add("formula-overwritten", slot, found="=" + raw.formula, expected="=" + expected_text)
                    overwritten.add(slot.id)
                    continue
            intact += 1
            cached = raw.value
            cached_any = cached_any or cached not in (None, "")
            recomputed = results.get(slot.id)
            if type(cached) is float and type(recomputed) is float and abs(cached - recomputed) <= 1e-9 * max(1.0, abs(recomputed)):
                continue  # _same_value's common case, without the call
            if not _same_value(cached, recomputed):
                stale.append((slot, raw, recomputed))
        if stale and intact > 1 and not cached_any:
            # saved by a tool that stores no results at all (openpyxl and the like): one warning, not hundreds
            text = f"文件中的公式都没有保存计算结果（保存文件的软件未计算公式），{len(stale)} 个结果已重新计算，以重新计算为准。"
            self.report.issues.append(Issue("stale-value", "warning", None, None, None, None, len(stale), text))
            return
        # A result that differs because something it reads is already an error (a formula typed over, text or NaN in
        # an input) is that error's consequence: one root cause, one issue
        sources = formula_sources(self.layout) if overwritten else {}
        faulty = {i.field for i in self.report.issues if i.severity == "error" and i.field}
        inputs = formula_inputs(self.layout) if faulty else {}
        for slot, raw, recomputed in stale:
            if overwritten & sources.get(slot.id, frozenset()) or faulty & inputs.get(slot.id, frozenset()):
                continue
            self.add("stale-value", slot, found=_shown(raw) if raw.value is not None else "（无）", expected=recomputed)

    def check_rules(self, results: dict[str, Value]) -> None:
        for check in self.layout.rules:
            if check.required_blanks:
                continue  # the same rule is reported field by field as required-missing
            if results.get(check.result) != check.fail_text:
                continue
            target = self.layout.fields[check.blame[0]] if check.blame else self.layout.fields[check.left]
            self.add(rule_code(check.id), target, found=results.get(check.left), expected=results.get(check.right),
                     detail=check.name_for(self.params), severity=check.severity, message_code="check-failed")
            note = results.get(check.note) if check.note else None
            if check.severity == "warning" and isinstance(note, str) and note.strip():
                self.report.issues[-1].explanation = note.strip()

    def check_protection(self) -> None:
        for sheet in self.layout.sheets:
            if sheet.name in self.missing_sheets:
                continue
            name = self.located.sheet_name(sheet.name)
            if not self.reader.is_protected(name):
                self.add("protection-removed", sheet=name)
        # Workbook structure protection is not checked: LibreOffice drops it on every save (see docs/interop.md).


def _shown(raw: RawCell | None) -> Any:
    """A cell's value as a clerk is told it: a number cell's text that is no number in Excel's terms."""
    if raw is None:
        return None
    return invalid_text(raw.kind, raw.value) if raw.kind in INVALID else raw.value


def _same_value(cached: Any, recomputed: Value) -> bool:
    """Whether a cached result is the recomputed one (numbers to 1e-9 relative). The caller compares two floats, the
    common case, itself."""
    if isinstance(recomputed, (int, float)) and not isinstance(recomputed, bool):
        if cached is None or isinstance(cached, bool) or not isinstance(cached, (int, float)):
            return False
        return abs(float(cached) - float(recomputed)) <= 1e-9 * max(1.0, abs(float(recomputed)))
    if recomputed is None or recomputed == "":
        return cached in (None, "")
    if isinstance(recomputed, bool):  # LibreOffice stores booleans as 1/0
        return cached is recomputed or (isinstance(cached, (int, float)) and float(cached) == float(recomputed))
    return str(cached) == str(recomputed)


def _saved_at(reader: XlsxReader) -> str:
    if "docProps/core.xml" not in reader.package.names:
        return ""
    try:
        root = reader.package.xml("docProps/core.xml")
    except FileProblem:
        return ""
    modified = root.find(f"{CORE_NS}modified")
    return (modified.text or "").strip() if modified is not None else ""


