"""Write fill data (keyed by field id) into a generated workbook."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..errors import FillError, ValueProblem
from ..form.functions import Value
from ..form.layout import Layout
from ..form.spec import Spec
from ..form.values import coerce_fill_value
from ..intake.identify import open_template_workbook
from .build import write_workbook

MAX_LISTED = 20


def load_fill_data(path: str | Path) -> dict[str, Any]:
    """JSON object {field id: value}, or CSV rows `field,value` (a header row is optional)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FillError(f"{path}: cannot read fill data: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FillError(f"{path}: fill data must be UTF-8 text (JSON or CSV)") from None
    if path.suffix.lower() == ".csv":
        data: dict[str, Any] = {}
        for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
            if not row or (n == 1 and [c.strip().lower() for c in row[:2]] == ["field", "value"]):
                continue
            if len(row) != 2:
                raise FillError(f"{path}: line {n}: expected 2 columns `field,value`, found {len(row)}")
            if row[0].strip() in data:
                raise FillError(f"{path}: line {n}: field {row[0].strip()!r} given twice")
            data[row[0].strip()] = row[1]
        return data
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FillError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FillError(f"{path}: fill data must be a JSON object keyed by field id")
    return data


def fill_workbook(workbook: str | Path, data: dict[str, Any], out: str | Path, spec: Spec | None = None) -> dict[str, Value]:
    """Validate all of `data` first; write nothing unless every value fits."""
    opened = open_template_workbook(workbook, spec)
    try:
        clean = _validated(data, opened.layout)
        values = opened.input_values()
    finally:
        opened.close()
    values.update(clean)
    return write_workbook(opened.layout, values, Path(out), opened.identity.password_hash)


def _validated(data: dict[str, Any], layout: Layout) -> dict[str, Any]:
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for field_id, value in data.items():
        slot = layout.fields.get(field_id)
        if slot is None:
            problems.append(f"{field_id}: unknown field id (see `xlkit fields`)")
        elif slot.kind == "formula":
            problems.append(f"{field_id}: is a formula field ({slot.sheet}!{slot.address}) and cannot be filled")
        elif slot.locked:
            if slot.prefill and str(layout.params.value_of(slot.prefill)) == str(value):
                continue  # the same value it was built with: nothing to change
            problems.append(f"{field_id}: is locked, prefilled at build time ({slot.sheet}!{slot.address})")
        else:
            try:
                clean[field_id] = coerce_fill_value(value, layout.spec.types[slot.type], layout.spec)
            except ValueProblem as exc:
                problems.append(f"{field_id} ({slot.label}, {slot.sheet}!{slot.address}): {exc}")
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = f"\n  … and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise FillError(f"{len(problems)} problem(s) in the fill data, nothing written:\n  {listed}{more}")
    return clean
