"""Reading returned workbooks back: every issue type lands on the right code, severity, field and cell."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
import tamper
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from xlkit.cli import main
from xlkit.form.registry import SpecRegistry
from xlkit.form.values import _decimals
from xlkit.intake.check import check_file
from xlkit.intake.report import jsonable


def issues_of(report, code=None):
    return [i for i in report.issues if code is None or i.code == code]


def copy(src: Path, tmp_path: Path, name="f.xlsx") -> Path:
    dst = tmp_path / name
    shutil.copy(src, dst)
    return dst


def test_round_trip_is_clean_and_reads_every_value_filled(seed_filled, seed_data, registry):
    report = check_file(seed_filled, registry)
    assert report.issues == []
    assert report.status == "ok"
    for field_id, value in seed_data.items():
        assert jsonable(report.values[field_id]) == value, field_id  # dates as ISO text, as in the sample
    assert report.values["income.all.total"] == 1126.28
    assert report.identity.unit_name == "岳阳市智慧城管指挥中心"


def test_overwritten_total_is_an_error_and_recomputed_value_is_used(seed_filled, layout, registry, tmp_path):
    slot = layout.fields["income.all.total"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, 2000))
    report = check_file(path, registry)
    [issue] = issues_of(report, "formula-overwritten")
    assert (issue.severity, issue.field, issue.sheet, issue.cell, issue.found) == ("error", "income.all.total", "收支情况", slot.address, 2000)
    assert issue.expected == "=" + slot.formula
    assert report.values["income.all.total"] == 1126.28


def test_changed_formula_is_an_error(seed_filled, layout, registry, tmp_path):
    slot = layout.fields["expense.sub1.basic"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, "=D17"))
    [issue] = issues_of(check_file(path, registry), "formula-overwritten")
    assert (issue.field, issue.cell, issue.found) == ("expense.sub1.basic", slot.address, "=D17")


def test_stale_value_is_a_warning_when_the_formula_is_intact(seed_filled, layout, registry, tmp_path):
    slot = layout.fields["sangong.all.total"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, "=" + slot.formula))  # no cached value
    report = check_file(path, registry)
    [issue] = issues_of(report, "stale-value")
    assert (issue.severity, issue.field, issue.cell, issue.expected) == ("warning", "sangong.all.total", slot.address, 8.71)
    assert report.status == "warning"


def test_inserted_row_moves_fields_but_values_stay_in_their_fields(seed_filled, layout, registry, tmp_path):
    income = layout.fields["income.sub1.carryover"]
    path = tamper.edit(copy(seed_filled, tmp_path), unprotect=("收支情况",), insert_row=("收支情况", income.row + 1))
    report = check_file(path, registry)
    moved = {i.field: i for i in issues_of(report, "field-moved")}
    assert moved["income.sub1.carryover"].severity == "warning"
    assert moved["income.sub1.carryover"].cell == f"C{income.row + 2}"
    assert "income.office.carryover" not in moved
    assert [i.code for i in report.issues if i.severity == "error"] == []
    assert report.values["income.sub1.carryover"] == 103.77
    assert report.values["income.all.total"] == 1126.28
    assert [i.sheet for i in issues_of(report, "protection-removed")] == ["收支情况"]


def test_deleted_sheet_and_deleted_name(seed_filled, layout, registry, tmp_path):
    path = tamper.edit(copy(seed_filled, tmp_path), delete_sheet=("报告综述",), delete_name=("staff.actual",))
    report = check_file(path, registry)
    [missing] = issues_of(report, "sheet-missing")
    assert (missing.severity, missing.sheet, missing.field) == ("error", "报告综述", "report.overview")
    [name] = issues_of(report, "name-missing")
    assert (name.field, name.cell) == ("staff.actual", layout.fields["staff.actual"].address)
    assert report.values["staff.actual"] == 20  # read at the template's own cell


def test_identity_edited_after_unprotecting(seed_filled, layout, registry, tmp_path):
    slot = layout.fields["unit.name"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, "别的单位"))
    [issue] = issues_of(check_file(path, registry), "identity-changed")
    assert (issue.field, issue.found, issue.expected) == ("unit.name", "别的单位", "岳阳市智慧城管指挥中心")


@pytest.mark.parametrize(
    ("field", "typed", "code", "severity", "read_as"),
    [
        ("income.sub1.fiscal", "1,022.51", "number-as-text", "error", "1,022.51"),  # read as the spreadsheet reads it: text
        ("income.sub1.fiscal", "１０２２.５１", "number-as-text", "error", "１０２２.５１"),  # read as the spreadsheet reads it: text
        ("income.sub1.fiscal", " 1022.51 ", "number-as-text", "error", " 1022.51 "),  # read as the spreadsheet reads it: text
        ("income.sub1.fiscal", "1022.51万元", "number-as-text", "error", "1022.51万元"),  # read as the spreadsheet reads it: text
        ("income.sub1.fiscal", "一千万", "not-a-number", "error", "一千万"),
        ("income.sub1.fiscal", "1.022,51", "not-a-number", "error", None),
        ("income.sub1.fiscal", "1022.51元", "not-a-number", "error", None),
        ("income.sub1.fiscal", -5, "below-min", "error", -5),
        ("income.sub1.fiscal", 1022.515, "too-many-decimals", "error", 1022.515),
        ("staff.actual", 20.5, "not-integer", "error", None),
        ("score", 101, "above-max", "error", 101),
        ("evaluators.e1.role", "主任", "not-in-list", "error", None),
        ("contact.phone", "12345", "bad-format", "error", None),
        ("contact.name", "名" * 101, "too-long", "error", None),
        ("contact.phone", "0730-8612319", None, None, "0730-8612319"),
        ("contact.phone", 13800000000, None, None, "13800000000"),
        ("contact.name", None, "required-missing", "error", None),
        ("contact.name", "   ", "required-missing", "error", None),
        ("income.sub1.fiscal", True, "wrong-type", "error", True),
        ("income.sub1.fiscal", "=1000+22.51", "input-is-formula", "warning", None),
    ],
)
def test_input_values(seed_filled, layout, registry, tmp_path, field, typed, code, severity, read_as):
    slot = layout.fields[field]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, typed))
    report = check_file(path, registry)
    found = [i for i in report.issues if i.field == field]
    if code is None:
        assert found == []
    else:
        assert [(i.code, i.severity, i.cell) for i in found][:1] == [(code, severity, slot.address)]
    if read_as is not None:
        assert report.values.get(field) == read_as


def test_failed_rule_of_the_check_sheet(seed_filled, layout, registry, tmp_path):
    budget = layout.fields["sangong_budget.sub1.reception"]
    staff = layout.fields["staff.authorized"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(budget.sheet, budget.address, 2.0))
    path = tamper.edit(path, set_cell=(staff.sheet, staff.address, 10))
    report = check_file(path, registry)
    codes = {i.code: i for i in report.issues}
    over = codes["check-sangong-reception"]
    assert (over.severity, over.field, over.sheet, over.found, over.expected) == ("error", "sangong.sub1.reception", "收支情况", 2.91, 2.0)
    staff_issue = codes["check-staff"]
    assert (staff_issue.severity, staff_issue.field, staff_issue.found, staff_issue.expected) == ("warning", "staff.actual", 20, 10)
    # stale values in the check sheet, since the file was not recalculated
    assert all(i.severity == "warning" for i in issues_of(report, "stale-value"))


def test_project_total_must_match_expense_table(seed_filled, layout, registry, tmp_path):
    spent = layout.fields["projects.p2.spent"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(spent.sheet, spent.address, 46.2))
    report = check_file(path, registry)
    [issue] = issues_of(report, "check-project-total")
    assert (issue.field, issue.found, issue.expected) == ("projects.total.spent", 725.1, 724.1)


def test_file_resaved_by_openpyxl_has_only_stale_value_warnings(seed_filled, registry, tmp_path):
    path = tmp_path / "resaved.xlsx"
    book = openpyxl.load_workbook(seed_filled)
    book.save(path)
    report = check_file(path, registry)
    [issue] = report.issues  # one warning for the whole file, not one per formula
    assert (issue.code, issue.severity, issue.field) == ("stale-value", "warning", None)
    assert issue.expected > 250  # formulas whose recomputed value is not blank
    assert report.values["expense.all.balance_cum"] == 124.03


def test_older_version_is_read_with_its_own_spec(tmp_path, spec):
    from xlkit.form.load import builtin_spec_path, load_spec
    from xlkit.write.build import build_template
    from xlkit.write.fill import fill_workbook

    old_spec_path = tmp_path / "old.yaml"
    old_spec_path.write_text(builtin_spec_path().read_text(encoding="utf-8").replace(f'version: "{spec.template.version}"', 'version: "2025.1"')
                             .replace("label: 人员编制", "label: 编制人数"), encoding="utf-8")
    old = load_spec(old_spec_path)
    template = tmp_path / "old.xlsx"
    build_template(template, old)
    filled = tmp_path / "old_filled.xlsx"
    fill_workbook(template, {"score": 91}, filled, old)
    report = check_file(filled, SpecRegistry.default())
    assert [i.code for i in report.issues] == ["unknown-version"]
    report = check_file(filled, SpecRegistry([spec, old]))
    assert "unknown-version" not in {i.code for i in report.issues}
    assert report.identity.template_version == "2025.1" and report.values["grade"] == "优秀"


def test_workbook_of_another_template(tmp_path):
    from xlkit.form.load import builtin_spec_path, load_spec
    from xlkit.write.build import build_template

    other_path = tmp_path / "other.yaml"
    other_path.write_text(builtin_spec_path().read_text(encoding="utf-8").replace("id: perf-self-eval", "id: project-eval"), encoding="utf-8")
    book = tmp_path / "o.xlsx"
    build_template(book, load_spec(other_path))
    [issue] = check_file(book, SpecRegistry.default()).issues
    assert (issue.code, issue.found) == ("other-template", "project-eval")


def test_cli_check_json_shape_and_exit_codes(seed_filled, layout, tmp_path):
    good = copy(seed_filled, tmp_path, "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    slot = layout.fields["income.all.total"]
    tamper.edit(seed_filled, bad, set_cell=(slot.sheet, slot.address, 1))
    runner = CliRunner()
    result = runner.invoke(main, ["check", str(good), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert list(data) == ["files"]
    [entry] = data["files"]
    assert list(entry) == ["path", "unit_code", "unit_name", "template", "version", "status", "issues"]
    assert (entry["unit_code"], entry["template"], entry["status"]) == ("430600301", "perf-self-eval", "ok")
    result = runner.invoke(main, ["check", str(tmp_path), "--json"])
    assert result.exit_code == 1
    files = json.loads(result.stdout)["files"]
    assert sorted(Path(f["path"]).name for f in files) == ["bad.xlsx", "good.xlsx"]
    issue = next(f for f in files if f["path"].endswith("bad.xlsx"))["issues"][0]
    assert list(issue) == ["code", "severity", "field", "sheet", "cell", "found", "expected", "message", "explanation"]
    text = runner.invoke(main, ["check", str(bad)])
    assert text.exit_code == 1
    assert "有错误 " in text.output and "[formula-overwritten]" in text.output
    assert text.output.rstrip().endswith("共检查 1 个文件：0 个通过，0 个有警告，1 个有错误")
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    result = runner.invoke(main, ["check", str(empty)])
    assert result.exit_code == 2 and "没有找到任何文件" in result.output


def test_issues_command_lists_the_catalogue_and_the_spec_rules():
    result = CliRunner().invoke(main, ["issues", "--json"])
    assert result.exit_code == 0
    codes = {row["code"] for row in json.loads(result.output)}
    assert {"formula-overwritten", "stale-value", "zip-bomb", "check-project-total", "check-staff"} <= codes


@pytest.mark.parametrize(
    ("typed", "code", "read_as"),
    [
        (43921, None, "2020-03-31"),  # an Excel date serial
        ("2020年3月31日", "date-as-text", "2020-03-31"),
        ("2020/3/31", "date-as-text", "2020-03-31"),
        ("昨天", "not-a-date", None),
        ("2020-02-30", "not-a-date", None),
    ],
)
def test_dates_as_the_spec_says(seed_filled, layout, registry, tmp_path, typed, code, read_as):
    slot = layout.fields["reporter.date"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, typed))
    report = check_file(path, registry)
    assert [i.code for i in report.issues if i.field == "reporter.date"] == ([code] if code else [])
    value = report.values.get("reporter.date")
    assert (value.isoformat() if value else None) == read_as


def test_booleans_as_the_spec_says(tmp_path):
    from xlkit.form.load import builtin_spec_path, load_spec
    from xlkit.write.build import build_template
    from xlkit.write.fill import fill_workbook

    text = builtin_spec_path().read_text(encoding="utf-8")
    text = text.replace("  # Formula-only types", "  yesno: {base: boolean}\n  # Formula-only types")
    text = text.replace("          - - {id: reporter.date, label: 填报日期, type: date, span: 2}",
                        "          - - {id: reporter.date, label: 填报日期, type: date, span: 2}\n"
                        "            - {id: reporter.confirmed, label: 已核对, type: yesno}")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(text, encoding="utf-8")
    spec = load_spec(spec_path)
    registry = SpecRegistry([spec])
    template = tmp_path / "t.xlsx"
    layout = build_template(template, spec)
    filled = tmp_path / "f.xlsx"
    fill_workbook(template, {"reporter.confirmed": "是", "reporter.date": "2020-03-31"}, filled, spec)
    report = check_file(filled, registry)
    assert report.values["reporter.confirmed"] is True
    slot = layout.fields["reporter.confirmed"]
    for typed, code, value in (("否", "boolean-as-text", False), ("也许", "not-a-boolean", None), (False, None, False)):
        path = tamper.edit(filled, tmp_path / "b.xlsx", set_cell=(slot.sheet, slot.address, typed))
        report = check_file(path, registry)
        assert [i.code for i in report.issues if i.field == "reporter.confirmed"] == ([code] if code else [])
        assert report.values.get("reporter.confirmed") is value


def test_a_checked_file_leaves_no_cyclic_garbage(seed_filled, project_filled, registry):
    """Readers collect cycles only between files (every 256): a check that left its reader in a cycle would keep
    every file's cells alive until then, hundreds of megabytes."""
    import gc

    check_file(seed_filled, registry)
    gc.collect()
    gc.disable()
    try:
        for path in (seed_filled, project_filled):
            check_file(path, registry)
        assert gc.collect() == 0
    finally:
        gc.enable()


