"""Which form, version and unit a workbook is, and where each of its fields is: the one way xlkit opens a
generated workbook, used by check, fill and fields alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..caches import memo
from ..errors import FileProblem, WorkbookError, XlkitError
from ..form.a1 import parse_ref
from ..form.functions import to_text
from ..form.identity import META_SHEET, Identity
from ..form.layout import Layout
from ..form.params import BuildParams, make_params
from ..form.placement import build_layout
from ..form.registry import SpecRegistry, registry_for
from ..form.spec import Spec
from .catalogue import message
from .decode import INVALID
from .package import open_package
from .xlsx import WorkbookPart, XlsxReader

Cell = tuple[str, int, int]


def read_identity(reader: XlsxReader) -> Identity | None:
    """The `_xlkit` sheet's key/value rows; None when the workbook has no such sheet."""
    if META_SHEET not in reader.sheets:
        return None
    cells = reader.cells(META_SHEET)
    rows: dict[str, str] = {}
    for (row, col), raw in cells.items():
        if raw.kind in INVALID:  # xlkit writes this sheet: a garbage index or number in it is damage, never a value
            raise FileProblem("metadata-damaged", f"{META_SHEET} 表第 {row + 1} 行有无效{INVALID[raw.kind]}")
        if col == 0 and raw.value is not None:
            value = cells.get((row, 1))
            rows[str(raw.value)] = "" if value is None or value.value is None else to_text(value.value)
    return Identity.from_rows(rows)


@dataclass
class Identified:
    identity: Identity
    spec: Spec
    params: BuildParams  # this unit's own: names of its rows, its prefilled identity


def identify(reader: XlsxReader, registry: SpecRegistry, identity: Identity | None = None) -> Identified:
    """Match a workbook to the spec it was built from (`identity`: its `_xlkit` rows, when already read); a
    FileProblem (not-our-template, other-template, unknown-version, metadata-damaged) when it cannot be."""
    identity = identity or read_identity(reader)
    if identity is None or not identity.template_id:
        raise FileProblem("not-our-template")
    spec = registry.by_fingerprint.get(identity.fingerprint)
    if spec is not None and spec.template.id != identity.template_id:
        raise FileProblem("metadata-damaged", f"模板编号“{identity.template_id[:40]}”与模板指纹不一致")
    if spec is None:
        if identity.template_id not in registry.template_ids:
            raise FileProblem("other-template", found=identity.template_id, expected=registry.current.template.title)
        raise FileProblem("unknown-version", version_problem(registry, identity), found=f"{identity.template_version}（{identity.fingerprint}）",
                          expected=registry.current.template.version)
    try:
        stored = BuildParams.from_json(identity.params_json)
        # the counts drive the layout: the spec's bounds hold them, whatever the file says
        params = make_params(spec, stored.prefill, names=stored.items, constants=stored.constants)
    except (XlkitError, ValueError, TypeError, AttributeError):
        raise FileProblem("metadata-damaged", "生成参数（行数、名称）超出模板允许的范围或格式错误") from None
    return Identified(identity, spec, params)


def version_problem(registry: SpecRegistry, identity: Identity) -> str:
    """Who can fix an unknown version: the unit (an old template) or the bureau (a spec edited without a new version)."""
    if any(s.template.id == identity.template_id and s.template.version == identity.template_version for s in registry.specs):
        return ("：该版本的格式说明（spec）在此文件生成后被修改过（指纹不同），或文件的模板标识被改动过。财政部门：请把生成此文件时的 "
                "spec 保存为存档版本（放在 --spec 或 --forms 目录的 archive/ 下）后再检查；今后修改格式说明请同时修改版本号并重新下发。")
    return "，请使用最新下发的模板填报；若此版本是本局以前下发的，请财政部门把该版本的格式说明（spec）保存为存档版本后再检查。"


@dataclass(frozen=True)
class Located:
    """Where each field of a layout is in one file, found through the file's own defined names. Shared by every
    file with the same workbook part, so it cannot be changed."""

    cells: Mapping[str, Cell] = field(default_factory=lambda: MappingProxyType({}))
    missing_sheets: tuple[str, ...] = ()  # form sheets the file does not have
    unnamed: tuple[str, ...] = ()  # fields whose name is gone: read at the template's cell
    moved: tuple[str, ...] = ()  # fields the name puts elsewhere than the template did
    renamed: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # form sheet -> its name in this file
    displaced: bool = False  # some field is not at the template's address (moved, or on a renamed sheet)

    def sheet_name(self, form_sheet: str) -> str:
        return self.renamed.get(form_sheet, form_sheet)


