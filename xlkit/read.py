"""Open a generated workbook and find its template, layout and input values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.workbook.workbook import Workbook

from .errors import WorkbookError
from .formula import parse_ref
from .layout import BuildParams, Layout, build_layout
from .meta import META_SHEET, Identity
from .spec import Spec, load_spec


@dataclass
class OpenedWorkbook:
    path: Path
    identity: Identity
    spec: Spec
    layout: Layout
    book: Workbook


def open_template_workbook(path: str | Path, spec: Spec | None = None) -> OpenedWorkbook:
    """Identify a workbook by its metadata sheet and match it to its spec."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(f"{path}: no such file")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for non-workbooks
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from None
    if META_SHEET not in book.sheetnames:
        raise WorkbookError(f"{path}: not an xlkit workbook (no {META_SHEET} metadata sheet)")
    rows: dict[str, str] = {}
    for key, value, *_ in book[META_SHEET].iter_rows(min_row=1, max_row=50, max_col=2, values_only=True):
        if key is not None:
            rows[str(key)] = "" if value is None else str(value)
    identity = Identity.from_rows(rows)
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
    return OpenedWorkbook(path, identity, spec, build_layout(spec, params), book)


def read_input_values(opened: OpenedWorkbook) -> dict[str, Any]:
    """Input values located through the file's own defined names (rows a unit inserted do not shift them)."""
    book, layout = opened.book, opened.layout
    located: dict[str, tuple[str, int, int]] = {}
    for slot in layout.inputs():
        name = book.defined_names.get(slot.id)
        if name is not None and name.attr_text and "!" in name.attr_text:
            ref = parse_ref(name.attr_text.replace("$", ""))
            located[slot.id] = (ref.sheet or slot.sheet, ref.row, ref.col)
        else:
            located[slot.id] = (slot.sheet, slot.row, slot.col)
    by_sheet: dict[str, dict[tuple[int, int], str]] = {}
    for field_id, (sheet, row, col) in located.items():
        by_sheet.setdefault(sheet, {})[(row, col)] = field_id
    values: dict[str, Any] = {}
    for sheet, cells in by_sheet.items():
        if sheet not in book.sheetnames:
            continue
        ws = book[sheet]
        max_row = max(r for r, _ in cells) + 1
        max_col = max(c for _, c in cells) + 1
        ws.reset_dimensions()  # never trust the declared dimension
        for r, row in enumerate(ws.iter_rows(min_row=1, max_row=max_row, max_col=max_col, values_only=True)):
            for c, value in enumerate(row):
                field_id = cells.get((r, c))
                if field_id is not None and value is not None:
                    values[field_id] = value
    return values
