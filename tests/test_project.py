"""The project-level form (项目支出绩效自评表 with its 评分表), a second spec on the same engine."""

from __future__ import annotations

from pathlib import Path

import pytest
import tamper
from campaign import fresh_copy

from xlkit.errors import XlkitError
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.intake.identify import open_template_workbook
from xlkit.write.fill import fill_workbook

ROOT = Path(__file__).resolve().parent.parent


def checked(path, project_spec):
    return check_file(path, SpecRegistry([project_spec]))


def test_the_seed_project_fills_and_checks_clean(project_filled, project_spec):
    """The seed's 数字城管信息采集服务项目: 400 budgeted, 387.09 spent, 97 points, 优秀, on both the 自评表 and the 评分表."""
    report = checked(project_filled, project_spec)
    assert report.status == "ok", [(i.code, i.field, i.message) for i in report.issues]
    values = report.values
    assert (values["funds.total.budget_full"], values["funds.total.spent"], values["funds.total.balance"]) == (400, 387.09, 12.91)
    assert values["funds.total.rate"] == 0.9677 and values["funds.total.score"] == 9.68
    assert values["indicators.total.weight"] + values["funds.total.weight"] == 100
    assert (values["total_score"], values["grade"], values["scorecard.total.score"]) == (97, "优秀", 97)
    assert (values["project.name"], values["project.unit"]) == ("数字城管信息采集服务项目", "岳阳市智慧城管指挥中心")


# direction, target, actual, weight -> score
SCORING = [
    ("≥", 1000, 950, 10, 9.5),  # MIN(actual / target, 1) × weight
    ("≥", 1000, 1200, 10, 10),
    ("≤", 400, 387.09, 5, 5),  # at or under the target: full marks
    ("≤", 400, 420, 10, 9.5),  # 5 % over: 5 % less
    ("≤", 400, 900, 10, 0),  # never below nothing
    ("＝", 12, 12, 8, 8),
    ("＝", 12, 11, 8, 0),
    ("定性", "达成", "达成", 10, 10),
    ("定性", "达成", "基本达成", 10, 8),
    ("定性", "达成", "未达成", 10, 0),
]


@pytest.mark.parametrize(("direction", "target", "actual", "weight", "score"), SCORING)
def test_each_direction_scores_as_the_readme_says(project_template, project_spec, project_data, tmp_path, direction, target, actual,
                                                   weight, score):
    data = dict(project_data)
    row = "indicators.quality1"
    data.update({f"{row}.direction": direction, f"{row}.target": target, f"{row}.actual": actual, f"{row}.weight": weight})
    out = tmp_path / "p.xlsx"
    fill_workbook(project_template, data, out, project_spec)
    report = checked(out, project_spec)
    assert report.values[f"{row}.score"] == score
    assert not [i for i in report.issues if i.code in ("formula-overwritten", "stale-value")]


def codes(report) -> set[str]:
    return {i.code for i in report.issues}


def test_rules_catch_weights_reasons_and_a_scorecard_that_disagrees(project_template, project_spec, project_data, tmp_path):
    data = dict(project_data)
    data["indicators.quality1.weight"] = 12  # Σ 分值 102
    data["indicators.satisfaction1.reason"] = ""  # points lost, no reason given
    data["scorecard.output1.score"] = 11  # above its 分值 of 10, and the 评分表 total no longer 97
    data["scorecard.effect1.note"] = ""
    data["funds.fiscal.spent"] = 420  # over the budget: a warning
    out = tmp_path / "p.xlsx"
    fill_workbook(project_template, data, out, project_spec)
    found = codes(checked(out, project_spec))
    for code in ("check-weights", "check-indicator-reason", "check-scorecard-score", "check-scorecard-note", "check-scorecard-total",
                 "check-funds-within-budget"):
        assert code in found, (code, found)


def test_the_bureaus_fixed_weights_cannot_be_typed_over(project_filled, project_spec, tmp_path):
    layout = open_template_workbook(project_filled, project_spec).layout
    weight = layout.fields["scorecard.decision1.weight"]
    assert weight.kind == "formula"  # fixed by the bureau in the spec, locked in the workbook
    out = tmp_path / "p.xlsx"
    tamper.edit(project_filled, out, unprotect=(weight.sheet,), set_cell=(weight.sheet, weight.address, 30))
    report = checked(out, project_spec)
    assert "formula-overwritten" in codes(report) and report.status == "error"


