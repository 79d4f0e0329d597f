"""The round trip of `spec import` (tests/test_import.py): a built form stripped of what xlkit adds, imported, built
again, and the two compared cell by cell as a person sees them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import openpyxl.worksheet.protection

from xlkit.form.identity import LISTS_SHEET, META_SHEET

INPUT_FILL = "FFF2CC"


def strip_xlkit(built: Path, out: Path) -> Path:
    """A bureau's copy of the form: no identity sheet, names, document properties or protection; validations kept."""
    wb = openpyxl.load_workbook(built)
    del wb[META_SHEET]
    for name in list(wb.defined_names):
        del wb.defined_names[name]
    for ws in wb.worksheets:
        ws.protection = openpyxl.worksheet.protection.SheetProtection()
    wb.security = None
    wb.custom_doc_props.props.clear()
    wb.properties.title = wb.properties.subject = wb.properties.description = None
    wb.save(out)
    return out


def visible(path: Path) -> dict[str, dict[str, Any]]:
    """Per sheet: every cell's text or formula, the merged ranges, the input cells and the print settings."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, dict[str, Any]] = {}
    for ws in wb.worksheets:
        if ws.title in (META_SHEET, LISTS_SHEET):
            continue
        cells: dict[str, Any] = {}
        inputs: set[str] = set()
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if value not in (None, ""):
                    cells[cell.coordinate] = value
                fill = cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type == "solid" else None
                if isinstance(fill, str) and fill[-6:] == INPUT_FILL:
                    inputs.add(cell.coordinate)
        out[ws.title] = {
            "cells": cells, "inputs": inputs, "merged": {str(m) for m in ws.merged_cells.ranges},
            "print": (ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.sheet_properties.pageSetUpPr.fitToPage,
                      ws.print_title_rows, ws.print_area, tuple(b.id for b in ws.row_breaks.brk))}
    return out


def compare(first: Path, second: Path) -> tuple[float, list[str]]:
    """The share of equal cells (texts, formulas, inputs, merges) and the first differences."""
    a, b = visible(first), visible(second)
    differences: list[str] = []
    equal = total = 0
    if list(a) != list(b):
        differences.append(f"sheets {list(a)} != {list(b)}")
    for sheet in a:
        x, y = a[sheet], b.get(sheet, {"cells": {}, "inputs": set(), "merged": set(), "print": None})
        for address in sorted(set(x["cells"]) | set(y["cells"])):
            total += 1
            if x["cells"].get(address) == y["cells"].get(address):
                equal += 1
            else:
                differences.append(f"{sheet}!{address}: {x['cells'].get(address)!r} != {y['cells'].get(address)!r}")
        for kind in ("inputs", "merged"):
            for item in sorted(x[kind] ^ y[kind]):
                total += 1
                differences.append(f"{sheet} {kind} {item}: {'first only' if item in x[kind] else 'second only'}")
            total += len(x[kind] & y[kind])
            equal += len(x[kind] & y[kind])
        total += 1
        if x["print"] == y["print"]:
            equal += 1
        else:
            differences.append(f"{sheet} print {x['print']} != {y['print']}")
    return (equal / total if total else 1.0), differences
