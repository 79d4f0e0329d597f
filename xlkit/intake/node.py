"""A bureau summary as an input of the next level (节点汇总): the units it carries, with their figures and where
they came from. Read through the same hardened reader as any returned file; nothing in it is trusted beyond
what the spec (matched by fingerprint) says a field is."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import FileProblem
from ..form.functions import Value
from ..form.identity import UNITS_SHEET, Identity
from ..form.params import make_params
from ..form.placement import build_layout
from ..form.registry import SpecRegistry
from ..form.spec import Spec
from .decode import INVALID
from .identify import version_problem
from .report import FileReport
from .xlsx import XlsxReader

FIXED = ("unit_code", "unit_name", "department", "status", "file", "source")
MAX_UNITS = 100_000


def read_units(reader: XlsxReader, identity: Identity, registry: SpecRegistry, path: str, saved_at: str) -> list[FileReport]:
    """One report per unit row of the summary's `_units` sheet; a FileProblem when the sheet is not ours."""
    spec = registry.by_fingerprint.get(identity.fingerprint)
    if spec is None:
        raise FileProblem("unknown-version", version_problem(registry, identity), found=f"{identity.template_version}（{identity.fingerprint}）",
                          expected=registry.current.template.version)
    if UNITS_SHEET not in reader.sheets:
        raise FileProblem("metadata-damaged", "汇总表缺少单位数据表")
    cells = reader.cells(UNITS_SHEET)
    header = {col: raw.value for (row, col), raw in cells.items() if row == 0 and isinstance(raw.value, str)}
    if [header.get(c) for c in range(len(FIXED))] != list(FIXED):
        raise FileProblem("metadata-damaged", "汇总表单位数据表的表头不符")
    known = _field_ids(spec)
    names = _figure_names(header.get(len(FIXED)))
    columns = {col: name for col, name in header.items() if col >= len(FIXED) and name in known} if names is None else {}
    rows: dict[int, dict[int, Value]] = {}
    for (row, col), raw in cells.items():
        if row > 0 and raw.formula is None and raw.kind != "e":
            if raw.kind in INVALID:  # NaN, INF, 1_000 where a number is stored, a garbage string index: nothing xlkit writes
                raise FileProblem("metadata-damaged", f"汇总表单位数据表第 {row + 1} 行有无效{INVALID[raw.kind]}")
            rows.setdefault(row, {})[col] = raw.value
    if len(rows) > MAX_UNITS:
        raise FileProblem("metadata-damaged", f"汇总表单位数据表有 {len(rows)} 行")
    reports = []
    for row in sorted(rows):
        data = rows[row]
        code = str(data.get(0) or "").strip()
        if not code:
            continue
        department = str(data.get(2) or "")
        unit = Identity(identity.template_id, identity.template_version, identity.fingerprint, code, str(data.get(1) or ""),
                        identity.year, json.dumps({"prefill": {"parent_name": department}, "items": {}}, ensure_ascii=False))
        report = FileReport(f"{path}#{code}", identity=unit, saved_at=saved_at, read_ok=True,
                            via=f"{Path(path).name}（{data.get(5) or data.get(4) or ''}）")
        report.values = {name: data.get(col) for col, name in columns.items()} if names is None else \
            _figures(data.get(len(FIXED)), names, known)  # a JSON list in the order of `names`
        reports.append(report)
    return reports


def _figure_names(header: Value) -> list[str] | None:
    """The field ids of the figures column (a JSON list); None for a summary written with a column per field (as before 2026-11-28)."""
    if not isinstance(header, str) or not header.startswith("["):
        return None
    try:
        names = json.loads(header)
    except ValueError:
        raise FileProblem("metadata-damaged", "汇总表单位数据表的字段列表无法读取") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(names) > 10_000:
        raise FileProblem("metadata-damaged", "汇总表单位数据表的字段列表格式不符")
    return names


def _figures(text: Value, names: list[str], known: set[str]) -> dict[str, Value]:
    """One unit's figures by field id: only fields the spec has, only numbers and text (nothing else is a figure)."""
    try:
        values = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        values = None
    if not isinstance(values, list) or len(values) != len(names):
        raise FileProblem("metadata-damaged", "汇总表单位数据表的数据与字段列表不符")
    figures: dict[str, Value] = {}
    for name, value in zip(names, values, strict=True):
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # as a number cell reads
        if name in known and (value is None or isinstance(value, str) or (isinstance(value, float) and math.isfinite(value))):
            figures[name] = value
    return figures


def _field_ids(spec: Spec) -> set[str]:
    """Every field a unit of this spec can have: the fields of its largest layout."""
    return set(build_layout(spec, make_params(spec, counts={k: p.max for k, p in spec.parameters.items()})).fields)