def test_a_qualitative_value_is_a_listed_word_or_a_number(project_filled, project_spec, tmp_path):
    layout = open_template_workbook(project_filled, project_spec).layout
    actual = layout.fields["indicators.social1.actual"]
    out = tmp_path / "p.xlsx"
    tamper.edit(project_filled, out, set_cell=(actual.sheet, actual.address, tamper.Text("差不多")))
    issues = [i for i in checked(out, project_spec).issues if i.field == actual.id]
    assert [i.code for i in issues] == ["not-a-number"]
    with pytest.raises(XlkitError, match="应为数字"):
        fill_workbook(project_filled, {actual.id: "差不多"}, tmp_path / "q.xlsx", project_spec)


def test_a_project_roster_gives_one_workbook_per_project(project_spec, tmp_path):
    from xlkit.bureau.distribute import distribute
    from xlkit.bureau.roster import load_roster

    roster = load_roster(ROOT / "samples" / "projects.csv")
    assert [u.code for u in roster.units][:2] == ["430600301-01", "430600301-02"]  # one unit, two projects
    seed = roster.units[0]
    assert (seed.name, seed.implementer, seed.implementer_code, seed.budget) == ("数字城管信息采集服务项目", "岳阳市智慧城管指挥中心",
                                                                               "430600301", 400)
    sent = distribute(project_spec, roster.units, 2019, tmp_path)
    assert len(sent) == len(roster.units) == len({item.path for item in sent})
    opened = open_template_workbook(sent[0].path, project_spec)
    assert (opened.identity.unit_code, opened.identity.unit_name) == (seed.code, seed.name)
    unit = opened.layout.fields["project.unit"]
    assert unit.locked and opened.layout.params.prefill["implementer"] == "岳阳市智慧城管指挥中心"
    bad = tmp_path / "bad.csv"
    bad.write_text("单位编码,单位名称,项目编码,项目名称,预算数\n430600301,某单位,,缺编码的项目,100\n430600301,某单位,P2,项目二,一百\n",
                   encoding="utf-8")
    with pytest.raises(XlkitError, match=r"第 2 行：项目编码和项目名称都要填写\n.*第 3 行：预算数“一百”不是数字"):
        load_roster(bad)


