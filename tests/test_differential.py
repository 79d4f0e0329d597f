"""Recomputed values of returned files against the `formulas` package, on the seed and 60 random fillings."""

from __future__ import annotations

import random
import string
from datetime import date
from pathlib import Path

import formulas
import pytest
import xlsxwriter
from oracle import same
from xlsxwriter.utility import xl_col_to_name

from xlkit.form.formula import compile_formula, parse
from xlkit.form.functions import XlError
from xlkit.form.load import load_spec
from xlkit.form.registry import SpecRegistry
from xlkit.form.values import date_serial
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

FILLINGS = 60
PROJECT_FILLINGS = 30
COUNTING_FILLINGS = 30
COUNTING_SPEC = Path(__file__).parent / "specs" / "counting.yaml"


def random_value(rng: random.Random, spec, slot):
    vtype = spec.types[slot.type]
    if rng.random() < 0.2:
        return None
    if vtype.choices and (vtype.base == "text" or rng.random() < 0.3):  # a number type may take listed words (定性)
        return rng.choice(spec.lists[vtype.choices])
    if slot.type == "score":
        return rng.choice([0, 59.99, 60, 79.99, 80, 89.99, 90, 100, round(rng.uniform(0, 100), 2)])
    if vtype.base == "date":
        return date(2019, rng.randint(1, 12), rng.randint(1, 28))
    if slot.type == "code":
        return f"U{rng.randint(1, 999999)}"
    if slot.type == "phone":
        return rng.choice(["13800000000", "0730-8612319"])
    if vtype.base == "number":
        return rng.choice([0, 0.01, round(rng.uniform(0, 100), 2), round(rng.uniform(0, 1e6), 2)])
    if vtype.base == "integer":
        low = int(vtype.min or 0)
        return rng.randint(low, min(int(vtype.max or 100), low + 60))
    return "".join(rng.choice(string.ascii_letters + "测试数据") for _ in range(rng.randint(1, 12)))


