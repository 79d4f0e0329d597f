"""Read a returned workbook, recompute every formula, and check it against its spec."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from .catalogue import CATALOGUE, message
from .compute import calculator
from .formula import FormulaSyntaxError, Value, XlError, cell_name, parse_ref, quote_sheet, to_text, tokenize
from .layout import BuildParams, FieldSlot, Layout, build_layout
from .meta import Identity
from .package import PackageProblem, open_package
from .read import read_identity
from .registry import SpecRegistry
from .values import ValueProblem, boolean_from_text, check_number, check_text, date_from_serial, date_from_text, number_from_text
from .xlsx import RawCell, XlsxReader

Cell = tuple[str, int, int]
CORE_NS = "{http://purl.org/dc/terms/}"


@dataclass
class Issue:
    code: str
    severity: str
    field: str | None
    sheet: str | None
    cell: str | None
    found: Any
    expected: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "field": self.field, "sheet": self.sheet, "cell": self.cell,
                "found": _jsonable(self.found), "expected": _jsonable(self.expected), "message": self.message}


def _jsonable(value: Any) -> Any:
    if isinstance(value, XlError):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


@dataclass
class FileReport:
    path: str
    issues: list[Issue] = field(default_factory=list)
    identity: Identity | None = None
    layout: Layout | None = None
    values: dict[str, Value] = field(default_factory=dict)  # inputs as read, formulas as recomputed
    saved_at: str = ""
    read_ok: bool = False  # the file was identified and its fields read (layout may be dropped to ship the report)

    @property
    def status(self) -> str:
        severities = {i.severity for i in self.issues}
        return "error" if "error" in severities else "warning" if "warning" in severities else "ok"

    @property
    def readable(self) -> bool:
        return self.read_ok

    def to_dict(self) -> dict[str, Any]:
        ident = self.identity
        return {
            "path": self.path,
            "unit_code": ident.unit_code if ident else None,
            "unit_name": ident.unit_name if ident else None,
            "template": ident.template_id if ident else None,
            "version": ident.template_version if ident else None,
            "status": self.status,
            "issues": [i.to_dict() for i in self.issues],
        }


class _Checker:
    def __init__(self, report: FileReport, reader: XlsxReader, layout: Layout, identity: Identity, params: BuildParams):
        self.params = params  # this unit's own parameters; `layout` may be shared by every unit of its shape
        self.report = report
        self.reader = reader
        self.layout = layout
        self.spec = layout.spec
        self.identity = identity
        self.location: dict[str, Cell] = {}
        self.missing_sheets: set[str] = set()

    def add(self, code: str, slot: FieldSlot | None = None, cell: Cell | None = None, found: Any = None, expected: Any = None,
            detail: str = "", severity: str | None = None, sheet: str | None = None, message_code: str | None = None) -> None:
        kind = CATALOGUE[message_code or code]
        if cell is None and slot is not None:
            cell = self.location.get(slot.id, (slot.sheet, slot.row, slot.col))
        address = cell_name(cell[1], cell[2]) if cell else None
        sheet = cell[0] if cell else sheet
        text = message(message_code or code, label=slot.label_for(self.params) if slot else "", found=found, expected=expected, detail=detail,
                       sheet=sheet, cell=address)
        self.report.issues.append(Issue(code, severity or kind.severity, slot.id if slot else None, sheet, address, found, expected, text))

    # -------------------------------------------------------------- locate
    def locate(self) -> None:
        sheets = self.reader.sheets
        for sheet in self.layout.sheets:
            if sheet.name not in sheets:
                self.missing_sheets.add(sheet.name)
                first = sheet.slots[0] if sheet.slots else None
                self.add("sheet-missing", first, cell=None, detail=str(len(sheet.slots)), sheet=sheet.name)
        for slot in self.layout.fields.values():
            if slot.sheet in self.missing_sheets:
                continue
            text = self.reader.defined_names.get(slot.id)
            spec_cell = (slot.sheet, slot.row, slot.col)
            located = _parse_name(text) if text else None
            if located is None or located[0] not in sheets:
                self.location[slot.id] = spec_cell
                self.add("name-missing", slot, cell=spec_cell)
                continue
            self.location[slot.id] = located
            if located != spec_cell:
                self.add("field-moved", slot, cell=located, expected=f"{slot.sheet}!{slot.address}")

    # -------------------------------------------------------------- inputs
    def read_inputs(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        prefilled = {"unit_code": self.identity.unit_code, "unit_name": self.identity.unit_name, "year": self.identity.year}
        for slot in self.layout.inputs():
            if slot.id not in self.location:
                continue
            sheet, row, col = self.location[slot.id]
            raw = self.reader.cells(sheet).get((row, col))
            value = self.input_value(slot, raw)
            if slot.locked and slot.prefill:
                expected = self.params.prefill.get(slot.prefill, prefilled.get(slot.prefill))
                if to_text(value) != to_text(expected):
                    self.add("identity-changed", slot, found=value, expected=expected)
                value = expected  # identity comes from the metadata, not from an edited cell
            if value is not None:
                values[slot.id] = value
        return values

    def input_value(self, slot: FieldSlot, raw: RawCell | None) -> Any:
        vtype = self.spec.types[slot.type]
        value = raw.value if raw else None
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
            return None
        if vtype.base == "date":
            return self.date_value(slot, value)
        if vtype.base == "boolean":
            return self.boolean_value(slot, value)
        if isinstance(value, bool):
            self.add("wrong-type", slot, found=value)
            return None
        try:
            if vtype.base in ("number", "integer"):
                if isinstance(value, str):
                    number = number_from_text(value, vtype)
                    if number is None:
                        self.add("not-a-number", slot, found=value)
                        return None
                    self.add("number-as-text", slot, found=value, expected=_plain(number))
                    value = number
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
        moved = any(self.location[s.id] != (s.sheet, s.row, s.col) for s in self.layout.fields.values() if s.id in self.location)
        cell_field = self.layout.by_cell if moved else {}
        stale: list[tuple[FieldSlot, Any, Value]] = []
        intact, cached_any = 0, False
        for slot in self.layout.formulas():
            if slot.id not in self.location:
                continue
            sheet, row, col = self.location[slot.id]
            raw = self.reader.cells(sheet).get((row, col))
            expected_text = _relocate(slot.formula or "", slot.sheet, cell_field, self.location) if moved else slot.formula or ""
            if raw is None or raw.formula is None:
                found = raw.value if raw else None
                self.add("formula-overwritten", slot, found=found if found is not None else "（空）", expected="=" + expected_text)
                continue
            if raw.formula != expected_text:  # the same text is the common case; otherwise compare canonical forms
                expected = _canonical_formulas(self.layout)[slot.id] if not moved else _canonical(expected_text, sheet)
                if _canonical(raw.formula, sheet) != expected:
                    self.add("formula-overwritten", slot, found="=" + raw.formula, expected="=" + expected_text)
                    continue
            intact += 1
            cached_any = cached_any or raw.value not in (None, "")
            recomputed = results.get(slot.id)
            if not _same_value(raw.value, recomputed):
                stale.append((slot, raw.value, recomputed))
        if stale and intact > 1 and not cached_any:
            # saved by a tool that stores no results at all (openpyxl and the like): one warning, not hundreds
            text = f"文件中的公式都没有保存计算结果（保存文件的软件未计算公式），{len(stale)} 个结果已重新计算，以重新计算为准。"
            self.report.issues.append(Issue("stale-value", "warning", None, None, None, None, len(stale), text))
            return
        for slot, cached, recomputed in stale:
            self.add("stale-value", slot, found=cached if cached is not None else "（无）", expected=recomputed)

    def check_rules(self, results: dict[str, Value]) -> None:
        for check in self.layout.checks:
            if check.required_blanks:
                continue  # the same rule is reported field by field as required-missing
            if results.get(check.result) != check.fail_text:
                continue
            target = self.layout.fields[check.blame[0]] if check.blame else self.layout.fields[check.left]
            code = "check-" + check.id.split(".")[0].replace("_", "-")
            self.add(code, target, found=results.get(check.left), expected=results.get(check.right), detail=check.name_for(self.params),
                     severity=check.severity, message_code="check-failed")

    def check_protection(self) -> None:
        for sheet in self.layout.sheets:
            if sheet.name in self.missing_sheets:
                continue
            self.reader.cells(sheet.name)
            if not self.reader.protected.get(sheet.name, False):
                self.add("protection-removed", sheet=sheet.name)
        # Workbook structure protection is not checked: LibreOffice drops it on every save (see README).


def _canonical_formulas(layout: Layout) -> dict[str, str]:
    cached = getattr(layout, "_canonical", None)
    if cached is None:
        cached = layout._canonical = {s.id: _canonical(s.formula or "", s.sheet) for s in layout.formulas()}  # type: ignore[attr-defined]
    return cached


def _plain(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number


def _same_value(cached: Any, recomputed: Value) -> bool:
    if isinstance(recomputed, (int, float)) and not isinstance(recomputed, bool):
        if cached is None or isinstance(cached, bool) or not isinstance(cached, (int, float)):
            return False
        return abs(float(cached) - float(recomputed)) <= 1e-9 * max(1.0, abs(float(recomputed)))
    if recomputed is None or recomputed == "":
        return cached in (None, "")
    if isinstance(recomputed, bool):  # LibreOffice stores booleans as 1/0
        return cached is recomputed or (isinstance(cached, (int, float)) and float(cached) == float(recomputed))
    return str(cached) == str(recomputed)


@lru_cache(maxsize=65536)  # every unit's file of one layout has the same names
def _parse_name(text: str) -> Cell | None:
    text = text.strip().lstrip("=")
    if "!" not in text or "," in text:
        return None
    try:
        ref = parse_ref(text.replace("$", ""))
    except (AssertionError, ValueError):
        return None
    if ref.sheet is None or ref.is_range:
        return None
    return (ref.sheet, ref.row, ref.col)


def _canonical(text: str, own_sheet: str) -> str:
    """Formula text compared without $, case, spaces or quoting differences."""
    try:
        tokens = tokenize(text.lstrip("="))
    except FormulaSyntaxError:
        return "\x00" + text
    out = []
    for kind, token in tokens:
        if kind == "ref":
            ref = parse_ref(token.replace("$", ""))
            sheet = ref.sheet if ref.sheet and ref.sheet != own_sheet else None
            body = cell_name(ref.row, ref.col) + (f":{cell_name(ref.row2, ref.col2)}" if ref.is_range else "")
            out.append(f"{quote_sheet(sheet)}!{body}" if sheet else body)
        elif kind == "number":
            out.append(repr(float(token)))
        elif kind in ("func", "bool"):
            out.append(token.upper())
        else:
            out.append(token)
    return "".join(out)


def _relocate(text: str, own_sheet: str, cell_field: dict[Cell, str], location: dict[str, Cell]) -> str:
    """The spec's formula with each referenced field at its place in this file."""
    out = []
    for kind, token in tokenize(text):
        if kind != "ref":
            out.append(token)
            continue
        ref = parse_ref(token)
        sheet = ref.sheet or own_sheet
        first = location.get(cell_field.get((sheet, ref.row, ref.col), ""), (sheet, ref.row, ref.col))
        last = location.get(cell_field.get((sheet, ref.row2, ref.col2), ""), (sheet, ref.row2, ref.col2))
        body = cell_name(first[1], first[2]) + (f":{cell_name(last[1], last[2])}" if ref.is_range else "")
        out.append(f"{quote_sheet(first[0])}!{body}" if first[0] != own_sheet else body)
    return "".join(out)