@given(st.floats(allow_nan=True, allow_infinity=True) | st.decimals(places=4, allow_nan=False, allow_infinity=False).map(float))
def test_decimal_places_are_counted_as_the_shortest_text_writes_them(number):
    """The counting shortcut for plain texts agrees with Decimal on every float (the too-many-decimals rule)."""
    from decimal import Decimal

    exponent = Decimal(repr(number)).normalize().as_tuple().exponent
    assert _decimals(number) == (max(0, -exponent) if isinstance(exponent, int) else 0)


@pytest.mark.parametrize(("text", "shown"), [("nan", "非数字（NaN）"), ("+Infinity", "无穷大"), ("-inf", "负无穷大"), ("1e999", "无穷大"),
                                             ("1_000", "“1_000”（不是数字的写法）"), (" 1 ", "“ 1 ”（不是数字的写法）"),
                                             ("１２", "“１２”（不是数字的写法）")])
def test_a_number_cell_whose_text_is_no_number_is_an_error_and_never_a_figure(seed_filled, layout, registry, tmp_path,
                                                                               text, shown):
    """OOXML's xsd:double only: what Python's float() also takes ('1_000', 'nan', ' 1 ') is Excel's #NUM! or a
    corrupt file. The cell is an error in words a clerk knows, and the totals over it are errors, not numbers."""
    from tamper import Raw

    from xlkit.form.functions import XlError

    slot = layout.fields["income.sub1.fiscal"]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, Raw(f"<v>{text}</v>")))
    report = check_file(path, registry)
    [issue] = issues_of(report, "invalid-number")
    assert (issue.severity, issue.field, issue.cell, issue.found) == ("error", "income.sub1.fiscal", slot.address, shown)
    assert "#NUM!" in issue.message and (text not in ("nan", "+Infinity", "-inf") or text not in issue.message)
    assert isinstance(report.values["income.sub1.fiscal"], XlError)
    assert isinstance(report.values["income.all.total"], XlError)  # never a number in the totals
    assert [i.code for i in report.issues if i.code != "invalid-number"] == []  # the one root cause, nothing downstream


