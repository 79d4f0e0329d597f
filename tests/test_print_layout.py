"""The printed form as the paper it replaces: clean number formats, labels that never split a bracket pair,
rows high enough for their text, totals of nothing left blank, the bureau's name where the seed has it."""

from __future__ import annotations

import re

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.form.compute import formula_inputs
from xlkit.form.placement import build_layout
from xlkit.write.build import build_template, row_heights, static_text
from xlkit.write.textfit import capacity, char_units, height_for, lines_needed, wrap

# Formats that render the same in Excel, WPS and LibreOffice (no "#,##0.##", which leaves "280,000.").
VETTED_FORMATS = {"General", "0", "0.00", "#,##0", "#,##0.00", "0.00%", "yyyy-mm-dd"}
BRACKETS = re.compile(r"（[^（）]*）|\([^()]*\)")


def test_every_number_format_is_vetted(spec):
    used = {t.number_format for t in spec.types.values() if t.number_format}
    assert used <= VETTED_FORMATS, used - VETTED_FORMATS


def test_no_half_width_colon_among_chinese(spec):
    texts = [spec.model_dump_json()]
    assert not re.search(r"[\u4e00-\u9fff]:", "".join(texts)), re.findall(r".{6}[\u4e00-\u9fff]:.{3}", "".join(texts))


def test_wrap_keeps_bracket_pairs_and_explicit_breaks():
    assert wrap("部门（单位）意见", 12) == ["部门", "（单位）", "意见"]
    assert wrap("部门（单位）意见", 8) == ["部门", "（单", "位）", "意见"]  # a pair wider than the cell: the spec must widen it
    assert wrap("部门（单位）意见", 22) == ["部门（单位）意见"]
    assert wrap("第一行\n第二行", 30) == ["第一行", "第二行"]
    assert lines_needed("12345678901234567890", 10) == 4  # 6 digits a line: digits of a CJK font are wider than a column unit
    assert height_for(1) == 15 and height_for(3) == 54


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("部门单位 AZaz09（）()《》“”【】,.、\n\u3000\uff21"), max_size=40),
       st.floats(1, 60), st.sampled_from([9, 10, 11, 14]))
def test_lines_needed_is_the_number_of_wrapped_lines(text, width, size):
    """The one-line shortcut for short texts agrees with wrapping them."""
    assert lines_needed(text, width, size) == len(wrap(text, width, size))


def test_labels_of_the_form_never_break_inside_brackets(spec):
    layout = build_layout(spec)
    for sheet in layout.sheets:
        for static in sheet.statics:
            if not static.text:
                continue
            last_col = static.last_col if static.last_col is not None else static.col
            width = sum(sheet.spec.columns[static.col:last_col + 1])
            lines = static_text(sheet, static).split("\n")
            for pair in BRACKETS.findall(static.text):
                if sum(char_units(ch) for ch in pair) <= capacity(width):
                    assert any(pair in line for line in lines), (sheet.name, static.text, lines)
            for line in lines:
                if static.style in ("label", "header", "rowlabel", "totallabel"):
                    assert sum(char_units(ch) for ch in line) <= capacity(width) + 0.01, (sheet.name, line, width)
    opinion = next(s for sheet in layout.sheets for s in sheet.statics if s.text == "部门（单位）意见")
    assert opinion.last_col is not None and opinion.last_col > opinion.col  # widened: one line on paper


def test_row_heights_grow_with_long_text_and_merged_labels(spec, seed_data):
    layout = build_layout(spec)
    sheet = next(s for s in layout.sheets if s.name == "基本概况")
    slot = layout.fields["achievements"]
    heights = row_heights(sheet, {"achievements": seed_data["achievements"]})
    width = sum(sheet.spec.columns[slot.col:slot.col + slot.span])
    assert heights[slot.row] >= height_for(lines_needed(seed_data["achievements"], width))
    evaluation = next(s for s in layout.sheets if s.name == "绩效自评")
    output_group = next(s for s in evaluation.statics if s.text.startswith("产出目标\n（部门工作实绩"))
    rows = range(output_group.row, output_group.last_row + 1)
    heights = row_heights(evaluation, {})
    assert sum(heights.get(r, 15) for r in rows) >= height_for(lines_needed(output_group.text, evaluation.spec.columns[0]))


def test_totals_of_nothing_print_blank(spec, tmp_path):
    """Each numeric formula carries `COUNT(its inputs)=0` -> text in the fill colour: blank on paper, 0.00 once typed."""
    path = tmp_path / "t.xlsx"
    layout = build_template(path, spec)
    ws = openpyxl.load_workbook(path)["收支情况"]
    rules: dict[str, list[str]] = {}
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            rules.setdefault(str(rng.sqref), []).extend(rule.formula or [])
    total = layout.fields["income.sub2.total"]
    inputs = {layout.fields[f].address for f in formula_inputs(layout)["income.sub2.total"]}
    assert inputs == {layout.fields[f"income.sub2.{c}"].address for c in ("carryover", "fiscal", "gov_fund", "special_account", "other")}
    [count] = [f for f in rules[total.address] if f.startswith("COUNT(")]
    assert count.endswith(")=0")
    counted = set()
    for first, last in re.findall(r"\$([A-Z]+\$\d+)(?::\$([A-Z]+\$\d+))?", count):
        a, b = first.replace("$", ""), (last or first).replace("$", "")
        cols = range(ord(a[0]), ord(b[0]) + 1)
        rows = range(int(a[1:]), int(b[1:]) + 1)
        counted |= {f"{chr(c)}{r}" for c in cols for r in rows}
    assert counted == inputs
    grade = layout.fields["grade"]
    sheet = openpyxl.load_workbook(path)[grade.sheet]
    assert not [r for rng in sheet.conditional_formatting if str(rng.sqref) == grade.address
                for r in rng.rules if "COUNT(" in (r.formula or [""])[0]]  # text results need no such rule


@pytest.mark.parametrize("issuer", [None, "岳阳市财政局"])
def test_the_bureau_name_comes_from_the_build(spec, tmp_path, issuer):
    path = tmp_path / "t.xlsx"
    build_template(path, spec, unit_code="430600301", unit_name="岳阳市智慧城管指挥中心", year=2019, issuer=issuer)
    book = openpyxl.load_workbook(path)
    expected = f"{issuer or spec.template.issuer}（制）"
    assert book["基本概况"]["A2"].value == expected
    assert expected in [c.value for row in book["封面"].iter_rows() for c in row]


def test_the_check_sheet_is_left_out_of_the_forms_print(spec, tmp_path):
    path = tmp_path / "t.xlsx"
    layout = build_template(path, spec)
    book = openpyxl.load_workbook(path)
    checks = next(s for s in layout.sheets if not s.spec.printed)
    area = book[checks.name].print_area
    assert area and not any(book[checks.name][ref.split("!")[-1].replace("$", "")].value for ref in [area])
    printed = [s for s in layout.sheets if s.spec.printed]
    assert all(book[s.name].print_area.endswith(f"$A$1:${chr(64 + s.width)}${s.last_row + 1}") for s in printed)
