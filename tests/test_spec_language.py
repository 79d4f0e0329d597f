"""The spec language's own means, on a small monitoring form written for these tests (tests/specs/monitor.yaml):
named constants, conditional required fields, a rule's anchor, text inputs on total rows, forms without 等次."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xlkit.cli import main
from xlkit.errors import SpecError, XlkitError
from xlkit.form.identity import META_SHEET
from xlkit.form.load import load_spec
from xlkit.form.params import make_params
from xlkit.form.placement import build_layout
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

SPEC_PATH = Path(__file__).parent / "specs" / "monitor.yaml"
SPEC_TEXT = SPEC_PATH.read_text(encoding="utf-8")
GOOD = {"project.name": "数字城管信息采集服务项目", "funds.fiscal.budget": 400, "funds.fiscal.spent": 240, "funds.other.budget": 0,
        "funds.other.spent": 0, "indicators.i1.goal": "≥950条/日", "indicators.i1.possibility": "确定能",
        "indicators.i2.goal": "≥96%", "indicators.i2.possibility": "确定能"}


def spec_with(tmp_path: Path, old: str, new: str):
    assert old in SPEC_TEXT, old
    path = tmp_path / "monitor.yaml"
    path.write_text(SPEC_TEXT.replace(old, new, 1), encoding="utf-8")
    return load_spec(path)


def returned(tmp_path: Path, data: dict, constants: dict | None = None, name: str = "r.xlsx") -> Path:
    spec = load_spec(SPEC_PATH)
    template = tmp_path / f"t-{name}"
    build_template(template, spec, unit_code="P001", unit_name="数字城管信息采集服务项目", year=2026, constants=constants)
    fill_workbook(template, data, tmp_path / name, spec)
    return tmp_path / name


def check(path: Path):
    return check_file(path, SpecRegistry([load_spec(SPEC_PATH)]))


def codes(report) -> list[tuple[str, str | None]]:
    return [(i.code, i.field) for i in report.issues]


# ------------------------------------------------------------------ constants
def test_a_constant_is_written_into_formulas_and_recorded_in_the_workbook(tmp_path):
    layout = build_layout(load_spec(SPEC_PATH))
    assert layout.fields["progress"].formula == "0.5833"
    assert "0.5833" in layout.fields["check.behind.right"].formula
    path = returned(tmp_path, GOOD, {"time_progress": 0.5})
    params = dict(load_workbook(path)[META_SHEET].iter_rows(values_only=True))["build.params"]
    assert json.loads(params)["constants"] == {"time_progress": 0.5}
    report = check(path)
    assert report.values["progress"] == 0.5
    assert codes(report) == []  # 240/400 = 60% is not behind a time progress of 50%


def test_the_same_return_is_behind_at_the_default_time_progress(tmp_path):
    data = {**GOOD, "funds.fiscal.spent": 200}  # 50% against 58.33%
    report = check(returned(tmp_path, data))
    assert codes(report) == [("check-behind", "funds.total.rate")]  # the anchor, not the budget the formula names first


def test_constants_are_checked_at_build(tmp_path):
    spec = load_spec(SPEC_PATH)
    with pytest.raises(XlkitError, match=r"时间进度 \(time_progress\) 应在 0.0 到 1.0 之间，实为 7.0"):
        make_params(spec, constants={"time_progress": 7})
    with pytest.raises(XlkitError, match=r"未知的常量 progress_time（已定义：time_progress）"):
        make_params(spec, constants={"progress_time": 0.5})
    with pytest.raises(SpecError, match=r"monitor.yaml:\d+: sheets\[0\].blocks\[1\].fields\[1\]\[0\].formula: 未知的常量 \{const.nope\}（已定义：time_progress）"):
        spec_with(tmp_path, '"{const.time_progress}"}]', '"{const.nope}"}]')


def test_a_spec_without_constants_keeps_its_build_parameters_as_before():
    params = make_params(load_spec())  # the built-in form has no constants: its identity is unchanged
    assert "constants" not in json.loads(params.to_json())


def test_const_option_of_build(tmp_path):
    out = tmp_path / "t.xlsx"
    result = CliRunner().invoke(main, ["build", str(SPEC_PATH), "-o", str(out), "--const", "time_progress=0.6667"])
    assert result.exit_code == 0, result.output
    params = json.loads(dict(load_workbook(out)[META_SHEET].iter_rows(values_only=True))["build.params"])
    assert params["constants"] == {"time_progress": 0.6667}
    result = CliRunner().invoke(main, ["build", str(SPEC_PATH), "-o", str(out), "--const", "time_progress"])
    assert result.exit_code == 2 and "--const 的写法是 名称=数值" in result.output


# ------------------------------------------------------------------ conditional required
def test_a_reason_is_required_only_when_the_goal_may_be_missed(tmp_path):
    assert codes(check(returned(tmp_path, GOOD))) == []
    doubtful = {**GOOD, "indicators.i2.possibility": "有可能"}
    report = check(returned(tmp_path, doubtful, name="d.xlsx"))
    assert codes(report) == [("required-missing", "indicators.i2.reason")]
    assert report.values["check.required.monitor.left"] == 1  # counted by the 必填项 rule in the unit's own 校验 sheet
    explained = {**doubtful, "indicators.i2.reason": "招标推迟，预计四季度完成"}
    assert codes(check(returned(tmp_path, explained, name="e.xlsx"))) == []


def test_a_conditionally_required_cell_is_highlighted_while_its_condition_holds(tmp_path):
    path = returned(tmp_path, GOOD)
    layout = build_layout(load_spec(SPEC_PATH))
    slot = layout.fields["indicators.i1.reason"]
    assert slot.required_if is not None and slot.required_if.endswith('<>"确定能"')
    sheet = load_workbook(path)["监控表"]
    rules = [(str(rng.sqref), r.formula) for rng in sheet.conditional_formatting for r in rng.rules]
    assert (slot.address.replace("$", ""), [f"AND({slot.required_if},LEN({slot.address})=0)"]) in rules


# ------------------------------------------------------------------ total rows, grades
def test_a_text_column_can_be_an_input_on_the_total_row():
    layout = build_layout(load_spec(SPEC_PATH))
    assert layout.fields["funds.total.reason"].kind == "input"
    assert layout.fields["funds.total.budget"].kind == "formula"


def test_a_form_without_grades_loads_and_grade_needs_bands(tmp_path):
    spec = load_spec(SPEC_PATH)
    assert spec.grades == []
    with pytest.raises(SpecError, match=r"GRADE\(\) 需要表式的 grades:（等次划分），本表式没有"):
        spec_with(tmp_path, '"{const.time_progress}"}]', '"GRADE(80)"}]')


# ------------------------------------------------------------------ row sets a counting function cannot take
def test_counting_rows_a_table_may_not_have_is_refused_at_load(tmp_path):
    """COUNTA of no rows would be written COUNTA(0), which counts 1: the smallest row counts are tried at load."""
    with pytest.raises(SpecError, match=r"monitor.yaml:\d+: .*\{indicators.\*.goal\} 在这些行数下没有行，而 Excel 写不出空的 COUNTA\(\)"):
        text = SPEC_TEXT.replace("indicators: {label: 绩效指标数, default: 2, min: 1, max: 10}",
                                 "indicators: {label: 绩效指标数, default: 2, min: 0, max: 10}")
        text = text.replace('"{const.time_progress}"}]', '"{const.time_progress}"}]\n          - [{id: named, label: 指标数, type: ratio, formula: "COUNTA({indicators.*.goal})"}]')
        (tmp_path / "monitor.yaml").write_text(text, encoding="utf-8")
        load_spec(tmp_path / "monitor.yaml")


def test_a_criteria_range_split_by_a_total_row_is_refused(tmp_path):
    text = SPEC_TEXT.replace('            - {key: total, label: 年度资金总额, total: true}\n            - {key: fiscal, label: 财政拨款}\n',
                             '            - {key: fiscal, label: 财政拨款}\n            - {key: total, label: 年度资金总额, total: true}\n')
    assert text != SPEC_TEXT
    text = text.replace('"{const.time_progress}"}]', '"{const.time_progress}"}]\n          - [{id: late, label: 未说明, type: ratio, formula: \'COUNTIF({funds.*.reason},"")\'}]')
    (tmp_path / "monitor.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError, match=r"\{funds.\*.reason\} 不是一块相邻的单元格.*COUNTIF\(\) 只接受一个区域"):
        load_spec(tmp_path / "monitor.yaml")


def test_a_form_may_prefill_the_rosters_contact(tmp_path):
    from xlkit.bureau.distribute import distribute
    from xlkit.bureau.roster import load_roster
    from xlkit.intake.identify import open_template_workbook

    spec = spec_with(tmp_path, "          - [{id: project.name, label: 项目名称, type: text, span: 4, required: true}]\n",
                     "          - [{id: project.name, label: 项目名称, type: text, span: 4, required: true}]\n"
                     "          - [{id: contact.name, label: 联系人, type: text, span: 4, prefill: contact_name}]\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("单位编码,单位名称,联系人,联系电话\nP001,项目一,吴俊,18173068822\n", encoding="utf-8")
    [made] = distribute(spec, load_roster(roster).units, 2026, tmp_path / "out")
    opened = open_template_workbook(made.path, spec)
    assert opened.layout.fields["contact.name"].locked
    assert opened.input_values()["contact.name"] == "吴俊"


SUMMARY = """
summary:
  title: 执行监控汇总表
  entity: 项目
  sheets:
    - name: 执行监控
      title: 执行监控汇总表
      columns:
        - {field: funds.total.rate, label: 执行率, type: ratio, total: none}
        - {count: indicators.*.possibility, equals: 有可能, label: 可能完不成的指标（个）}
      watch:
        - {field: funds.total.rate, below: "{const.time_progress}", label: 执行率低于时间进度的项目}