@pytest.mark.parametrize(("field", "cell_type", "text", "shown"), [
    ("contact.name", "s", "abc", "“abc”（共享文本编号无效，文件已损坏）"),
    ("contact.name", "s", "999999", "“999999”（共享文本编号无效，文件已损坏）"),
    ("income.sub1.fiscal", "b", "2", "“2”（逻辑值只能是 TRUE 或 FALSE）")])
def test_a_cell_whose_text_is_no_value_of_its_type_is_an_error_on_the_cell(seed_filled, layout, registry, tmp_path, field,
                                                                           cell_type, text, shown):
    """A garbage shared-string index was an empty cell, a boolean holding 2 was FALSE: each is now said on its cell
    (the same decoder on both reading paths), and the formulas over it see an error."""
    from tamper import Raw

    from xlkit.form.functions import XlError

    slot = layout.fields[field]
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, Raw(f"<v>{text}</v>", f't="{cell_type}"')))
    report = check_file(path, registry)
    [issue] = issues_of(report, "invalid-value")
    assert (issue.severity, issue.field, issue.cell, issue.found) == ("error", field, slot.address, shown)
    assert "损坏" in issue.message and "bad" not in issue.message
    assert isinstance(report.values[field], XlError)
    if field == "income.sub1.fiscal":
        assert isinstance(report.values["income.all.total"], XlError)