def locate(reader: XlsxReader, layout: Layout) -> Located:
    """Where each field is, by the file's defined names: the same for every file with the same workbook part,
    so it is worked out once per part and shared (read-only)."""
    part = reader.workbook
    return _remembered_locate(layout, part) if part.shared else _locate(layout, part)


def _locate(layout: Layout, workbook: WorkbookPart) -> Located:
    cells: dict[str, Cell] = {}
    missing_sheets: list[str] = []
    unnamed: list[str] = []
    moved: list[str] = []
    renamed: dict[str, str] = {}
    sheets, names = workbook.sheets, workbook.names
    form_sheets = {s.name for s in layout.sheets}
    for sheet in layout.sheets:
        if sheet.name in sheets:
            continue
        # a sheet renamed by the unit: the defined names of its fields followed it to one sheet the form does not have
        targets = {cell[0] for slot in sheet.slots if (text := names.get(slot.id)) and (cell := parse_name(text))}
        target = next(iter(targets)) if len(targets) == 1 else None
        if target is not None and target in sheets and target not in form_sheets and target not in renamed.values():
            renamed[sheet.name] = target
        else:
            missing_sheets.append(sheet.name)
    missing = set(missing_sheets)
    for slot in layout.fields.values():
        if slot.sheet in missing:
            continue
        spec_cell = (renamed.get(slot.sheet, slot.sheet), slot.row, slot.col)
        text = names.get(slot.id)
        cell = parse_name(text) if text else None
        if cell is None or cell[0] not in sheets:
            cells[slot.id] = spec_cell
            unnamed.append(slot.id)
            continue
        cells[slot.id] = cell
        if cell != spec_cell:
            moved.append(slot.id)
    return Located(MappingProxyType(cells), tuple(missing_sheets), tuple(unnamed), tuple(moved), MappingProxyType(renamed),
                   bool(moved or renamed))


_remembered_locate = memo(256)(_locate)  # parts that are remembered themselves (a bounded number)


def parse_name(text: str) -> Cell | None:
    """The single cell a defined name points at, or None for anything else (ranges, lists, garbage)."""
    return _remembered_name(text) if len(text) <= 200 else _parse_name(text)  # a long text is no cell: not kept


def _parse_name(text: str) -> Cell | None:
    text = text.strip().lstrip("=")
    if "!" not in text or "," in text:
        return None
    try:
        ref = parse_ref(text.replace("$", ""))
    except ValueError:  # AddressError: outside the grid
        return None
    if ref.sheet is None or ref.is_range:
        return None
    return (ref.sheet, ref.row, ref.col)


_remembered_name = memo(65536)(_parse_name)  # every unit's file of one layout has the same names


@dataclass
class OpenedWorkbook:
    path: Path
    identity: Identity
    spec: Spec
    layout: Layout  # this unit's own layout (its row names), as it was built
    reader: XlsxReader

    def close(self) -> None:
        self.reader.package.close()

    def input_values(self) -> dict[str, Any]:
        """Input values as stored (a cell holding a formula is not an input value)."""
        values: dict[str, Any] = {}
        cells = locate(self.reader, self.layout).cells
        for slot in self.layout.inputs():
            if slot.id not in cells:
                continue
            sheet, row, col = cells[slot.id]
            raw = self.reader.cells(sheet).get((row, col))
            if raw is not None and raw.value is not None and raw.formula is None:
                values[slot.id] = raw.value
        return values


def open_template_workbook(path: str | Path, spec: Spec | None = None) -> OpenedWorkbook:
    """A workbook built from `spec` (default: any form xlkit ships, in its current version), for fill and fields;
    WorkbookError otherwise."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"{path}: 文件不存在")
    try:
        reader = XlsxReader(open_package(path))
    except FileProblem as problem:
        raise WorkbookError(_describe(path, problem)) from None
    try:
        found = identify(reader, SpecRegistry([spec]) if spec else SpecRegistry(list(registry_for().forms().values())))
        layout = build_layout(found.spec, found.params)
    except FileProblem as problem:
        reader.package.close()
        raise WorkbookError(_describe(path, problem)) from None
    except Exception:
        reader.package.close()
        raise
    return OpenedWorkbook(path, found.identity, found.spec, layout, reader)


def _describe(path: Path, problem: FileProblem) -> str:
    text = message(problem.code, detail=problem.detail, found=problem.found, expected=problem.expected)
    return f"{path}: {problem.code}: {text}"