"""


def test_a_summary_counts_rows_by_value_and_watches_against_a_constant(tmp_path):
    from xlkit.bureau.consolidate import column_values, consolidate

    path = tmp_path / "monitor.yaml"
    path.write_text(SPEC_TEXT + SUMMARY, encoding="utf-8")
    spec = load_spec(path)
    [watch] = spec.summary.sheets[0].watch
    assert watch.threshold == 0.5833
    returns = tmp_path / "returns"
    returns.mkdir()
    for code, spent, answer in (("P1", 200, "有可能"), ("P2", 300, "确定能")):
        template = tmp_path / f"{code}.xlsx"
        build_template(template, spec, unit_code=code, unit_name=f"项目{code}", year=2026)
        data = {**GOOD, "funds.fiscal.spent": spent, "indicators.i1.possibility": answer, "indicators.i2.possibility": answer,
                "indicators.i1.reason": "说明", "indicators.i2.reason": "说明"}
        fill_workbook(template, data, returns / f"{code}.xlsx", spec)
    result = consolidate([returns], spec_paths=(str(path),), jobs=1)
    by_unit = dict(zip(result.frame["unit_code"], column_values(result, spec.summary.sheets[0].columns[1]), strict=True))
    assert by_unit == {"P1": 2.0, "P2": 0.0}
    bad = SUMMARY.replace('"{const.time_progress}"', '"{const.progress}"')
    path.write_text(SPEC_TEXT + bad, encoding="utf-8")
    with pytest.raises(SpecError, match=r"below 应为数字或表式的常量 \{const.名称\}（已定义：time_progress）"):
        load_spec(path)


def test_a_rules_cells_show_the_type_it_names(tmp_path):
    """A 0/1 rule over a percentage field shows 1, not 100.00%, when it names its value type."""
    rule = '  - {id: flag, name: 执行率为零的标记, left: "IF({funds.total.rate}=0,1,0)", right: "0"'
    path = tmp_path / "monitor.yaml"
    text = SPEC_TEXT + rule + "}\n" + rule.replace("id: flag", "id: flag2") + ", value_type: whole}\n"
    text = text.replace("types:\n", "types:\n  whole: {base: integer, number_format: \"0\"}\n", 1)
    path.write_text(text, encoding="utf-8")
    layout = build_layout(load_spec(path))
    assert layout.fields["check.flag.left"].type == "ratio"  # the percentage field's type, as before
    assert layout.fields["check.flag2.left"].type == "whole"
    with pytest.raises(SpecError, match=r"rules\[\d+\].value_type: 未知的类型 'nothing'（已定义："):
        path.write_text(text.replace("value_type: whole", "value_type: nothing"), encoding="utf-8")
        load_spec(path)
