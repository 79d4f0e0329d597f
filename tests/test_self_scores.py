"""Self-scores the data does not support: warning rules of the bundled specs (90 分以上 while 执行率 < 80 % or a
定量目标 under 60 %; a 评分表 with full marks while the 自评表 lost points), checked on returned files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlkit.intake.check import check_file
from xlkit.write.fill import fill_workbook

SCORE_CODES = {"check-score-execution", "check-score-indicators", "check-scorecard-full"}


def flagged(template: Path, data: dict[str, Any], spec: Any, registry: Any, path: Path) -> dict[str, Any]:
    fill_workbook(template, data, path, spec)
    report = check_file(path, registry)
    assert report.read_ok
    return {i.code: i for i in report.issues if i.code in SCORE_CODES}


def test_the_seed_is_not_flagged(spec, seed_template, seed_data, registry, tmp_path: Path) -> None:
    """98 分 with its projects' 724.10 of 842.03 万元 spent (86 %) and every 定量目标 over 100 %: no warning."""
    assert seed_data["score"] == 98
    spent = sum(v for k, v in seed_data.items() if k.startswith("projects.") and k.endswith(".spent"))
    budget = sum(v for k, v in seed_data.items() if k.startswith("projects.") and k.endswith(".budget"))
    assert round(spent, 2) == 724.1 and round(budget, 2) == 842.03 and 0.85 < spent / budget < 0.87
    assert flagged(seed_template, seed_data, spec, registry, tmp_path / "seed.xlsx") == {}


def test_an_inflated_score_with_low_execution_is_flagged(spec, seed_template, seed_data, registry, tmp_path: Path) -> None:
    data = {**seed_data, "projects.p1.budget": 600.0}  # 724.10 of 1042.03 万元: 69.49 %
    found = flagged(seed_template, data, spec, registry, tmp_path / "low.xlsx")
    assert set(found) == {"check-score-execution"}
    issue = found["check-score-execution"]
    assert issue.severity == "warning" and issue.found == 0.6949 and issue.expected == 0.8
    assert "自评得分90分以上时" in issue.message
    modest = flagged(seed_template, {**data, "score": 85}, spec, registry, tmp_path / "modest.xlsx")
    assert modest == {}  # a score that owns up to the execution is not flagged


def test_an_inflated_score_with_a_missed_target_is_flagged(spec, seed_template, seed_data, registry, tmp_path: Path) -> None:
    data = {**seed_data, "indicators.quantity1.actual": 100000}  # 100000 of 280000: 35.71 %
    found = flagged(seed_template, data, spec, registry, tmp_path / "missed.xlsx")
    assert set(found) == {"check-score-indicators"}
    assert found["check-score-indicators"].found == 1  # one 定量目标 under 60 %


def test_the_project_seed_is_not_flagged(project_spec, project_template, project_data, registry, tmp_path: Path) -> None:
    """387.09 of 400 万元 spent (96.77 %), and the 评分表 loses the 3 points the 自评表 loses: no warning."""
    assert flagged(project_template, project_data, project_spec, registry, tmp_path / "seed.xlsx") == {}


def test_a_project_scored_high_on_low_spending_is_flagged(project_spec, project_template, project_data, registry, tmp_path: Path) -> None:
    data = {**project_data, "funds.fiscal.spent": 300.0, "indicators.cost1.actual": 300.0}  # 75 %
    found = flagged(project_template, data, project_spec, registry, tmp_path / "low.xlsx")
    assert "check-score-execution" in found and found["check-score-execution"].found == 0.75


def test_a_full_scorecard_while_indicators_lost_points_is_flagged(project_spec, project_template, project_data, registry, tmp_path: Path) -> None:
    weights = {"decision1": 3, "decision2": 3, "decision3": 3, "decision4": 3, "decision5": 4, "decision6": 4, "process1": 4, "process2": 4,
               "process3": 4, "process4": 4, "process5": 4, "output1": 10, "output2": 10, "output3": 10, "output4": 10, "effect1": 10, "effect2": 10}
    data = {**project_data, **{f"scorecard.{k}.score": w for k, w in weights.items()}}
    found = flagged(project_template, data, project_spec, registry, tmp_path / "full.xlsx")
    assert set(found) == {"check-scorecard-full"}
    assert found["check-scorecard-full"].found == 3  # the 自评表's 总分 is 97
