"""Filling the seed's data reproduces the seed's figures, and the `formulas` oracle agrees."""

from __future__ import annotations

import json
import random

import openpyxl
import pandas as pd
import pytest
from oracle import evaluate_with_formulas, same

from xlkit.errors import FillError
from xlkit.form.params import make_params
from xlkit.form.placement import build_layout
from xlkit.intake.identify import open_template_workbook
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook, load_fill_data

SEED_FIGURES = {
    "income.all.total": 1126.28,
    "income.sub1.total": 1126.28,
    "expense.all.total": 1002.25,
    "expense.all.basic": 278.15,
    "expense.all.project": 724.10,
    "expense.all.balance_year": 20.26,
    "expense.all.balance_cum": 124.03,
    "sangong.all.total": 8.71,
    "assets.all.total": 1.63,
    "projects.total.budget": 842.03,
    "projects.total.spent": 724.10,
    "projects.p1.rate": 0.9677,
    "indicators.quantity2.rate": 1.045,
    "grade": "优秀",
    "projects.p1.grade": "优秀",
}


def cached_values(path, layout) -> dict:
    book = openpyxl.load_workbook(path, data_only=True)
    return {s.id: book[s.sheet][s.address].value for s in layout.fields.values()}


def layout_of(path, spec):
    opened = open_template_workbook(path, spec)
    return opened.layout


def test_seed_sample_gives_the_seed_figures_as_cached_values(seed_filled, spec):
    values = cached_values(seed_filled, layout_of(seed_filled, spec))
    for field_id, expected in SEED_FIGURES.items():
        assert values[field_id] == expected, field_id  # exact: formulas round to the cent
    assert values["score"] == 98


def test_all_checks_pass_on_the_seed_sample(seed_filled, spec):
    layout = layout_of(seed_filled, spec)
    values = cached_values(seed_filled, layout)
    failing = [c.id for c in layout.rules if values[c.result] != c.pass_text]
    assert failing == []


@pytest.mark.parametrize("engine", ["openpyxl", "calamine"])
def test_pandas_reads_the_cached_numbers(seed_filled, engine):
    frame = pd.read_excel(seed_filled, sheet_name="收支情况", header=None, engine=engine)
    assert 1126.28 in frame.values
    assert 124.03 in frame.values


def test_every_cached_value_equals_the_formulas_package(seed_filled, spec):
    layout = layout_of(seed_filled, spec)
    cached = cached_values(seed_filled, layout)
    oracle = evaluate_with_formulas(seed_filled)
    mismatches = []
    for slot in layout.formulas():
        theirs = oracle[(slot.sheet.upper(), slot.address)]
        if not same(cached[slot.id], theirs):
            mismatches.append((slot.id, cached[slot.id], theirs))
    assert mismatches == []


def test_random_fillings_agree_with_the_formulas_package(tmp_path, spec):
    """A differential test on values the seed does not exercise (blanks, zero budgets, scores at band edges)."""
    template = tmp_path / "t.xlsx"
    build_template(template, spec, counts={"sub_units": 3, "projects": 4})
    layout = layout_of(template, spec)
    rng = random.Random(7)
    for n in range(3):
        data = {}
        for slot in layout.inputs():
            base = spec.types[slot.type].base
            if base == "number" and rng.random() < 0.8:
                data[slot.id] = rng.choice([0, round(rng.uniform(0, 5000), 2), 90, 79.99])
                if slot.type == "score":
                    data[slot.id] = rng.choice([0, 59.99, 60, 80, 89.99, 90, 100])
            elif base == "integer" and slot.type == "count":
                data[slot.id] = rng.randint(0, 50)
        out = tmp_path / f"r{n}.xlsx"
        fill_workbook(template, data, out, spec)
        cached = cached_values(out, layout)
        oracle = evaluate_with_formulas(out)
        bad = [(s.id, cached[s.id], oracle[(s.sheet.upper(), s.address)]) for s in layout.formulas()
               if not same(cached[s.id], oracle[(s.sheet.upper(), s.address)])]
        assert bad == [], n


def test_fill_keeps_identity_protection_and_earlier_values(tmp_path, spec, seed_template):
    first = tmp_path / "a.xlsx"
    fill_workbook(seed_template, {"contact.name": "张三"}, first, spec)
    second = tmp_path / "b.xlsx"
    fill_workbook(first, {"staff.actual": 5}, second, spec)
    opened = open_template_workbook(second, spec)
    values = opened.input_values()
    assert values["contact.name"] == "张三" and values["staff.actual"] == 5
    assert values["unit.name"] == "岳阳市智慧城管指挥中心"
    book = openpyxl.load_workbook(second)
    assert book["基本概况"].protection.sheet and book.security.lockStructure
    assert book["基本概况"].data_validations.dataValidation


