"""The counting functions in a real LibreOffice: every criterion of tests/test_criteria.py over every kind of cell,
and a spec that counts and sums by value, recalculated and compared with xlkit's engine."""

from __future__ import annotations

import random
from pathlib import Path

import xlsxwriter
from office import cells_of
from oracle import same
from test_criteria import CELLS, EXCEL
from xlsxwriter.utility import xl_rowcol_to_cell

from xlkit.form.formula import compile_formula, parse
from xlkit.form.functions import XlError
from xlkit.form.load import load_spec
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.intake.identify import open_template_workbook
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

COUNTING_SPEC = Path(__file__).resolve().parents[1] / "specs" / "counting.yaml"
FILLINGS = 12

# Where LibreOffice 7 and Excel part (docs/forms.md, "Counting and summing by value"); xlkit follows Excel. Each pair is
# (criterion, cell): LibreOffice matches the cell and xlkit does not (+), or the other way round (-).
LIBREOFFICE_DIFFERS = {
    # a boolean is a number to LibreOffice's criteria (TRUE is 1), never to Excel's
    ("\"<=5\"", "FALSE", "+"), ("\"<=5\"", "TRUE", "+"), ("\"FALSE\"", "0", "+"), ("Z99", "FALSE", "+"),
    ("\"<>0\"", "FALSE", "-"), ("TRUE", "'TRUE", "-"),
    # LibreOffice matches wildcards against a number's text; Excel's wildcards see text only
    ("\"*\"", "5", "+"), ("\"*\"", "0", "+"), ("\"*\"", "1000", "+"), ("\"*\"", "0.5", "+"), ("\"*\"", "TRUE", "+"),
    ("\"*\"", "FALSE", "+"), ("\"*\"", "#DIV/0!", "+"), ("\"*\"", "#N/A", "+"),
    ("\"<>*\"", "5", "-"), ("\"<>*\"", "0", "-"), ("\"<>*\"", "1000", "-"), ("\"<>*\"", "0.5", "-"), ("\"<>*\"", "TRUE", "-"),
    ("\"<>*\"", "FALSE", "-"), ("\"<>*\"", "#DIV/0!", "-"), ("\"<>*\"", "#N/A", "-"),
    # "=" to a number: LibreOffice compares text cells as text ("5" but not "5.0"), Excel by the number they read as
    ("5", "'5", "-"), ("5", "'5.0", "-"), ("\"5\"", "'5.0", "-"), ("\"=5\"", "'5.0", "-"),
    # "<>5": LibreOffice leaves out what "=5" takes; Excel's "<>" looks at numbers only
    ("\"<>5\"", "'5", "-"),
}


def _write(sheet, row: int, col: int, value) -> None:
    if isinstance(value, XlError):
        sheet.write_formula(row, col, {"#DIV/0!": "=1/0", "#N/A": "=NA()"}[value])
    elif value == "":
        sheet.write_formula(row, col, '=""')
    elif value is not None:
        sheet.write(row, col, value) if not isinstance(value, str) else sheet.write_string(row, col, value)


def test_every_criterion_matches_in_libreoffice_as_in_xlkit_but_where_excel_says_otherwise(libreoffice, tmp_path):
    path = tmp_path / "criteria.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("S")
    names = list(CELLS)
    for row, name in enumerate(names):
        _write(sheet, row, 0, CELLS[name])
    cells, texts = [], []
    for col, criterion in enumerate(EXCEL, start=2):
        for row in range(len(names)):
            text = f"=COUNTIF(A{row + 1},{criterion})"
            sheet.write_formula(row, col, text)
            cells.append(["S", xl_rowcol_to_cell(row, col)])
            texts.append((criterion, names[row], text))
    book.close()
    [result] = libreoffice.run([{"op": "values", "path": str(path), "cells": cells, "recalc": True}])
    differences = set()
    column = {("S", row, 0): CELLS[name] for row, name in enumerate(names) if CELLS[name] is not None}
    for (criterion, name, text), theirs in zip(texts, result["values"], strict=True):
        ours = compile_formula(parse(text), "S")(column.get)
        assert theirs in (0.0, 1.0) and ours in (0.0, 1.0), (text, name, ours, theirs)
        if ours != theirs:
            differences.add((criterion, name, "+" if theirs else "-"))
    assert differences == LIBREOFFICE_DIFFERS


