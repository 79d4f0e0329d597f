"""The roster drives each unit's workbook through the spec's `roster:` section: which column sets which parameter
(a count, or item names) and which prefill key; nothing in the roster is silently ignored."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlkit.bureau.distribute import MANIFEST, distribute
from xlkit.bureau.roster import load_roster, unused_columns
from xlkit.cli import main
from xlkit.errors import RosterError, SpecError
from xlkit.form.load import load_spec
from xlkit.intake.identify import open_template_workbook

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "templates" / "project_target.yaml"


def names_of(path: Path) -> set[str]:
    return set(openpyxl.load_workbook(path, read_only=False).defined_names)


def test_bundled_specs_declare_their_roster_columns(spec, project_spec):
    assert {name: (p.column, p.names) for name, p in spec.roster.parameters.items()} == {
        "sub_units": ("二级机构", True), "projects": ("项目数", False), "key_projects": ("重点项目", True)}
    assert project_spec.roster.parameters["quantity"].column == "数量指标数"
    assert load_spec(TARGET).roster.parameters["quantity"].column == "数量指标数"
    # samples/roster.csv names its columns by the parameters' own names: every one is used
    assert unused_columns(spec, load_roster(ROOT / "samples" / "roster.csv")) == []


def test_row_counts_and_prefill_come_from_the_project_roster(tmp_path):
    """数量指标数 sets each project's 数量指标 rows (empty: the spec's default); 主管部门编码 is prefilled beside the name."""
    target = load_spec(TARGET)
    roster = load_roster(ROOT / "samples" / "projects.csv")
    told: list[str] = []
    sent = {item.unit.code: item.path for item in distribute(target, roster, 2026, tmp_path, notice=told.append)}
    assert told == []  # every column of the sample is the roster's own or declared by the form
    six = names_of(sent["430600302-01"])
    assert "indicators.quantity6.name" in six and "indicators.quantity7.name" not in six
    default = target.parameters["quantity"].default
    seed = names_of(sent["430600301-01"])
    assert f"indicators.quantity{default}.name" in seed and f"indicators.quantity{default + 1}.name" not in seed
    opened = open_template_workbook(sent["430600501-01"], target)
    code = opened.layout.fields["project.department_code"]
    assert code.locked and opened.layout.params.prefill["parent_code"] == "430600500"
    manifest = {row["unit_code"]: row for row in csv.DictReader((tmp_path / MANIFEST).read_text(encoding="utf-8-sig").splitlines())}
    assert (manifest["430600302-01"]["quantity"], manifest["430600301-01"]["quantity"]) == ("6", "")
    assert manifest["430600302-01"]["budget"] == "860"


def test_item_names_and_counts_from_chinese_headers(spec, tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("单位编码,单位名称,主管部门,二级机构,项目数,重点项目\n"
                      "U1,甲单位,某局,一所；二所、三所,3,项目甲\n"
                      "U2,乙单位,某局,,,\n", encoding="utf-8")
    sent = {item.unit.code: item.path for item in distribute(spec, load_roster(roster), 2026, tmp_path / "out")}
    first, second = names_of(sent["U1"]), names_of(sent["U2"])
    assert "income.sub3.total" in first and "income.sub4.total" not in first
    assert "projects.p3.name" in first and "projects.p4.name" not in first
    assert any(name.startswith("kp1.") for name in first)
    assert "income.sub1.total" not in second  # an empty 二级机构 cell: none
    assert f"projects.p{spec.parameters['projects'].default}.name" in second  # an empty 项目数: the default
    assert not any(name.startswith("kp1.") for name in second)


def test_a_roster_that_does_not_fit_the_form_is_refused_before_any_workbook(spec, tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("单位编码,单位名称,项目数,二级机构\nU1,甲,三,\nU2,乙,500,\nU3,丙,2,"
                      + "；".join(f"所{n}" for n in range(41)) + "\n", encoding="utf-8")
    with pytest.raises(RosterError) as info:
        distribute(spec, load_roster(roster), 2026, tmp_path / "out")
    message = str(info.value)
    assert "3 处" in message and "第 2 行：项目数“三”不是整数" in message
    assert "第 3 行：项目数 为 500，项目数应在 1 至 100 之间" in message
    assert "第 4 行：二级机构 为 41，二级机构数应在 0 至 40 之间" in message
    assert not (tmp_path / "out").exists()


def test_a_column_no_one_uses_is_named_by_distribute_and_campaign_init(tmp_path, project_spec):
    roster = tmp_path / "r.csv"
    roster.write_text("单位编码,单位名称,项目编码,项目名称,数量指标数,备注,二级机构\nU1,甲,P1,项目一,2,急,\n", encoding="utf-8")
    runner = CliRunner()
    spec_path = str(ROOT / "templates" / "project_self_eval.yaml")
    result = runner.invoke(main, ["distribute", spec_path, "--roster", str(roster), "--year", "2026", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "名单中的列 “备注”、“二级机构” 不是名单的通用列，项目支出绩效自评表 的说明书（roster 部分）也没有用到" in result.output
    result = runner.invoke(main, ["campaign", "init", str(tmp_path / "campaign"), "--roster", str(roster), "--year", "2026",
                                  "--spec", spec_path])
    assert result.exit_code == 0, result.output
    assert "“备注”、“二级机构”" in result.output


def test_campaign_init_refuses_a_roster_that_does_not_fit_before_making_the_folder(tmp_path):
    from xlkit.campaign.setup import init_campaign

    roster = tmp_path / "r.csv"
    roster.write_text("单位编码,单位名称,项目数\nU1,甲,零点五\n", encoding="utf-8")
    with pytest.raises(RosterError, match="第 2 行：项目数“零点五”不是整数"):
        init_campaign(tmp_path / "campaign", roster, 2026)
    assert not (tmp_path / "campaign").exists()


def spec_with_roster(tmp_path: Path, roster: str) -> Path:
    text = TARGET.read_text(encoding="utf-8")
    start = text.index("\nroster:\n")
    end = text.index("\n\n", start + 1)
    path = tmp_path / "target.yaml"
    path.write_text(text[:start] + "\n" + roster + text[end:], encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("roster", "message"),
    [
        ("roster:\n  parameters:\n    quantitty: {column: 数量指标数}", r"target.yaml:\d+: roster.parameters.quantitty: 不是表式的参数（已定义："),
        ("roster:\n  prefill: {budget: 预算数}", r"target.yaml:\d+: roster.prefill.budget: 不是预填键；可用的键为 "),
        ("roster:\n  parameters:\n    quantity: {column: 数量指标数, name: true}", "roster.parameters.quantity.name"),
    ],
)
def test_a_wrong_roster_section_is_a_spec_error(tmp_path, roster, message):
    with pytest.raises(SpecError, match=message):
        load_spec(spec_with_roster(tmp_path, roster))


def test_a_declared_prefill_column_fills_its_key(tmp_path, spec):
    """`roster.prefill` maps further prefill keys to columns: last year's figure from the roster, as a number."""
    text = (ROOT / "templates" / "perf_self_eval.yaml").read_text(encoding="utf-8")
    path = tmp_path / "perf.yaml"
    path.write_text(text.replace("\nroster:\n", "\nroster:\n  prefill: {previous.income: 上年收入}\n", 1), encoding="utf-8")
    custom = load_spec(path)
    assert custom.fingerprint() == spec.fingerprint()  # the roster section shapes distribution, not the workbook
    roster = tmp_path / "r.csv"
    roster.write_text("单位编码,单位名称,上年收入\nU1,甲,\"1,234.5\"\nU2,乙,很多\n", encoding="utf-8")
    with pytest.raises(RosterError, match="第 3 行：上年收入“很多”不是数字"):
        distribute(custom, load_roster(roster), 2026, tmp_path / "out")
    roster.write_text("单位编码,单位名称,上年收入\nU1,甲,\"1,234.5\"\n", encoding="utf-8")
    [sent] = distribute(custom, load_roster(roster), 2026, tmp_path / "out")
    opened = open_template_workbook(sent.path, custom)
    assert opened.layout.params.prefill["previous.income"] == 1234.5
