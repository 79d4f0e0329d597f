"""审核 of the report against the tables (the spec's narrative section): figures read as written, each compared with
the field its phrase names; the seed's report passes, each of its figures altered is caught on its own field, and
what names no field (years, counts, phone numbers, 第3季度) is never compared."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.errors import SpecError
from xlkit.form.compute import calculator
from xlkit.form.load import load_spec
from xlkit.form.placement import build_layout
from xlkit.intake.catalogue import CATALOGUE
from xlkit.intake.check import check_file
from xlkit.intake.narrative import Finding, matches, reader_of, review, text_fields

ROOT = Path(__file__).resolve().parents[1]
FULL = str.maketrans("0123456789.%", "０１２３４５６７８９．％")


def values_of(spec: Any, data: dict[str, Any]) -> dict[str, Any]:
    layout = build_layout(spec)
    return calculator(layout).compute({k: v for k, v in data.items() if k in layout.fields})


def findings(spec: Any, data: dict[str, Any], texts: dict[str, str] | None = None) -> list[Finding]:
    layout = build_layout(spec)
    assert spec.narrative is not None
    read = texts if texts is not None else {f: data.get(f) for f in text_fields(layout, spec.narrative)}
    labels = {f: layout.fields[f].label for f in layout.field_ids}
    return review(spec.narrative, read, values_of(spec, data), labels)


# ------------------------------------------------------------------ numbers as written
@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=0, max_value=10**9), unit=st.sampled_from(["万元", "元", "亿元"]), wide=st.booleans(),
       separated=st.booleans())
def test_a_sum_written_in_any_unit_is_read_back(spec, cents: int, unit: str, wide: bool, separated: bool) -> None:
    """A sum held in 万元 (two decimals), written in 万元, 元 or 亿元, with or without thousands separators and in
    full-width digits: read as one figure that matches the value, and not a value one written step away."""
    held = Decimal(cents) / 100  # 万元
    written = {"万元": held, "元": held * 10000, "亿元": held / 10000}[unit]
    number = f"{written:,f}" if separated else f"{written:f}"
    text = f"实际支出{number}{unit}。"
    reader = reader_of(spec.narrative)
    figures = reader.figures(text.translate(FULL) if wide else text)
    assert len(figures) == 1
    figure = figures[0]
    assert figure.mantissa == written and figure.dimension == "金额"
    assert matches(figure, held)
    assert not matches(figure, held + Decimal(1).scaleb(-figure.decimals) * figure.scale)


@settings(max_examples=300, deadline=None)
@given(value=st.floats(min_value=0, max_value=1e6, allow_nan=False), decimals=st.integers(min_value=0, max_value=4),
       percent=st.booleans())
def test_rounding_as_written(spec, value: float, decimals: int, percent: bool) -> None:
    """A figure with k decimals matches a value that rounds to it (5.8 for 5.80, 96.92% for 0.969207); one step more
    never matches."""
    shown = Decimal(repr(value)) * (100 if percent else 1)
    written = shown.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    unit = "%" if percent else "万元"
    figure = reader_of(spec.narrative).figures(f"支出{written}{unit}")[0]
    base = Decimal(repr(value))
    assert matches(figure, base)
    higher = reader_of(spec.narrative).figures(f"支出{written + Decimal(1).scaleb(-decimals)}{unit}")[0]
    assert not matches(higher, base)


def test_examples_of_rounding_and_units(spec) -> None:
    reader = reader_of(spec.narrative)
    fig = reader.figures("公车运维费5.8万元")[0]
    assert matches(fig, Decimal("5.80")) and not matches(fig, Decimal("5.91"))
    fig = reader.figures("处置率96.92%")[0]
    assert matches(fig, Decimal(253185) / Decimal(261238)) and not matches(fig, Decimal("0.9682"))
    fig = reader.figures("实际支出10,022,500元")[0]
    assert matches(fig, Decimal("1002.25")) and not matches(fig, Decimal("1002.52"))
    fig = reader.figures("采集信息28万条")[0]  # a multiplier before the unit
    assert fig.mantissa == 28 and fig.unit == "万条" and matches(fig, Decimal(280000)) and matches(fig, Decimal(284999))
    assert not matches(fig, Decimal(290000))
    fig = reader.figures("支出１，００２．２５万元")[0]  # full-width digits and separator
    assert fig.mantissa == Decimal("1002.25")


def test_what_is_not_a_figure(spec) -> None:
    """No unit right after the number, a hedge before or after it, or a number inside a code: no figure."""
    reader = reader_of(spec.narrative)
    for text in ["2019年度", "7个项目", "任务1", "第3季度", "0730-8612319", "18173068822", "岳发改审[2011]110号", "500余件",
                 "96%以上", "约3万元", "不低于90%", "2020-03-31", "12319运营经费", "8路语音中继线路"]:
        assert reader.figures(text) == [], text


# ------------------------------------------------------------------ the seed
def test_the_seed_report_quotes_its_tables(spec, seed_data) -> None:
    assert findings(spec, seed_data) == []


SEED_FIGURES = [  # (text, the figure as the report writes it, what it becomes, the field it names)
    ("report.overview", "编制人数22人", "编制人数23人", "staff.authorized"),
    ("report.overview", "实际人数20人", "实际人数19人", "staff.actual"),
    ("report.overview", "实际支出1002.25万元", "实际支出1002.52万元", "expense.all.total"),
    ("report.overview", "其中基本支出278.15万元", "其中基本支出278.51万元", "expense.all.basic"),
    ("report.overview", "项目支出724.10万元", "项目支出742.10万元", "expense.all.project"),
    ("report.management", "2019年度基本支出278.15万元", "2019年度基本支出287.15万元", "expense.all.basic"),
    ("report.management", "人员支出217.23万元", "人员支出217.32万元", "expense.all.personnel"),
    ("report.management", "公用支出60.92万元", "公用支出60.29万元", "expense.all.public"),
    ("report.management", "实际支出8.71万元", "实际支出8.17万元", "sangong.all.total"),
    ("report.management", "公务接待费支出2.91万元", "公务接待费支出2.19万元", "sangong.all.reception"),
    ("report.management", "（预算3.9万元）", "（预算3.6万元）", "sangong_budget.all.reception"),
    ("report.management", "公车运维费5.8万元", "公车运维费5.9万元", "sangong.all.vehicle_ops"),
    ("report.management", "（预算6万元）", "（预算7万元）", "sangong_budget.all.vehicle_ops"),
    ("report.management", "合计预算842.03万元", "合计预算843.02万元", "projects.total.budget"),
    ("report.management", "项目支出724.10万元", "项目支出724.01万元", "expense.all.project"),
]
SEED_RATIOS = [  # a ratio or one of its parts altered: the parts no longer give it
    ("achievements", "处置率96.92%", "处置率97.92%"),
    ("achievements", "处置253185件", "处置243185件"),
    ("achievements", "受理城市管理案件261238件", "受理城市管理案件271238件"),
    ("achievements", "办结率99%", "办结率98%"),
    ("report.performance", "处置率96.92%", "处置率96.29%"),
    ("report.performance", "办结10555件", "办结10055件"),
    ("indicators.quantity2.result", "处置率96.92%", "处置率95.92%"),
    ("indicators.quantity3.result", "办结10555件", "办结10155件"),
]


@pytest.mark.parametrize(("text", "was", "now", "field"), SEED_FIGURES)
def test_each_figure_of_the_seed_altered_is_caught_on_its_field(spec, seed_data, text: str, was: str, now: str, field: str) -> None:
    assert seed_data[text].count(was) == 1
    data = {**seed_data, text: seed_data[text].replace(was, now)}
    found = findings(spec, data)
    assert [(f.code, f.text_field, f.field) for f in found] == [("narrative-mismatch", text, field)]
    assert found[0].found in now and found[0].found in found[0].quote and found[0].quote in data[text]


@pytest.mark.parametrize(("text", "was", "now"), SEED_RATIOS)
def test_each_ratio_of_the_seed_altered_is_caught(spec, seed_data, text: str, was: str, now: str) -> None:
    assert seed_data[text].count(was) == 1
    data = {**seed_data, text: seed_data[text].replace(was, now)}
    found = findings(spec, data)
    assert [(f.code, f.text_field) for f in found] == [("narrative-ratio", text)]


def test_the_message_quotes_the_sentence_and_both_values(spec, seed_data) -> None:
    data = {**seed_data, "report.performance": "单位整体支出规模：2019年度实际支出1002.52万元。"}
    found = findings(spec, data, {"report.performance": data["report.performance"]})
    assert len(found) == 1
    finding = found[0]
    assert (finding.quote, finding.expected, finding.subject) == ("实际支出1002.52万元", "1002.25 万元", "局机关及二级机构汇总·支出合计")
    ratio = findings(spec, data, {"achievements": "全年受理城市管理案件261238件，处置253185件，处置率97.92%。"})[0]
    assert ratio.quote == "全年受理城市管理案件261238件，处置253185件，处置率97.92%" and ratio.expected == "96.92%" and ratio.subject == "253185件 ÷ 261238件"


SILENT = [
    "2019年度共有7个项目，合计支出在预算之内。",
    "联系电话0730-8612319，手机18173068822。",
    "第3季度实际支出100万元。",
    "上年实际支出900.00万元，较上年增加102.25万元。",
    "任务1：完成基本支出核算；任务2：完成项目支出审核。",
    "2020年3月31日完成自评，共有评价人员5人。",
    "本单位支出较上年增加12.5万元，节约公用经费3万元。",
    "公务接待费比预算节约0.99万元。",
    "办结率均在96%以上。",
    "专项支出337.01万元。",
]


@pytest.mark.parametrize("sentence", SILENT)
def test_sentences_that_must_not_match(spec, seed_data, sentence: str) -> None:
    assert findings(spec, seed_data, {"report.performance": sentence}) == []


def test_a_figure_that_names_no_field_is_ignored_but_a_named_one_is_not(spec, seed_data) -> None:
    """The control of the silent sentences: the same figure with a phrase that names a field is compared."""
    assert [f.field for f in findings(spec, seed_data, {"report.performance": "全年实际支出100万元。"})] == ["expense.all.total"]


def test_the_project_seed_report_quotes_its_tables(project_spec, project_data) -> None:
    assert findings(project_spec, project_data) == []
    data = {**project_data, "report.funds": project_data["report.funds"].replace("结余12.91万元", "结余21.91万元")}
    assert [(f.code, f.field) for f in findings(project_spec, data)] == [("narrative-mismatch", "funds.total.balance")]
    data = {**project_data, "report.conclusion": project_data["report.conclusion"].replace("考评得分97分", "考评得分99分")}
    assert [(f.code, f.field) for f in findings(project_spec, data)] == [("narrative-mismatch", "total_score")]


# ------------------------------------------------------------------ the check
def test_check_warns_on_the_text_cell(spec, seed_template, seed_data, registry, tmp_path: Path) -> None:
    from xlkit.write.fill import fill_workbook

    data = {**seed_data, "report.overview": seed_data["report.overview"].replace("实际支出1002.25万元", "实际支出1002.52万元")}
    path = tmp_path / "altered.xlsx"
    fill_workbook(seed_template, data, path, spec)
    report = check_file(path, registry)
    issues = [i for i in report.issues if i.code.startswith("narrative")]
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.code, issue.severity, issue.field, issue.sheet) == ("narrative-mismatch", "warning", "report.overview", "报告综述")
    assert issue.message.startswith("报告综述（单位概况）写“实际支出1002.52万元”，表中局机关及二级机构汇总·支出合计为 1002.25 万元（原文：")
    assert "Error" not in issue.message and "Decimal" not in issue.message


def test_the_seed_and_every_demo_return_are_clean(seed_filled, project_filled, returned, registry) -> None:
    files = [seed_filled, project_filled, *sorted(returned.glob("*.xlsx"))]
    assert len(files) > 10
    for path in files:
        report = check_file(path, registry)
        assert report.read_ok, path
        assert [i.message for i in report.issues if i.code.startswith("narrative")] == [], path


def test_both_codes_are_catalogued_warnings() -> None:
    for code in ("narrative-mismatch", "narrative-ratio"):
        assert CATALOGUE[code].severity == "warning" and re.search(r"[\u4e00-\u9fff]", CATALOGUE[code].summary)


# ------------------------------------------------------------------ the spec
def _with_narrative(tmp_path: Path, change: dict[str, Any]) -> Path:
    raw = yaml.safe_load((ROOT / "templates" / "project_self_eval.yaml").read_text(encoding="utf-8"))
    raw["narrative"] = {**raw["narrative"], **change}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_an_unknown_field_or_unit_is_a_spec_error_with_its_line(tmp_path: Path) -> None:
    path = _with_narrative(tmp_path, {"terms": [{"field": "funds.total.spnt", "unit": "万元", "phrases": ["支出"]}]})
    with pytest.raises(SpecError, match=r"spec\.yaml:\d+: narrative\.terms\[0\]\.field: 未知的字段 'funds\.total\.spnt'"):
        load_spec(path)
    path = _with_narrative(tmp_path, {"terms": [{"field": "funds.total.spent", "unit": "美元", "phrases": ["支出"]}]})
    with pytest.raises(SpecError, match=r"narrative\.terms\[0\]\.unit: 未知的单位 '美元'（narrative\.units 中有：万元"):
        load_spec(path)
    path = _with_narrative(tmp_path, {"texts": ["report.nothing"]})
    with pytest.raises(SpecError, match=r"narrative\.texts\[0\]: 没有字段与 'report\.nothing' 相符"):
        load_spec(path)


def test_the_section_is_not_part_of_the_fingerprint(tmp_path: Path, project_spec) -> None:
    raw = yaml.safe_load((ROOT / "templates" / "project_self_eval.yaml").read_text(encoding="utf-8"))
    del raw["narrative"]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    bare = load_spec(path)
    assert bare.narrative is None and bare.fingerprint() == project_spec.fingerprint()