@pytest.fixture(scope="module")
def template(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("diff") / "t.xlsx"
    layout = build_template(path, spec, counts={"sub_units": 3, "projects": 5})
    model = formulas.ExcelModel().loads(str(path)).finish()
    return path, layout, model


def key(path, slot) -> str:
    return f"'[{path.name}]{slot.sheet.upper()}'!{slot.address}"


def test_random_fillings_recompute_like_the_formulas_package(template, spec, tmp_path):
    compare_fillings(template, spec, tmp_path, FILLINGS)


def test_project_form_recomputes_like_the_formulas_package(project_spec, tmp_path):
    """The project form's scoring (every direction, 定性 words, the bureau's fixed 分值) against an independent engine."""
    path = tmp_path / "project.xlsx"
    layout = build_template(path, project_spec, counts={"quantity": 3, "evaluators": 2})
    compare_fillings((path, layout, formulas.ExcelModel().loads(str(path)).finish()), project_spec, tmp_path, PROJECT_FILLINGS)


def test_counting_form_recomputes_like_the_formulas_package(tmp_path):
    """COUNTIF, COUNTIFS, SUMIF, SUMIFS, COUNTA and COUNTBLANK over a spec's {table.*.column}, on random fillings.
    `formulas` 1.3 reads "<>" as the text "<>" (so `doubtful`, COUNTIFS(…,"<>"), is LibreOffice's to check:
    tests/interop/test_criteria_libreoffice.py)."""
    spec = load_spec(COUNTING_SPEC)
    path = tmp_path / "counting.xlsx"
    layout = build_template(path, spec, counts={"indicators": 6})
    compare_fillings((path, layout, formulas.ExcelModel().loads(str(path)).finish()), spec, tmp_path, COUNTING_FILLINGS,
                     skip={"doubtful"})


# Cells and criteria where `formulas` 1.3 follows Excel (it does not for "<>…", "=", text order, and wildcards other
# than a leading or trailing * on text without case: LibreOffice checks those, tests/interop/test_criteria_libreoffice.py).
CELL_POOL = [None, 0.0, 5.0, 60.0, 59.5, -1.0, 100.0, "abc", "ABC", "ab", "可能", "完全不可能", "有可能", True, False, '=""',
             "=1/0", "=NA()"]
CRITERION_POOL = ["5", "60", "0", "-1", '"=60"', '">=60"', '"<60"', '">5"', '"<=0"', '"60"', '"abc"', '"ABC"', '"完全不可能"',
                  '""', '"可*"', '"*能"', "TRUE", "FALSE", '"#N/A"', '"#DIV/0!"']
FORMULA_VALUES = {'=""': "", "=1/0": XlError("#DIV/0!"), "=NA()": XlError("#N/A")}


@pytest.mark.parametrize("seed", [1, 2])
def test_counting_over_random_ranges_like_the_formulas_package(tmp_path, seed):
    """Random columns of numbers, text, blanks, booleans, "" and errors; every criterion over every column, summing
    the next column, and random COUNTIFS/SUMIFS pairs."""
    rng = random.Random(seed)
    rows, columns = 6, 10
    path = tmp_path / "ranges.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("S")
    cells: dict = {}
    for col in range(columns):
        for row in range(rows):
            value = rng.choice(CELL_POOL)
            if value is None:
                continue
            if isinstance(value, str) and value.startswith("="):
                sheet.write_formula(row, col, value)
                value = FORMULA_VALUES[value]
            elif isinstance(value, str):
                sheet.write_string(row, col, value)
            else:
                sheet.write(row, col, value)
            cells[("S", row, col)] = value
    texts = []
    for col in range(columns):
        this, following = (f"{xl_col_to_name(c)}1:{xl_col_to_name(c)}{rows}" for c in (col, (col + 1) % columns))
        for criterion in CRITERION_POOL:
            texts += [f"=COUNTIF({this},{criterion})", f"=SUMIF({this},{criterion},{following})"]
        pair = [rng.choice(CRITERION_POOL) for _ in range(2)]
        texts += [f"=COUNTA({this})", f"=COUNTBLANK({this})", f"=COUNTIFS({this},{pair[0]},{following},{pair[1]})",
                  f"=SUMIFS({this},{following},{pair[0]},{this},{pair[1]})"]
    for k, text in enumerate(texts):
        sheet.write_formula(rows + 2 + k // 20, k % 20, text)
    book.close()
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    answers = []
    for k, text in enumerate(texts):
        theirs = solution[f"'[{path.name}]S'!{xl_col_to_name(k % 20)}{rows + 3 + k // 20}"].value[0][0]
        theirs = theirs.item() if hasattr(theirs, "item") else theirs
        ours = compile_formula(parse(text), "S")(cells.get)
        assert same(ours, theirs), (text, ours, theirs)
        answers.append(ours)
    assert len(answers) == columns * (2 * len(CRITERION_POOL) + 4)
    assert sum(a not in (0.0, "") for a in answers) > len(answers) // 4  # not a table of zeros


def compare_fillings(template, spec, tmp_path, fillings: int, skip: frozenset[str] | set[str] = frozenset()) -> None:
    path, layout, model = template
    registry = SpecRegistry([spec])
    rng = random.Random(20191231)
    compared = 0
    for n in range(fillings):
        data = {s.id: v for s in layout.inputs() if (v := random_value(rng, spec, s)) is not None}
        filled = tmp_path / f"r{n}.xlsx"
        fill_workbook(path, data, filled, spec)
        report = check_file(filled, registry)
        assert not [i for i in report.issues if i.code in ("formula-overwritten", "stale-value")], n
        inputs = {key(path, layout.fields[f]): date_serial(v) if isinstance(v, date) else v for f, v in data.items()}
        solution = model.calculate(inputs=inputs)
        for slot in layout.formulas():
            if slot.id in skip:
                continue
            theirs = solution[key(path, slot)].value[0][0]
            theirs = theirs.item() if hasattr(theirs, "item") else theirs
            assert same(report.values[slot.id], theirs), (n, slot.id, report.values[slot.id], theirs)
            compared += 1
    assert compared == fillings * len([s for s in layout.formulas() if s.id not in skip])