def test_a_garbage_index_in_the_metadata_sheet_is_damage_not_a_value(seed_filled, registry, tmp_path):
    from tamper import Raw

    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=("_xlkit", "B2", Raw("<v>abc</v>", 't="s"')))
    [issue] = check_file(path, registry).issues
    assert issue.code == "metadata-damaged" and "第 2 行有无效共享文本" in issue.message


@pytest.mark.parametrize(("typed", "code"), [("一千万", "not-a-number"), ("1,022.51", "number-as-text"), (-5, "below-min")])
def test_an_input_error_is_one_issue_not_a_cascade_of_stale_values(seed_filled, layout, registry, tmp_path, typed, code):
    """The file still holds the results cached before the input was changed (as when a tool saved it without
    recalculating): every total over the faulty input differs, but the error on the input is the one root cause."""
    from xlkit.form.compute import formula_inputs

    slot = layout.fields["income.sub1.fiscal"]
    assert sum(1 for inputs in formula_inputs(layout).values() if slot.id in inputs) >= 4  # formulas that read it
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, typed))
    report = check_file(path, registry)
    assert [(i.code, i.field) for i in report.issues if not i.code.startswith("check-")] == [(code, slot.id)]
    # an unrelated stale result is still said
    other = layout.fields["sangong.all.total"]
    path = tamper.edit(path, set_cell=(other.sheet, other.address, "=" + other.formula))
    assert [i.field for i in issues_of(check_file(path, registry), "stale-value")] == ["sangong.all.total"]
