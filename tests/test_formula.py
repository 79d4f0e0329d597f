from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.errors import FormulaSyntaxError
from xlkit.form.codegen import compile_program
from xlkit.form.compute import Calculator
from xlkit.form.formula import COMPARISONS, compile_formula, parse
from xlkit.form.functions import FUNCTIONS, XlError, arith, compare, excel_round
from xlkit.form.params import make_params
from xlkit.form.placement import build_layout
from xlkit.form.registry import SpecRegistry


def run(text: str, cells: dict | None = None):
    cells = cells or {}
    return compile_formula(parse(text), "S")(lambda key: cells.get(key))


def test_arithmetic_precedence_like_excel():
    assert run("=1+2*3") == 7
    assert run("=-2^2") == 4  # unary minus binds tighter than ^ in Excel
    assert run("=2^3^2") == 64  # ^ is left-associative in Excel
    assert run("=(1+2)*3") == 9
    assert run("=50%") == 0.5


def test_blank_cells_count_as_zero_and_empty_text():
    assert run("=A1+1") == 1
    assert run("=A1") == 0
    assert run('=A1=""') is True
    assert run("=A1=0") is True
    assert run("=LEN(A1)") == 0


def test_sum_ignores_text_in_cells_but_coerces_literals():
    cells = {("S", 0, 0): 1.5, ("S", 1, 0): "abc", ("S", 2, 0): 2.0}
    assert run("=SUM(A1:A3)", cells) == 3.5
    assert run('=SUM("2",1)') == 3
    assert str(run('=A2+1', cells)) == "#VALUE!"


def test_average_and_count_skip_text_and_blanks_in_cells():
    cells = {("S", 0, 0): 1.5, ("S", 1, 0): "abc", ("S", 2, 0): 2.5, ("S", 4, 0): True}
    assert run("=AVERAGE(A1:A5)", cells) == 2.0
    assert run("=COUNT(A1:A5)", cells) == 2
    assert run('=COUNT(A1:A5,"3",1)', cells) == 4
    assert str(run("=AVERAGE(A4:A5)", cells)) == "#DIV/0!"
    assert str(run("=AVERAGE(A1,1/0)", cells)) == "#DIV/0!"


def test_round_is_half_away_from_zero_on_the_decimal_shown():
    assert excel_round(2.675, 2) == 2.68
    assert excel_round(-2.5, 0) == -3
    assert excel_round(0.6355 * 10, 2) == 6.36  # 6.3549999999999995 in binary: Excel and LibreOffice see 6.355
    assert run("=ROUND(103.77+1022.51,2)") == 1126.28
    assert excel_round(1e28, 0) == 1e28 and excel_round(1.25e300, -299) == 1.3e300  # beyond Decimal's default precision


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**16, 10**16).map(float),
                 st.sampled_from([0.0, -0.0, 1e15, -1e15, 999999999999999.0, 2.5, -2.5])), st.integers(-6, 12))
def test_round_takes_the_decimal_shown_for_any_number(x, digits):
    """Every quick path of excel_round agrees with rounding the 15-digit decimal half away from zero."""
    wide = Context(prec=1000, Emin=-2000, Emax=2000)
    expected = float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-digits, wide), rounding=ROUND_HALF_UP, context=wide))
    assert repr(excel_round(x, digits)) == repr(expected)  # repr: the sign of a zero counts too


def test_if_and_errors():
    assert run('=IF(A1>0,1/A1,"")') == ""
    assert str(run("=1/A1")) == "#DIV/0!"
    assert run("=IFERROR(1/A1,7)") == 7
    assert run("=IF(1>0,A1)") == 0
    assert run('=AND(ISNUMBER(A1),A1>0)', {("S", 0, 0): 3.0}) is True


def test_comparisons_follow_excel_type_order():
    assert run('="a"="A"') is True
    assert run('="1">9') is True  # text sorts after numbers
    assert run("=TRUE>1") is True


def test_cross_sheet_references():
    cells = {("收支情况", 5, 1): 10.0}
    assert run("='收支情况'!B6*2", cells) == 20


@pytest.mark.parametrize("text", ["=1+", "=FOO(1)", "=SUM(1", "=1 2", ""])
def test_syntax_errors_are_reported(text):
    with pytest.raises(FormulaSyntaxError):
        parse(text)


ANY_VALUE = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e308, 1e308).map(lambda x: x * 10),
                      st.text(max_size=3), st.booleans(), st.sampled_from([XlError("#DIV/0!"), XlError("#N/A")]))


@settings(max_examples=400, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(-3, 6))
def test_round_fast_path_is_the_decimal_definition(x, digits):
    wide = Context(prec=1000, Emin=-2000, Emax=2000)
    expected = float(Decimal(f"{x:.15g}").quantize(Decimal(1).scaleb(-digits, wide), rounding=ROUND_HALF_UP, context=wide))
    got = excel_round(x, digits)
    assert got == expected and math.copysign(1, got) == math.copysign(1, expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_VALUE, min_size=3, max_size=3), st.sampled_from(["SUM", "COUNT", "MIN", "MAX"]),
       st.sampled_from(["+", "-", "*", "/", "=", "<>", "<", ">=", "&"]))
