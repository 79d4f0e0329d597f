"""COUNTIF, COUNTIFS, SUMIF, SUMIFS, COUNTA and COUNTBLANK: Excel's criteria, the closures against the generated
program, and the functions in a spec (tests/specs/counting.yaml)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.errors import FormulaSyntaxError, SpecError
from xlkit.form.codegen import compile_program
from xlkit.form.compute import Calculator, formula_dependencies
from xlkit.form.criteria import count_ifs
from xlkit.form.formula import compile_formula, parse
from xlkit.form.functions import XlError
from xlkit.form.load import load_spec
from xlkit.form.placement import build_layout
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

SPEC_PATH = Path(__file__).parent / "specs" / "counting.yaml"

# One cell of each kind that criteria tell apart; the names are the columns of the table below.
CELLS: dict[str, object] = {
    "5": 5.0, "blank": None, "'5": "5", "''": "", "0": 0.0, "abc": "abc", "ABC": "ABC", "TRUE": True, "FALSE": False,
    "#DIV/0!": XlError("#DIV/0!"), "#N/A": XlError("#N/A"), "a*c": "a*c", "ab": "ab", "'5.0": "5.0", "'1,000": "1,000",
    "1000": 1000.0, "0.5": 0.5, "'TRUE": "TRUE", "space": " ", "完全不可能": "完全不可能", "有可能": "有可能"}

# Criterion (as written in the formula) -> the cells it matches, as Excel matches them (docs/forms.md).
EXCEL = {
    "5": "5 '5 '5.0",  # "=" to a number: the number, and text that reads as it
    '"5"': "5 '5 '5.0",
    '"=5"': "5 '5 '5.0",
    '"<>5"': "blank '5 '' 0 abc ABC TRUE FALSE #DIV/0! #N/A a*c ab '5.0 '1,000 1000 0.5 'TRUE space 完全不可能 有可能",
    '">4"': "5 1000",  # comparisons: numbers only, never text or booleans
    '"<=5"': "5 0 0.5",
    '"1,000"': "'1,000 1000",
    '"50%"': "0.5",
    '"abc"': "abc ABC",  # text: whole cell, any case
    '"<>abc"': "5 blank '5 '' 0 TRUE FALSE #DIV/0! #N/A a*c ab '5.0 '1,000 1000 0.5 'TRUE space 完全不可能 有可能",
    '"a*"': "abc ABC a*c ab",  # wildcards: text only
    '"a?c"': "abc ABC a*c",
    '"a~*c"': "a*c",
    '"*"': "'5 '' abc ABC a*c ab '5.0 '1,000 'TRUE space 完全不可能 有可能",
    '"<>*"': "5 blank 0 TRUE FALSE #DIV/0! #N/A 1000 0.5",
    '"*可能"': "完全不可能 有可能",
    '"完全不可能"': "完全不可能",
    '"<>完全不可能"': "5 blank '5 '' 0 abc ABC TRUE FALSE #DIV/0! #N/A a*c ab '5.0 '1,000 1000 0.5 'TRUE space 有可能",
    '""': "blank ''",  # blank, or empty text
    '"="': "blank",  # blank only
    '"<>"': "5 '5 '' 0 abc ABC TRUE FALSE #DIV/0! #N/A a*c ab '5.0 '1,000 1000 0.5 'TRUE space 完全不可能 有可能",
    '">a"': "abc ABC a*c ab 'TRUE 完全不可能 有可能",  # text order, text only
    '"<b"': "'5 '' abc ABC a*c ab '5.0 '1,000 space",
    "TRUE": "TRUE 'TRUE",
    '"FALSE"': "FALSE",
    '"#DIV/0!"': "#DIV/0!",
    '"<>#DIV/0!"': "5 blank '5 '' 0 abc ABC TRUE FALSE #N/A a*c ab '5.0 '1,000 1000 0.5 'TRUE space 完全不可能 有可能",
    "Z99": "0",  # a blank criterion cell is 0
    '"<>0"': "5 blank '5 '' abc ABC TRUE FALSE #DIV/0! #N/A a*c ab '5.0 '1,000 1000 0.5 'TRUE space 完全不可能 有可能",
}


def run(text: str, cells: dict | None = None):
    cells = cells or {}
    return compile_formula(parse(text), "S")(cells.get)


def matched(criterion: str) -> set[str]:
    return {name for name, value in CELLS.items() if run(f"=COUNTIF(A1,{criterion})", {("S", 0, 0): value}) == 1.0}


@pytest.mark.parametrize("criterion", list(EXCEL))
def test_each_criterion_matches_what_excel_matches(criterion):
    assert matched(criterion) == set(EXCEL[criterion].split())


def test_count_over_a_range_and_an_error_criterion_propagates():
    cells = {("S", row, 0): value for row, value in enumerate(CELLS.values()) if value is not None}
    last = f"A{len(CELLS)}"
    assert run(f'=COUNTIF(A1:{last},"<>")', cells) == len(CELLS) - 1
    assert run(f'=COUNTIF(A1:{last},"")', cells) == 2
    assert str(run(f"=COUNTIF(A1:{last},1/0)", cells)) == "#DIV/0!"
    assert str(run(f"=COUNTIF(A1:{last},B1)", {**cells, ("S", 0, 1): XlError("#N/A")})) == "#N/A"
    assert run(f"=COUNTIF(A1:{last},B1)", {**cells, ("S", 0, 1): "a*"}) == 4  # a criterion from a cell


def test_sumif_adds_numbers_of_matching_rows_and_their_errors_only():
    cells = {("S", 0, 0): "财政拨款", ("S", 1, 0): "其他资金", ("S", 2, 0): "财政拨款", ("S", 3, 0): "财政拨款",
             ("S", 0, 1): 100.5, ("S", 1, 1): XlError("#DIV/0!"), ("S", 2, 1): "20", ("S", 3, 1): True}
    assert run('=SUMIF(A1:A4,"财政拨款",B1:B4)', cells) == 100.5  # text and booleans in the sum range are not added
    assert run('=SUMIF(A1:A4,"财政拨款",B1)', cells) == 100.5  # the sum range takes the shape of the range
    assert str(run('=SUMIF(A1:A4,"其他资金",B1:B4)', cells)) == "#DIV/0!"  # an error on a matching row is the answer
    assert run('=SUMIF(B1:B4,">100")', cells) == 100.5  # no sum range: the range itself, its error row not matching
    assert run('=SUMIFS(B1:B4,A1:A4,"财政拨款",B1:B4,"<>20")', cells) == 100.5
    assert run('=SUMIF(A1:A4,"无",B1:B4)', cells) == 0.0
    assert str(run("=SUMIF(A1:A4,1/0,B1:B4)", cells)) == "#DIV/0!"


def test_a_short_sum_range_depends_on_the_cells_it_reads():
    node = parse('=SUMIF(A1:A3,"x",B1)')
    assert node.args[2].value.cells("S") == [("S", 0, 1), ("S", 1, 1), ("S", 2, 1)]


def test_countifs_needs_every_criterion():
    cells = {("S", 0, 0): "有可能", ("S", 1, 0): "完全不可能", ("S", 2, 0): "有可能", ("S", 0, 1): "指标一", ("S", 2, 1): ""}
    assert run('=COUNTIFS(A1:A3,"<>确定能",B1:B3,"<>")', cells) == 2  # "" from a formula is not blank
    assert run('=COUNTIFS(A1:A3,"有可能",B1:B3,"?*")', cells) == 1
    assert run('=COUNTIFS(A1:A3,"*",B1:B3,"")', cells) == 2


def test_counta_and_countblank():
    cells = {("S", 0, 0): "x", ("S", 1, 0): "", ("S", 2, 0): 0.0, ("S", 3, 0): XlError("#N/A"), ("S", 4, 0): False}
    assert run("=COUNTA(A1:A6)", cells) == 5  # text, "", numbers, errors and booleans; not the blank A6
    assert run('=COUNTA(A1:A2,"",A6)', cells) == 3  # a literal always counts
    assert run("=COUNTBLANK(A1:A6)", cells) == 2


@pytest.mark.parametrize(("text", "message"), [
    ('=COUNTIF(A1,A3,A5,"x")', "不是 4 个参数.*行不相邻"),
    ('=COUNTIF(1,"x")', "第 1 个参数应为单元格区域"),
    ("=COUNTIF(A1:A3,B1:B2)", "第 2 个参数应为一个条件"),
    ('=COUNTIFS(A1:A3,"x",B1:B2,1)', "与第一个区域一样大"),
    ('=SUMIFS(A1:A3,B1:B3,"x",C1:C4,"y")', "与第一个区域一样大"),
    ('=SUMIF(A1:A3,"x",B1,C1)', "不是 4 个参数"),
    ("=COUNTBLANK(A1,A2)", "只接受一个区域"),
    ("=COUNTA()", "至少要有一个参数"),
])
def test_wrong_arguments_are_refused_when_the_formula_is_read(text, message):
    with pytest.raises(FormulaSyntaxError, match=message):
        parse(text)


# ------------------------------------------------------------------ properties
VALUES = st.one_of(st.none(), st.sampled_from([0.0, 5.0, -1.5, 60.0, 1000.0]), st.booleans(),
                   st.sampled_from([XlError("#DIV/0!"), XlError("#N/A")]),
                   st.text(alphabet="aAb5*?~ 可能", max_size=3))
CRITERIA = st.one_of(st.sampled_from([5.0, 0.0, True, None]),
                     st.builds(lambda op, body: op + body, st.sampled_from(["", "=", "<>", "<", ">", "<=", ">="]),
                               st.text(alphabet="aAb5.*?~ 可能%#", max_size=3)))


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, min_size=4, max_size=4), st.lists(CRITERIA, min_size=2, max_size=2))
def test_the_program_computes_what_the_closures_compute(values, criteria):
    """Every function over any cells and criteria (given in cells C1, C2): the generated code and the closures."""
    cells = {("S", row, 0): value for row, value in enumerate(values) if value is not None}
    cells.update({("S", row, 2): value for row, value in enumerate(criteria) if value is not None})
    texts = ["=COUNTIF(A1:A4,C1)", "=COUNTIFS(A1:A2,C1,A3:A4,C2)", "=SUMIF(A1:A4,C1)", "=SUMIF(A1:A2,C2,A3)",
             "=SUMIFS(A1:A4,A1:A4,C1,A1:A4,C2)", "=COUNTA(A1:A4,C1)", "=COUNTBLANK(A1:A4)", '=COUNTIF(A1:A4,"<>")']
    program = compile_program([(("S", row, 1), parse(text), "S") for row, text in enumerate(texts)])
    for got, text in zip(program(cells.get), texts, strict=True):
        expected = run(text, cells)
        assert type(got) is type(expected) and (got == expected or (math.isnan(got) and math.isnan(expected))), text


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=6), st.text(alphabet="aAb*?~ 可能", min_size=1, max_size=3))
def test_equal_and_not_equal_to_text_part_every_range(values, text):
    """For a text criterion, "x" and "<>x" count every cell once between them, whatever it holds."""
    assert count_ifs([values], [text]) + count_ifs([values], ["<>" + text]) == len(values)


# ------------------------------------------------------------------ in a spec
def test_a_spec_counts_and_sums_by_value():
    spec = load_spec(SPEC_PATH)
    layout = build_layout(spec)
    assert layout.fields["impossible"].formula.startswith("COUNTIF(") and ":" in layout.fields["impossible"].formula
    data = {"indicators.i1.name": "日均采集量", "indicators.i1.possibility": "确定能", "indicators.i1.amount": 120,
            "indicators.i2.name": "准确率", "indicators.i2.possibility": "完全不可能", "indicators.i2.amount": 80,
            "indicators.i3.possibility": "有可能", "indicators.i3.amount": 100.5,
            "funds.f1.source": "财政拨款", "funds.f1.amount": 300, "funds.f2.source": "其他资金", "funds.f2.amount": 50,
            "funds.f3.source": "财政拨款", "funds.f3.amount": 25.5}
    got = Calculator(layout).compute(data)
    assert (got["named"], got["unnamed"], got["impossible"], got["doubtful"], got["large"]) == (2, 2, 1, 1, 2)
    assert (got["fiscal"], got["possible_amount"]) == (325.5, 220.5)
    assert got["check.named.result"] == "通过" and got["check.impossible.result"] == "不通过"
    deps = formula_dependencies(layout)
    assert "funds.f3.amount" in deps["fiscal"] and "indicators.i4.possibility" in deps["impossible"]


def test_a_filled_return_checks_clean_with_its_counts(tmp_path):
    spec = load_spec(SPEC_PATH)
    template = tmp_path / "t.xlsx"
    build_template(template, spec, unit_code="P001", unit_name="测试项目", year=2026)
    fill_workbook(template, {"indicators.i1.name": "满意度", "indicators.i1.possibility": "完全不可能"}, tmp_path / "r.xlsx", spec)
    report = check_file(tmp_path / "r.xlsx", SpecRegistry([spec]))
    assert not [i for i in report.issues if i.code in ("stale-value", "formula-overwritten")]
    assert report.values["impossible"] == 1 and report.values["named"] == 1 and report.values["unnamed"] == 3


def test_a_wildcard_over_rows_not_adjacent_is_refused_in_countif(tmp_path):
    """A total row among the rows makes {indicators.*.possibility} a list of cells, which COUNTIF cannot take."""
    text = SPEC_PATH.read_text(encoding="utf-8")
    old = '            - {key: "i{n}", label: "指标{n}", repeat: indicators}\n'
    assert old in text
    path = tmp_path / "counting.yaml"
    path.write_text(text.replace(old, old + "            - {key: sub, label: 小计, total: true}\n"
                                 "            - {key: late, label: 补充指标}\n"), encoding="utf-8")
    with pytest.raises(SpecError, match=r"counting.yaml:\d+: .*不是一块相邻的单元格.*(COUNTBLANK|COUNTIF)\(\) 只接受一个区域"):
        load_spec(path)
