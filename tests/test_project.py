"""The project-level form (项目支出绩效自评表 with its 评分表), a second spec on the same engine."""

from __future__ import annotations

import pytest
import tamper

from xlkit.errors import XlkitError
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.intake.identify import open_template_workbook
from xlkit.write.fill import fill_workbook


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