def test_specialised_paths_agree_with_the_general_functions(values, function, op):
    """Ranges of cells, constant-digit ROUND, and arithmetic and comparison on two numbers have quicker paths in
    compile(); each must give what the general function gives, whatever the cells hold."""
    cells = {("S", row, 0): value for row, value in enumerate(values) if value is not None}

    def same(a, b):
        return str(a) == str(b) and type(a) is type(b)

    assert same(run(f"={function}(A1:A2,A3)", cells), FUNCTIONS[function]([[(values[0], True), (values[1], True)], [(values[2], True)]]))
    assert same(run("=ROUND(A1,2)", cells), FUNCTIONS["ROUND"]([[(values[0], True)], [(2.0, False)]]))
    general = compare(op, values[0], values[1]) if op in COMPARISONS else arith(op, values[0], values[1]) if op != "&" else None
    if general is not None:
        assert same(run(f"=A1{op}A2", cells), general)


# ---------------------------------------------------------------- the generated program
CONSTRUCTS = ["=A1", "=-A1", "=A1%", "=A1+A2*A3", "=A1-A2", "=A1/A2", "=A1^A2", "=A1&A2", "=A1:A2", "=A1=A2", "=A1<>A3",
              "=A1<=A2", "=A1<A2", "=A1>=A3", '=IF(A1,A2,A3)', "=IF(A1,A2)", '=IF(A1>0,"是",IF(A2,A3,"否"))', "=IFERROR(A1/A2,A3)",
              "=IFERROR(A1,A2)", "=SUM(A1:A3)", "=SUM(A1,A2+A3)", "=COUNT(A1:A2,A3)", "=MIN(A1:A3)", "=MAX(A1,A3)",
              "=ROUND(A1,2)", "=ROUND(A1+A2,0)", "=ROUND(A1,A2)", "=AVERAGE(A1:A3)", "=AND(A1,A2)", "=OR(A1:A3)",
              "=NOT(A1)", "=ABS(A1)", "=LEN(A1)&A2", "=ISNUMBER(A1)", "=ISBLANK(A2)", "=ISTEXT(A3)", "=ISERROR(A1/A2)",
              "=N(A1)", '=0+(LEN(A1)=0)+(LEN(A2)=0)', "=IF(N(A1)=0,\"\",ROUND((A2/A1-1)*100,2))", "=B1+A1", "=B2*2",
              "=COUNTIF(A1:A3,A2)", '=COUNTIF(A1:A3,">0")', '=SUMIF(A1:A3,"<>",A1:A3)', '=COUNTIFS(A1:A2,"*",A2:A3,A1)',
              "=SUMIFS(A1:A3,A1:A3,A3)", "=COUNTA(A1:A3,B1)", "=COUNTBLANK(A1:A3)", "=SUMIF(B1:B2,A1)"]


def _closures(formulas: list[tuple[tuple[str, int, int], str]], cells: dict) -> list:
    """The formulas run one by one through their closures, each result then readable by the next, as compute()
    ran them before the program."""
    cells, out = dict(cells), []
    for cell, text in formulas:
        value = compile_formula(parse(text), "S")(cells.get)
        cells[cell] = value
        out.append(value)
    return out


def _same(a, b) -> bool:
    return type(a) is type(b) and (a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)))


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_VALUE, min_size=3, max_size=3), st.lists(st.sampled_from(CONSTRUCTS), min_size=1, max_size=6))
def test_the_program_computes_what_the_closures_compute(values, texts):
    """Every construct, in chains where a formula reads the ones before it (B1, B2…), over any values."""
    cells = {("S", row, 0): value for row, value in enumerate(values) if value is not None}
    formulas = [(("S", row, 1), text) for row, text in enumerate(texts)]
    program = compile_program([(cell, parse(text), "S") for cell, text in formulas])
    got = program(cells.get)
    assert all(_same(a, b) for a, b in zip(got, _closures(formulas, cells), strict=True)), (got, texts)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_program_of_each_form_computes_what_its_closures_compute(data):
    """The forms' own formulas, over inputs of every kind in every cell (blank, numbers, text, booleans, errors)."""
    spec = data.draw(st.sampled_from(sorted(SpecRegistry.default().forms().values(), key=lambda s: s.template.id)))
    layout = build_layout(spec, make_params(spec))
    calculator = Calculator(layout)
    assert calculator.generate() is not None
    inputs = {slot.id: data.draw(ANY_VALUE) for slot in layout.inputs()}
    cells = {calculator.cell_of[k]: v for k, v in inputs.items() if v is not None and v != ""}
    expected = []
    for _field_id, cell, function in calculator.order:
        cells[cell] = function(cells.get)
        expected.append(cells[cell])
    got = calculator.compute(inputs)
    assert all(_same(got[field_id], value) for field_id, value in zip(calculator.ids, expected, strict=True))