def _saved_at(reader: XlsxReader) -> str:
    if "docProps/core.xml" not in reader.package.names:
        return ""
    try:
        root = reader.package.xml("docProps/core.xml")
    except PackageProblem:
        return ""
    modified = root.find(f"{CORE_NS}modified")
    return (modified.text or "").strip() if modified is not None else ""


def check_file(path: str | Path, registry: SpecRegistry) -> FileReport:
    """Never raises for a bad file: every problem becomes an issue of the report."""
    report = FileReport(str(path))
    try:
        package = open_package(path)
    except PackageProblem as problem:
        report.issues.append(_file_issue(problem.code, problem.detail))
        return report
    try:
        for code, detail in package.notes:
            report.issues.append(_file_issue(code, detail))
        _check_package(report, package, registry)
    except PackageProblem as problem:
        report.issues.append(_file_issue(problem.code, problem.detail))
    finally:
        package.close()
    return report


def _file_issue(code: str, detail: str = "", found: Any = None, expected: Any = None) -> Issue:
    kind = CATALOGUE[code]
    return Issue(code, kind.severity, None, None, None, found, expected, message(code, detail=detail, found=found, expected=expected))


def _check_package(report: FileReport, package: Any, registry: SpecRegistry) -> None:
    reader = XlsxReader(package)
    report.saved_at = _saved_at(reader)
    identity = read_identity(reader)
    if identity is None:
        report.issues.append(_file_issue("not-our-template"))
        return
    report.identity = identity
    if not identity.template_id:
        report.issues.append(_file_issue("not-our-template"))
        return
    spec = registry.by_fingerprint.get(identity.fingerprint)
    if spec is None:
        current = registry.current
        if identity.template_id not in registry.template_ids:
            report.issues.append(_file_issue("other-template", found=identity.template_id, expected=current.template.title))
        else:
            report.issues.append(_file_issue("unknown-version", found=f"{identity.template_version}（{identity.fingerprint}）",
                                             expected=current.template.version))
        return
    try:
        params = BuildParams.from_json(identity.params_json)
        layout = build_layout(spec, params.shape())
    except Exception as exc:
        report.issues.append(_file_issue("metadata-damaged", f"build.params: {exc}"))
        return
    report.layout = layout
    report.read_ok = True
    checker = _Checker(report, reader, layout, identity, params)
    checker.locate()
    inputs = checker.read_inputs()
    results = calculator(layout).compute(inputs)
    report.values = results
    checker.check_formulas(results)
    checker.check_rules(results)
    checker.check_protection()


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def collect_files(inputs: list[str | Path]) -> list[Path]:
    """Files given, and .xlsx/.xlsm found in directories given; each once, in a stable order."""
    seen: set[Path] = set()
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES) if path.is_dir() else [path]
        for p in found:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out