def test_project_workbooks_come_in_with_the_units(returned, roster, project_filled, project_spec, project_data, tmp_path):
    """One run, two forms: the units' totals are untouched, each project is one row of 项目汇总 (and of its own CSV),
    with the projects under 80 % 执行率 and under 80 points listed."""
    import csv
    import shutil

    import openpyxl

    from xlkit.bureau.consolidate import consolidate, write_wide_csv
    from xlkit.bureau.summary import write_summary
    from xlkit.demo.sample_data import generate_project_data
    from xlkit.write.build import build_template

    folder = fresh_copy(returned, tmp_path)
    shutil.copy(project_filled, folder / "430600301-01_数字城管信息采集服务项目.xlsx")
    weak = tmp_path / "weak.xlsx"
    build_template(weak, project_spec, unit_code="P-WEAK", unit_name="薄弱项目", year=2019, parent_name="岳阳市教育局", implementer="岳阳市第一中学")
    data = generate_project_data(open_template_workbook(weak, project_spec).layout, project_data, "P-WEAK", 200, weak=True, rate=0.5)
    fill_workbook(weak, data, folder / "P-WEAK_薄弱项目.xlsx", project_spec)
    alone = consolidate([folder], roster, jobs=2)
    assert len(alone.frame) == 13 and not [f for f in alone.files if f.unit_code.startswith(("P-", "430600301-"))]
    projects = alone.others["project-self-eval"]
    assert sorted(projects.frame["unit_code"]) == ["430600301-01", "P-WEAK"]
    assert all(f.in_roster is None for f in projects.files)
    # the seed unit's own 重点项目1 sheet is the same project: counted once, by the project's own file
    [embedded] = [f for f in projects.files if f.path.endswith("#kp1")]
    assert embedded.status == "superseded" and "430600301-01_数字城管信息采集服务项目.xlsx" in embedded.reason
    assert {f.status for f in projects.files if f is not embedded} == {"accepted"}
    out = tmp_path / "s.xlsx"
    write_summary(alone, out)
    write_wide_csv(alone, tmp_path / "s.csv")
    lines = list(csv.DictReader((tmp_path / "s.project-self-eval.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    assert sorted(r["unit_code"] for r in lines) == ["430600301-01", "P-WEAK"] and "total_score" in lines[0]
    book = openpyxl.load_workbook(out, data_only=True)
    assert book.sheetnames.index("项目汇总") == len(alone.spec.summary.sheets)
    rows = list(book["项目汇总"].iter_rows(values_only=True))
    assert rows[4][1:3] == ("项目编码", "项目名称")
    total = next(r for r in rows if r[1] == "合计")
    assert total[4:8] == (600, round(387.09 + 100, 2), round((387.09 + 100) / 600, 4), (97 + projects.frame["total_score"].min()) / 2)
    texts = [r[0] for r in rows if isinstance(r[0], str)]
    assert "执行率低于80%的项目：1 个" in texts and "总分低于80分的项目：1 个" in texts
    assert [r[2] for r in rows if r[1] == "P-WEAK"] == ["薄弱项目", "薄弱项目", "薄弱项目"]  # its row and both lists


def test_a_unit_workbook_carries_its_key_projects(spec, seed_data, project_data, tmp_path):
    """The overall form with one 重点项目: its own 项目自评表 sheet, whose 全年执行数 and 总分 reach 项目支出明细 by formula."""
    from xlkit.demo.sample_data import seed_unit_data
    from xlkit.write.build import build_template

    template = tmp_path / "unit.xlsx"
    build_template(template, spec, unit_code="430600301", unit_name="岳阳市智慧城管指挥中心", year=2019,
                   parent_name="岳阳市城市管理和综合执法局", names={"key_projects": ["数字城管信息采集服务项目"]})
    layout = open_template_workbook(template, spec).layout
    names = [s.name for s in layout.sheets]
    assert names.index("重点项目1") == names.index("项目支出") + 1
    for column, source in (("name", "project.name"), ("budget", "funds.total.budget_full"), ("spent", "funds.total.spent"),
                           ("score", "total_score")):
        linked = layout.fields[f"projects.p1.{column}"]
        assert linked.kind == "formula" and linked.formula == f"'重点项目1'!{layout.fields['kp1.' + source].address}"
    assert layout.fields["projects.p2.spent"].kind == "input"
    name, unit = layout.fields["kp1.project.name"], layout.fields["kp1.project.unit"]
    assert name.locked and unit.locked and layout.fields["kp1.project.code"].required
    filled = tmp_path / "filled.xlsx"
    fill_workbook(template, seed_unit_data(layout, seed_data, project_data, "430600301-01"), filled, spec)
    report = check_file(filled, SpecRegistry([spec]))
    assert report.status == "ok", [(i.code, i.field) for i in report.issues]
    values = report.values
    assert (values["projects.p1.name"], values["projects.p1.spent"], values["projects.p1.score"]) == ("数字城管信息采集服务项目", 387.09, 97)
    assert (values["kp1.project.unit"], values["kp1.grade"], values["projects.total.spent"]) == ("岳阳市智慧城管指挥中心", "优秀", 724.1)
    spent = layout.fields["projects.p1.spent"]
    typed = tamper.edit(filled, tmp_path / "typed.xlsx", unprotect=(spent.sheet,), set_cell=(spent.sheet, spent.address, 400))
    assert "formula-overwritten" in codes(checked_overall(typed, spec))
    renamed = tamper.edit(filled, tmp_path / "renamed.xlsx", unprotect=(name.sheet,), set_cell=(name.sheet, name.address, "别的项目"))
    assert "identity-changed" in codes(checked_overall(renamed, spec))
    # the project form's own rules hold on the copy too (those about its 评分表, not composed, stay behind)
    data = seed_unit_data(layout, seed_data, project_data, "430600301-01")
    fill_workbook(template, {**data, "kp1.indicators.satisfaction1.reason": "", "kp1.indicators.quality1.weight": 12}, filled, spec)
    issues = checked_overall(filled, spec).issues
    assert {"check-kp-indicator-reason", "check-kp-weights"} <= {i.code for i in issues}
    assert "重点项目1：分值合计 = 100" in next(i.message for i in issues if i.code == "check-kp-weights")
    assert not [r for r in layout.rules if "scorecard" in r.left]


def checked_overall(path, spec):
    return check_file(path, SpecRegistry([spec]))


def test_composition_is_part_of_the_forms_fingerprint(tmp_path):
    """A change in the composed project form is a change of the overall form: a workbook tells which it was built with."""
    from xlkit.form.load import load_spec

    for name in ("perf_self_eval.yaml", "project_self_eval.yaml"):
        (tmp_path / name).write_text((ROOT / "templates" / name).read_text(encoding="utf-8"), encoding="utf-8")
    before = load_spec(tmp_path / "perf_self_eval.yaml").fingerprint()
    project = tmp_path / "project_self_eval.yaml"
    project.write_text(project.read_text(encoding="utf-8").replace("label: 计量单位", "label: 单位"), encoding="utf-8")
    assert load_spec(tmp_path / "perf_self_eval.yaml").fingerprint() != before
    host = tmp_path / "perf_self_eval.yaml"
    host.write_text(host.read_text(encoding="utf-8").replace("sheets: [项目自评表]", "sheets: [没有这张表]"), encoding="utf-8")
    with pytest.raises(XlkitError, match="没有这张表"):
        load_spec(host)
