"""The wide CSV of a consolidation: one row per unit in the totals, a column for every field id of the form."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..form.functions import Value
from ..form.placement import build_layout
from ..form.spec import Spec


def field_order(spec: Spec, rows: list[Mapping[str, Value]]) -> list[str]:
    """Every field id of the form at its default counts, and those of the rows' own layouts (more rows, key projects),
    each after the field it follows there: the wide CSV's columns, whatever the data."""
    order = list(build_layout(spec).field_ids)
    known = set(order)
    seen: set[int] = set()
    for row in rows:
        keys = getattr(row, "keys_", None) or tuple(row)
        if id(keys) in seen:
            continue
        seen.add(id(keys))
        if all(key in known for key in keys):
            continue
        merged: list[str] = []
        after: dict[str, list[str]] = {}  # a field new here -> placed after the last known one before it
        last = ""
        for key in keys:
            if key in known:
                last = key
            else:
                after.setdefault(last, []).append(key)
                known.add(key)
        merged.extend(after.get("", []))
        for key in order:
            merged.append(key)
            merged.extend(after.get(key, []))
        order = merged
    return order


def write_wide_csv(consolidation: Any, path: str | Path, fast: bool = True) -> None:
    """UTF-8 with BOM so Excel opens it right: a column for every field id of the form, blank or not, and numbers as
    Excel shows them (at most 15 significant digits, whole numbers without `.0`); text starting with = + - @ is
    prefixed with ' so it never runs. Each other form of the run gets its own file beside it, named with its template
    id (summary.project-self-eval.csv). `fast=False`: pandas writes every file (the plain path)."""
    import pandas as pd  # here, not at import: `xlkit check` imports this module and never needs pandas

    path = Path(path)
    for part, target in [(consolidation, path), *[(o, path.with_name(f"{path.stem}.{form}{path.suffix}"))
                                                    for form, o in consolidation.others.items()]]:
        frame = part.frame.drop(columns=["department", "file"])
        fixed = [str(c) for c in frame.columns if c in ("unit_code", "unit_name", "status")]
        wanted = [*fixed, *[f for f in part.fields if f not in fixed], *[str(c) for c in frame.columns if c not in set(part.fields) | set(fixed)]]
        frame = frame.reindex(columns=wanted)  # a field blank in every row is still a column
        for column in frame.columns:
            if pd.api.types.is_float_dtype(frame[column]):
                frame[column] = frame[column] + 0.0  # -0.0 is shown as 0
            elif not pd.api.types.is_numeric_dtype(frame[column]):  # only text can start with = + - @
                frame[column] = frame[column].map(csv_safe)
        if not (fast and write_rows(frame, target)):
            write_frame(frame, target)


def write_frame(frame: Any, target: Path) -> None:
    """The plain path: pandas writes the frame (about 1.5 µs a cell: its float formatting is Python per value)."""
    frame.to_csv(target, index=False, encoding="utf-8-sig", float_format="%.15g")


def write_rows(frame: Any, target: Path) -> bool:
    """The fast path: the same bytes `write_frame` writes, formatted a column at a time for `CHUNK` rows at once (a
    third of pandas' time, and memory bounded by the chunk, not the units). False, with nothing written, for a frame
    holding anything but floats, integers, text and blanks: pandas writes that."""
    import pandas as pd

    columns: list[tuple[Callable[[list[Any]], list[str]], Any]] = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_float_dtype(series):
            columns.append((_numbers, series.to_numpy()))
        elif pd.api.types.is_integer_dtype(series):
            columns.append((_integers, series.to_numpy()))
        elif series.dtype == object or pd.api.types.is_string_dtype(series):
            values = series.to_numpy(dtype=object)
            if any(type(v) is not str and v is not None and not (type(v) is float and v != v) for v in values):
                return False
            columns.append((_texts, values))
        else:
            return False
    with open(target, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator=os.linesep, quoting=csv.QUOTE_MINIMAL)
        writer.writerow([str(c) for c in frame.columns])
        for start in range(0, len(frame), CHUNK):
            writer.writerows(zip(*[cells(values[start:start + CHUNK].tolist()) for cells, values in columns], strict=True))
    return True


CHUNK = 1024  # rows formatted at once by write_rows


def _numbers(values: list[Any]) -> list[str]:
    return ["" if v != v else "%.15g" % v for v in values]  # noqa: UP031 (pandas' own float_format)


def _integers(values: list[Any]) -> list[str]:
    return [str(v) for v in values]


def _texts(values: list[Any]) -> list[str]:
    return [v if type(v) is str else "" for v in values]


def csv_safe(value: Any) -> Any:
    """A cell of a text column as Excel would show it."""
    if isinstance(value, str):
        return "'" + value if value[:1] in ("=", "+", "-", "@") else value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return "" if value != value else format(value + 0.0, ".15g")
    return value