def test_libreoffice_leaves_out_trailing_blank_rows_of_the_first_range_of_countifs(libreoffice, tmp_path):
    """A LibreOffice fault xlkit does not copy: COUNTIFS and SUMIFS skip the rows where the first criteria range has
    only blanks left, even when its criterion ("<>x") takes blanks. Excel and xlkit count row 3 here; a spec puts a
    criterion that refuses blanks first (as counting.yaml does) to be read alike by both."""
    path = tmp_path / "trailing.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("S")
    cells = {("S", 0, 0): "有可能", ("S", 1, 0): "有可能", ("S", 0, 1): "甲", ("S", 2, 1): "乙"}
    for (_, row, col), value in cells.items():
        sheet.write_string(row, col, value)
    texts = ['=COUNTIFS(A1:A3,"<>x",B1:B3,"<>")', '=COUNTIFS(B1:B3,"<>",A1:A3,"<>x")', '=COUNTIF(A1:A3,"<>x")']
    for row, text in enumerate(texts):
        sheet.write_formula(row, 3, text)
    book.close()
    [result] = libreoffice.run([{"op": "values", "path": str(path), "cells": [["S", f"D{k + 1}"] for k in range(3)], "recalc": True}])
    assert [compile_formula(parse(text), "S")(cells.get) for text in texts] == [2.0, 2.0, 3.0]
    assert result["values"] == [1.0, 2.0, 3.0]


def test_a_form_that_counts_and_sums_by_value_recalculates_alike(libreoffice, tmp_path):
    """Random fillings of tests/specs/counting.yaml: our value of every formula = LibreOffice's after a hard
    recalculation = the value cached in the file."""
    spec = load_spec(COUNTING_SPEC)
    registry = SpecRegistry([spec])
    rng = random.Random(20260101)
    jobs, expected = [], []
    for n in range(FILLINGS):
        template = tmp_path / f"t{n}.xlsx"
        layout = build_template(template, spec, counts={"indicators": 1 + n % 6})
        data = {}
        for slot in layout.inputs():
            if rng.random() < 0.25:
                continue
            vtype = spec.types[slot.type]
            data[slot.id] = rng.choice(spec.lists[vtype.choices]) if vtype.choices else \
                round(rng.choice([0, 100, rng.uniform(0, 300)]), 2) if vtype.base == "number" else rng.choice(["满意度", "", "日均采集量"])
        data = {k: v for k, v in data.items() if v != ""}
        path = tmp_path / f"r{n}.xlsx"
        fill_workbook(template, data, path, spec)
        report = check_file(path, registry)
        assert not [i for i in report.issues if i.code in ("stale-value", "formula-overwritten")], n
        formulas = open_template_workbook(path, spec).layout.formulas()
        jobs.append({"op": "values", "path": str(path), "cells": cells_of(layout, formulas), "recalc": True})
        jobs.append({"op": "values", "path": str(path), "cells": cells_of(layout, formulas), "recalc": False})
        expected.append((formulas, report.values))
    results = libreoffice.run(jobs)
    compared = counted = 0
    for (formulas, values), recalculated, loaded in zip(expected, results[0::2], results[1::2], strict=True):
        for slot, after, before in zip(formulas, recalculated["values"], loaded["values"], strict=True):
            assert same(values[slot.id], after), (slot.id, values[slot.id], after)
            assert same(before, after), (slot.id, "cached", before, "recalculated", after)
            compared += 1
            counted += slot.id in ("impossible", "doubtful", "fiscal", "possible_amount") and after not in (0, 0.0)
    assert compared == sum(len(formulas) for formulas, _ in expected) and counted > FILLINGS