def test_a_layout_is_generated_once_it_is_hot():
    spec = SpecRegistry.default().current
    calculator = Calculator(build_layout(spec, make_params(spec)))
    inputs = {slot.id: 1.0 for slot in calculator.layout.inputs() if spec.types[slot.type].base == "number"}
    first = [calculator.compute(inputs) for _ in range(Calculator.HOT - 1)]
    assert calculator.program is None  # a layout few units share stays with the closures
    generated = calculator.compute(inputs)
    assert calculator.program is not None and generated == first[0] and calculator.generate() is calculator.program


def test_the_generated_source_is_kept_and_is_what_runs():
    """A maintainer reads `Calculator.source`: the text that was compiled, which computes what the program does."""
    from xlkit.form.codegen import Generated

    spec = SpecRegistry.default().current
    calculator = Calculator(build_layout(spec, make_params(spec)))
    assert calculator.source is None and calculator.fallback is None
    program = calculator.generate()
    assert program is not None and calculator.fallback is None and calculator.source is not None
    assert calculator.source.startswith("def program(get):") and "return (" in calculator.source
    inputs = {slot.id: 2.0 for slot in calculator.layout.inputs() if spec.types[slot.type].base == "number"}
    cells = calculator._cells(inputs)
    namespace = dict(program.__globals__)  # the constants the text names, compiled afresh from the kept text
    assert Generated(calculator.source, namespace).compile()(cells.get) == program(cells.get)


def test_a_fallback_is_said_and_the_closures_compute(monkeypatch, caplog):
    import xlkit.form.compute as compute

    def refuse(_formulas):
        raise ValueError("cannot compile lambda")

    spec = SpecRegistry.default().current
    layout = build_layout(spec, make_params(spec))
    inputs = {slot.id: 3.0 for slot in layout.inputs() if spec.types[slot.type].base == "number"}
    expected = Calculator(layout).compute(inputs)
    monkeypatch.setattr(compute, "generate_program", refuse)
    calculator = Calculator(layout)
    with caplog.at_level("INFO", logger="xlkit.form.compute"):
        assert calculator.generate() is None
    assert calculator.fallback == "ValueError: cannot compile lambda" and calculator.program is None
    assert "stay as closures: ValueError: cannot compile lambda" in caplog.text
    calculator.uses = Calculator.HOT - 1
    assert calculator.compute(inputs) == expected  # the closures, and generation is not tried again
    with pytest.raises(ValueError, match="takes other arguments"):  # what the generator really refuses
        compile_program([(("S", 0, 1), parse("IF(A1)"), "S")])


def test_memory_error_goes_through_generation(monkeypatch):
    """Running out of memory is the reader process's to report (as for any other file), not a quiet fallback."""
    import xlkit.form.compute as compute

    def exhausted(_formulas):
        raise MemoryError

    monkeypatch.setattr(compute, "generate_program", exhausted)
    spec = SpecRegistry.default().current
    calculator = Calculator(build_layout(spec, make_params(spec)))
    with pytest.raises(MemoryError):
        calculator.generate()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("XFE1+1", "'XFE1' 超出了 Excel 工作表的范围（至多 XFD 列、1048576 行）"),
        ("A1048577*2", "'A1048577' 超出了 Excel 工作表的范围（至多 XFD 列、1048576 行）"),
    ],
)
def test_a_reference_off_excels_grid_is_refused_in_chinese(text, message):
    with pytest.raises(FormulaSyntaxError) as raised:
        parse(text)
    assert str(raised.value) == message


CELL_VALUES = st.one_of(st.none(), st.just(""), st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                        st.booleans(), st.text(max_size=3))


@settings(max_examples=300, deadline=None)
@given(whole=st.dictionaries(st.integers(0, 12), st.lists(CELL_VALUES, max_size=5), max_size=10),
       apart=st.dictionaries(st.tuples(st.integers(0, 12), st.integers(0, 5)), CELL_VALUES, max_size=12),
       ranges=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 5), st.integers(0, 3), st.integers(0, 1)), min_size=1, max_size=4),
       name=st.sampled_from(["SUM", "COUNT", "MIN", "MAX", "COUNTA", "COUNTBLANK"]), other=st.booleans())
def test_a_span_getter_reads_ranges_as_reading_cell_by_cell_does(whole, apart, ranges, name, other):
    """The fast path of an aggregate over cells (`SpanGetter.span`, the summary's `CellValues`) against the plain path
    (the same values asked for one cell at a time): the same result, whatever the cells hold."""
    from xlkit.bureau.sheets import CellValues

    values = CellValues()
    for (row, col), value in apart.items():
        values[("S", row, col)] = value
    for row, cells in whole.items():
        values.record_row("S", row, cells, whole=True)
    refs = ",".join(f"{'其他!' if other and k % 2 else ''}{chr(65 + col)}{row + 1}:{chr(65 + col + width)}{row + 1 + height}"
                    for k, (row, col, height, width) in enumerate(ranges[:1] if name == "COUNTBLANK" else ranges))
    formula = compile_formula(parse(f"{name}({refs})"), "S")
    fast, plain = formula(values), formula(values.get)
    assert repr(fast) == repr(plain)