def test_fill_keeps_the_password(tmp_path, spec):
    from xlkit.form.identity import password_hash

    template = tmp_path / "t.xlsx"
    build_template(template, spec, password="pw")
    out = tmp_path / "f.xlsx"
    fill_workbook(template, {"score": 88}, out, spec)
    assert openpyxl.load_workbook(out)["绩效自评"].protection.password == password_hash("pw")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"no.such.field": 1}, "no.such.field: 未知的字段 id"),
        ({"income.all.total": 5}, "income.all.total: 是公式字段"),
        ({"unit.name": "别的单位"}, "unit.name: 已锁定"),
        ({"income.office.fiscal": "abc"}, "应为数字"),
        ({"income.office.fiscal": -1}, "不能小于 0"),
        ({"income.office.fiscal": 1.234}, "最多 2 位小数"),
        ({"staff.actual": 2.5}, "应为整数"),
        ({"score": 101}, "不能大于 100"),
        ({"contact.phone": "12345"}, "格式不正确"),
        ({"contact.phone": 13800000000}, "应为文字"),
        ({"evaluators.e1.role": "主任"}, "应为 组长/成员 之一"),
    ],
)
def test_bad_fill_data_is_refused_and_nothing_is_written(tmp_path, spec, seed_template, data, message):
    out = tmp_path / "out.xlsx"
    with pytest.raises(FillError) as info:
        fill_workbook(seed_template, data, out, spec)
    assert message in str(info.value)
    assert not out.exists()


def test_fill_from_csv(tmp_path, spec, seed_template):
    data_file = tmp_path / "d.csv"
    data_file.write_text("field,value\nincome.office.fiscal,12.5\ncontact.name,\"李四, 办公室\"\n", encoding="utf-8")
    data = load_fill_data(data_file)
    assert data == {"income.office.fiscal": "12.5", "contact.name": "李四, 办公室"}
    out = tmp_path / "f.xlsx"
    results = fill_workbook(seed_template, data, out, spec)
    assert results["income.all.total"] == 12.5


def test_load_fill_data_errors(tmp_path):
    bad_json = tmp_path / "d.json"
    bad_json.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(FillError, match=r"以字段 id 为键的 JSON 对象.*，实为 JSON 数组$"):
        load_fill_data(bad_json)
    bad_csv = tmp_path / "d.csv"
    bad_csv.write_text("a,b,c\n", encoding="utf-8")
    with pytest.raises(FillError, match=r"d\.csv: 第 1 行：应为 2 列 `field,value`，实有 3 列$"):
        load_fill_data(bad_csv)
    bad_csv.write_text("field,value\nscore,88\nscore,90\n", encoding="utf-8")
    with pytest.raises(FillError, match=r"d\.csv: 第 3 行：字段 'score' 已在前面给出过，不能重复$"):
        load_fill_data(bad_csv)
    bad_json.write_text('{"score": 88,}', encoding="utf-8")
    with pytest.raises(FillError, match=r"d\.json: 不是有效的 JSON：第 1 行第 14 列："):
        load_fill_data(bad_json)
    bad_json.write_bytes("{}".encode("utf-16"))
    with pytest.raises(FillError, match=r"d\.json: 填报数据应为 UTF-8 文本（JSON 或 CSV），实为其他编码或二进制内容$"):
        load_fill_data(bad_json)


def test_seed_sample_covers_the_seed(seed_data, spec):
    layout = build_layout(spec, make_params(spec, {"unit_name": "x"}))
    assert set(seed_data) <= set(layout.fields)
    assert json.dumps(seed_data, ensure_ascii=False).count("298532") >= 2
    assert seed_data["contact.phone"] != "18173068822"  # placeholders, not the real person


def test_fill_dates(tmp_path, spec, seed_template):
    out = tmp_path / "d.xlsx"
    fill_workbook(seed_template, {"reporter.date": "2020年3月31日"}, out, spec)
    cell = openpyxl.load_workbook(out)["评价人员"][open_template_workbook(out, spec).layout.fields["reporter.date"].address]
    assert cell.value.date().isoformat() == "2020-03-31" and cell.number_format == "yyyy-mm-dd"
    with pytest.raises(FillError, match="应为日期"):
        fill_workbook(seed_template, {"reporter.date": "下周"}, tmp_path / "x.xlsx", spec)
