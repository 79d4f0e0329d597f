"""Open a generated workbook: its identity, spec, layout and input values, through the hardened reader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalogue import message
from .errors import WorkbookError
from .formula import parse_ref, to_text
from .layout import BuildParams, Layout, build_layout
from .meta import META_SHEET, Identity
from .package import PackageProblem, open_package
from .spec import Spec, load_spec
from .xlsx import XlsxReader


@dataclass
class OpenedWorkbook:
    path: Path
    identity: Identity
    spec: Spec
    layout: Layout
    reader: XlsxReader

    def close(self) -> None:
        self.reader.package.close()


def read_identity(reader: XlsxReader) -> Identity | None:
    """The `_xlkit` sheet's key/value rows; None when the workbook has no such sheet."""
    if META_SHEET not in reader.sheets:
        return None
    cells = reader.cells(META_SHEET)
    rows: dict[str, str] = {}
    for (row, col), raw in cells.items():
        if col == 0 and raw.value is not None:
            value = cells.get((row, 1))
            rows[str(raw.value)] = "" if value is None or value.value is None else to_text(value.value)
    return Identity.from_rows(rows)


def open_template_workbook(path: str | Path, spec: Spec | None = None) -> OpenedWorkbook:
    """Identify a workbook by its metadata and match it to `spec` (default: the built-in form)."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"{path}: no such file")
    try:
        reader = XlsxReader(open_package(path))
        identity = read_identity(reader)
    except PackageProblem as problem:
        raise WorkbookError(f"{path}: {problem.code}: {message(problem.code, detail=problem.detail)}") from None
    try:
        if identity is None or not identity.template_id:
            raise WorkbookError(f"{path}: not an xlkit workbook (no {META_SHEET} metadata sheet)")
        spec = spec or load_spec()
        if identity.template_id != spec.template.id:
            raise WorkbookError(f"{path}: made from template {identity.template_id!r}, not {spec.template.id!r}")
        if identity.fingerprint != spec.fingerprint():
            raise WorkbookError(
                f"{path}: made from {identity.template_id} version {identity.template_version} (fingerprint {identity.fingerprint}), "
                f"which differs from the spec in use (version {spec.template.version}, fingerprint {spec.fingerprint()})"
            )
        try:
            params = BuildParams.from_json(identity.params_json)
        except (ValueError, TypeError) as exc:
            raise WorkbookError(f"{path}: metadata build.params is damaged: {exc}") from None
    except WorkbookError:
        reader.package.close()
        raise
    return OpenedWorkbook(path, identity, spec, build_layout(spec, params), reader)


def read_input_values(opened: OpenedWorkbook) -> dict[str, Any]:
    """Input values as stored, located through the file's own defined names."""
    reader = opened.reader
    values: dict[str, Any] = {}
    for slot in opened.layout.inputs():
        sheet, row, col = slot.sheet, slot.row, slot.col
        name = reader.defined_names.get(slot.id)
        if name and "!" in name:
            ref = parse_ref(name.replace("$", ""))
            if ref.sheet in reader.sheets:
                sheet, row, col = ref.sheet, ref.row, ref.col
        if sheet not in reader.sheets:
            continue
        raw = reader.cells(sheet).get((row, col))
        if raw is not None and raw.value is not None and raw.formula is None:
            values[slot.id] = raw.value
    return values
