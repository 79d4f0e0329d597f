"""The wide CSV: a column for every field id of the form whatever the data, and numbers as Excel shows them."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.bureau.consolidate import Consolidation, consolidate, field_order, write_wide_csv
from xlkit.form.placement import build_layout


def read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))


def test_numbers_as_excel_shows_them(spec, tmp_path):
    fields = field_order(spec, [])
    frame = pd.DataFrame({
        "unit_code": ["U1", "U2", "U3"], "unit_name": ["甲", "乙", "丙"], "department": ["局"] * 3, "status": ["accepted"] * 3,
        "file": ["a", "b", "c"],
        "income.all.total": [441.08000000000004, 1.0, np.nan],
        "expense.all.total": [584.4699999999999, -0.0, 123456789012.0],
        "score": [1 / 3, 90.0, 1e-7],
        "contact.name": ["-1", 584.4699999999999, None],  # a text column a number strayed into
        "contact.phone": [True, "=1+2", 2.0],
    })
    part = Consolidation(spec, "2019", [], frame, fields=fields)
    out = tmp_path / "w.csv"
    write_wide_csv(part, out)
    rows = read(out)
    assert [r["income.all.total"] for r in rows] == ["441.08", "1", ""]
    assert [r["expense.all.total"] for r in rows] == ["584.47", "0", "123456789012"]
    assert [r["score"] for r in rows] == ["0.333333333333333", "90", "1e-07"]
    assert [r["contact.name"] for r in rows] == ["'-1", "584.47", ""]
    assert [r["contact.phone"] for r in rows] == ["TRUE", "'=1+2", "2"]
    header = list(rows[0])
    assert header[:3] == ["unit_code", "unit_name", "status"] and header[3:] == fields  # every field, in the form's order
    assert all(r["income.sub1.total"] == "" for r in rows)  # no unit has it filled: still a column


def test_every_field_of_the_returned_workbooks_is_a_column(returned, roster, spec, tmp_path):
    result = consolidate([returned], roster, jobs=2)
    out = tmp_path / "w.csv"
    write_wide_csv(result, out)
    rows = read(out)
    header = list(rows[0])
    assert len(rows) == len(result.included)
    default = build_layout(spec).field_ids
    assert set(default) <= set(header)
    blank = [f for f in header[3:] if all(r[f] == "" for r in rows)]
    assert blank, "some field is blank in every return, and is a column all the same"
    assert [f for f in blank if f not in result.frame.columns]  # blank in every return: once left out of the CSV
    more = [f for f in header[3:] if f not in default]  # fields of the units' own layouts (more rows than the default)
    assert more and all(header.index(f) < header.index("projects.total.budget") for f in more if f.startswith("projects.p"))
    numbers = [v for r in rows for k, v in r.items() if k not in ("unit_code", "unit_name", "status") and re.fullmatch(r"-?[\d.]+(e[-+]\d+)?", v)]
    assert numbers and not [v for v in numbers if v.endswith(".0") or len(v.replace("-", "").replace(".", "").lstrip("0")) > 15]
    project = out.with_name("w.project-self-eval.csv")
    assert project.exists() and list(read(project)[0])[:3] == ["unit_code", "unit_name", "status"]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_the_fast_csv_is_the_bytes_pandas_writes(tmp_path_factory, data):
    """write_rows (columns formatted as lists, the csv module) against write_frame (pandas), on frames of floats
    (signed zeros, NaN, huge, tiny, inexact), integers, text with separators, quotes and line breaks, and blanks."""
    from xlkit.bureau import wide_csv
    from xlkit.bureau.wide_csv import write_frame, write_rows

    rows = data.draw(st.integers(0, 6))
    floats = st.one_of(st.floats(allow_infinity=False), st.sampled_from([-0.0, 0.1 + 0.2, 1e20, 1e-7, 123456789012345.0]))
    texts = st.one_of(st.none(), st.text(alphabet=st.sampled_from('a,"\n\r中 =\'-x'), max_size=6))
    columns = {}
    for k in range(data.draw(st.integers(1, 5))):
        kind = data.draw(st.sampled_from(["float", "int", "text", "object"]))
        if kind == "float":
            columns[f"f{k}"] = pd.Series(data.draw(st.lists(floats, min_size=rows, max_size=rows)), dtype="float64")
        elif kind == "int":
            columns[f"i{k}"] = pd.Series(data.draw(st.lists(st.integers(-10**12, 10**12), min_size=rows, max_size=rows)), dtype="int64")
        elif kind == "text":
            columns[f"t{k}"] = pd.Series(data.draw(st.lists(texts, min_size=rows, max_size=rows)), dtype="str")
        else:
            columns[f"o{k},\"x\""] = pd.Series(data.draw(st.lists(texts, min_size=rows, max_size=rows)), dtype=object)
    frame = pd.DataFrame(columns)
    folder = tmp_path_factory.mktemp("csv")
    write_frame(frame, folder / "plain.csv")
    chunk, wide_csv.CHUNK = wide_csv.CHUNK, data.draw(st.integers(1, 4))  # rows across several chunks
    try:
        assert write_rows(frame, folder / "fast.csv")
    finally:
        wide_csv.CHUNK = chunk
    assert (folder / "fast.csv").read_bytes() == (folder / "plain.csv").read_bytes()


def test_a_frame_with_other_values_is_left_to_pandas(tmp_path):
    import datetime

    from xlkit.bureau.wide_csv import write_rows

    frame = pd.DataFrame({"when": pd.Series([datetime.date(2019, 12, 31)], dtype=object)})
    assert not write_rows(frame, tmp_path / "x.csv") and not (tmp_path / "x.csv").exists()
