"""Distribute to the sample roster, fill, break some returns, consolidate: every file accounted for."""

from __future__ import annotations

import csv
import json
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import tamper
from campaign import SEED_CODE, fresh_copy
from click.testing import CliRunner

from xlkit.bureau.consolidate import account, column_values, consolidate, write_wide_csv
from xlkit.bureau.distribute import unit_filename
from xlkit.bureau.roster import RosterError, load_roster
from xlkit.bureau.summary import write_summary
from xlkit.cli import main
from xlkit.intake.identify import open_template_workbook
from xlkit.write.fill import fill_workbook

ROOT = Path(__file__).resolve().parent.parent


def test_all_units_accepted_and_totals_reconcile(returned, roster, tmp_path):
    result = consolidate([returned], roster, jobs=2)
    assert {f.status for f in result.files} == {"accepted"}
    assert len(result.frame) == 13
    assert list(result.frame.columns[:5]) == ["unit_code", "unit_name", "department", "status", "file"]
    seed = result.frame[result.frame.unit_code == SEED_CODE].iloc[0]
    assert (seed["income.all.total"], seed["expense.all.balance_cum"], seed["grade"]) == (1126.28, 124.03, "优秀")
    out = tmp_path / "s.xlsx"
    write_summary(result, out)
    values, formulas = openpyxl.load_workbook(out, data_only=True), openpyxl.load_workbook(out)
    summary = result.spec.summary
    for sheet in summary.sheets:
        ws = values[sheet.name]
        assert ws.row_dimensions[3].hidden  # the field ids, for machines
        ids = [c.value for c in ws[3]]
        rows = list(ws.iter_rows(min_row=6, values_only=True))
        total = next(r for r in rows if r[1] == "合计")
        for column in sheet.columns:
            if column.field is None or column.total == "none":
                continue
            col = ids.index(column.field)
            figures = result.frame[column.field].astype(float)
            expected = figures.sum() if column.total == "sum" else figures.mean()
            assert round(total[col], 6) == round(expected, 6), column.label
            for department in result.frame.department.unique():  # each 小计 is its units' sum (or average score)
                subtotal = next(r for r in rows if str(r[1]).replace("\n", "") == f"{department} 小计")  # printed in lines
                units = figures[result.frame.department == department]
                assert round(subtotal[col], 6) == round(units.sum() if column.total == "sum" else units.mean(), 6)
            formula = formulas[sheet.name].cell(row=rows.index(total) + 6, column=col + 1).value
            assert formula.startswith("=SUM(")  # totals are live formulas, with cached values checked above
        assert ws.print_options.horizontalCentered and ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows == "$4:$5"
    # the seed unit's 重点项目 sheet makes a 项目汇总 of the project form too
    assert values.sheetnames == [s.name for s in summary.sheets] + ["项目汇总", "校验问题", "审核提示", "报送情况", "文件清单", "共性指标", "统计", "字段",
                                                                     "_xlkit", "_units"]
    assert values["绩效得分与等次"]["B5"].value == "单位编码"
    labels = {row[3]: row[2] for row in values["字段"].iter_rows(min_row=3, values_only=True)}
    assert labels["sangong_budget.all.total"] == "“三公”经费预算（万元） 合计"
    with zipfile.ZipFile(out) as z:
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= set(z.namelist())


def _workbook_content(path: Path) -> dict:
    """What a workbook shows, sheet by sheet: cells (formulas as written, the time of writing left out), their
    number formats and fonts, merged ranges, row heights and hidden rows."""
    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        cells = {(c.row, c.column): (re.sub(r"生成时间 [0-9: -]+", "", c.value) if isinstance(c.value, str) else c.value,
                                     c.number_format, c.font.b) for row in ws.iter_rows() for c in row if c.value is not None}
        rows = {k: (d.height, d.hidden) for k, d in ws.row_dimensions.items() if d.height or d.hidden}
        out[ws.title] = (cells, sorted(map(str, ws.merged_cells.ranges)), rows, ws.sheet_state)
    return out


def test_every_file_and_unit_is_accounted_for(returned, roster, spec, seed_data, tmp_path):
    folder = fresh_copy(returned, tmp_path)
    names = sorted(p.name for p in folder.iterdir())
    # 1. a unit sends nothing
    (folder / names[-1]).unlink()
    # 2. a web page renamed to .xlsx
    (folder / names[-2]).write_text("<html>导出失败</html>", encoding="utf-8")
    # 3. a unit sends twice: the later save wins
    earlier = folder / ("0_" + names[2])
    shutil.copy(folder / names[2], earlier)
    from xlkit.demo.run import _age

    _age(earlier, hours=5)
    _age(folder / names[2], hours=1)
    # 4. a unit not in the roster
    stranger = tmp_path / "stranger.xlsx"
    from xlkit.write.build import build_template
    build_template(stranger, spec, unit_code="999999", unit_name="名单外单位", year=2019)
    shutil.copy(stranger, folder / "999999_名单外单位.xlsx")
    # 5. another year
    other_year = tmp_path / "y.xlsx"
    build_template(other_year, spec, unit_code="430600302", unit_name="岳阳市市政设施维护中心", year=2018)
    shutil.copy(other_year, folder / "2018_old.xlsx")
    # 6. an overwritten total: accepted with errors
    layout = open_template_workbook(folder / names[0], spec).layout
    slot = layout.fields["expense.all.total"]
    tamper.edit(folder / names[0], set_cell=(slot.sheet, slot.address, 1.0))

    result = consolidate([folder], roster, year=2019, jobs=2)
    by_file = {Path(f.path).name: f for f in result.files if f.path}
    assert by_file[names[-2]].status == "rejected" and "HTML" in by_file[names[-2]].reason
    assert by_file[names[-2]].unit_code == names[-2].split("_")[0]  # named from the file name
    assert by_file["0_" + names[2]].status == "superseded"
    assert by_file[names[2]].status == "accepted"
    assert by_file["999999_名单外单位.xlsx"].in_roster is False and "不在名单中" in by_file["999999_名单外单位.xlsx"].reason
    assert by_file["2018_old.xlsx"].status == "rejected" and "2018" in by_file["2018_old.xlsx"].reason
    assert by_file[names[0]].status == "accepted-errors"
    missing = {f.unit_code: f for f in result.files if f.status == "missing"}
    assert set(missing) == {names[-1].split("_")[0]}  # the unit that sent a web page is listed with its rejected file
    assert missing[names[-1].split("_")[0]].reason == "未收到文件"
    assert len([f for f in result.files if f.path]) == len(list(folder.iterdir()))  # every input file once
    # strict excludes the file with errors
    strict = consolidate([folder], roster, year=2019, strict=True, jobs=2)
    flagged = next(f for f in strict.files if Path(f.path).name == names[0])
    assert flagged.status == "rejected" and "--strict" in flagged.reason
    assert names[0].split("_")[0] not in set(strict.frame.unit_code)
    # the status sheet lists every file and every missing unit
    out = tmp_path / "s.xlsx"
    write_summary(result, out)
    # written streaming (the default), the summary is the workbook built in memory: no row was left before it was done
    write_summary(result, tmp_path / "in_memory.xlsx", streaming=False)
    assert _workbook_content(out) == _workbook_content(tmp_path / "in_memory.xlsx")
    sheet = openpyxl.load_workbook(out)["报送情况"]
    status_rows = list(sheet.iter_rows(min_row=4, values_only=True))
    codes = [r[1] for r in status_rows]
    # exactly one row per roster unit whatever arrived (nothing, a rejected file, two files), in roster order;
    # then the unit from outside the roster
    assert codes == [u.code for u in roster.units] + ["999999"]
    by_code = {r[1]: r for r in status_rows}
    # both files of the unit that sent twice, each with what became of it
    assert by_code[names[2].split("_")[0]][7] == f"0_{names[2]}（已被替代）；{names[2]}（采用）"
    assert {r[6] for r in status_rows} >= {"已接收", "有错误（未计入汇总）", "已拒收", "未报送"}
    unit = roster.units[0]
    assert (by_code[unit.code][4], by_code[unit.code][5]) == (unit.contact_name, unit.contact_phone)  # from the roster
    counts = sheet["A2"].value
    sent = len(roster.units) - 1
    assert counts.startswith(f"应报 {len(roster.units)}；已报 {sent}；报送率 {sent / len(roster.units):.1%}；") and "未报 1" in counts
    # 文件清单: every file once, with what became of it and why
    listed = list(openpyxl.load_workbook(out)["文件清单"].iter_rows(min_row=3, values_only=True))
    assert len(listed) == len(list(folder.iterdir())) and [r[0] for r in listed] == list(range(1, len(listed) + 1))
    by_name = {r[3]: r for r in listed}
    assert by_name["0_" + names[2]][5:] == ("已被替代", 0, 0, f"同一单位有保存时间更晚的文件：{names[2]}")
    assert by_name[names[2]][5] == "采用" and by_name[names[2]][4]  # the save time of the file that counts
    assert by_name[names[-2]][5] == "未采用" and "HTML" in by_name[names[-2]][8]
    assert by_name["2018_old.xlsx"][5] == "未采用" and "2018" in by_name["2018_old.xlsx"][8]
    assert by_name[names[0]][5:7] == ("采用", by_file[names[0]].errors) and "未计入汇总" in by_name[names[0]][8]
    order, listed_codes = [u.code for u in roster.units], [r[1] for r in listed]
    in_roster = [c for c in listed_codes if c in order]
    assert in_roster == sorted(in_roster, key=order.index)  # roster order, then units from outside it
    assert listed_codes.index("999999") > max(listed_codes.index(c) for c in in_roster)


def test_reader_crash_fails_only_that_file(returned, roster, tmp_path, monkeypatch):
    import os

    import xlkit.bureau.consolidate as module

    folder = fresh_copy(returned, tmp_path)
    victim = sorted(folder.iterdir())[3]
    real = module.check_file

    def crashing(path, registry):
        if Path(path).name == victim.name:
            os.abort()
        return real(path, registry)

    monkeypatch.setattr(module, "check_file", crashing)  # inherited by the forked readers
    result = consolidate([folder], roster, jobs=2)
    bad = next(f for f in result.files if Path(f.path).name == victim.name)
    assert bad.status == "rejected" and [i.code for i in bad.issues] == ["reader-crash"]
    assert sum(1 for f in result.files if f.status == "accepted") == 12


def test_unit_text_never_becomes_a_formula(returned, roster, spec, tmp_path):
    folder = fresh_copy(returned, tmp_path)
    target = sorted(folder.iterdir())[1]
    layout = open_template_workbook(target, spec).layout
    phone = layout.fields["contact.phone"]
    name = layout.fields["contact.name"]
    tamper.edit(target, set_cell=(phone.sheet, phone.address, tamper.Text("=1+2")))
    tamper.edit(target, set_cell=(name.sheet, name.address, "@SUM(1)"))
    result = consolidate([folder], roster, jobs=1, include_errors=True)
    out = tmp_path / "s.xlsx"
    write_summary(result, out)
    issues = openpyxl.load_workbook(out)["校验问题"]
    found = [row for row in issues.iter_rows(min_row=3) if row[10].value == "contact.phone"]
    assert found and found[0][11].value == "bad-format" and issues.column_dimensions["K"].hidden
    assert found[0][8].value == "=1+2" and found[0][8].data_type == "s"
    wide = tmp_path / "w.csv"
    write_wide_csv(result, wide)
    raw = wide.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(rows[0])[:3] == ["unit_code", "unit_name", "status"]
    row = next(r for r in rows if r["unit_code"] == target.name.split("_")[0])
    assert row["contact.name"] == "'@SUM(1)"
    assert "income.all.total" in rows[0] and "check.project_total.result" in rows[0]


def test_account_needs_no_processes(returned, roster, spec):
    """The accounting is a pure function of the file reports (the API that consolidate uses)."""
    from xlkit.form.registry import SpecRegistry
    from xlkit.intake.check import check_file

    registry = SpecRegistry.default()
    reports = [check_file(p, registry) for p in sorted(returned.iterdir())[:3]]
    result = account(reports, spec, roster, None, strict=False)
    assert result.year == "2019"
    assert len(result.frame) == 3 and sum(1 for f in result.files if f.status == "missing") == 10


def test_cli_distribute_and_consolidate(roster, returned, tmp_path, spec):
    runner = CliRunner()
    out = tmp_path / "sent"
    args = ["distribute", "--roster", str(ROOT / "samples" / "roster.csv"), "--year", "2019", "-o", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("13 个单位：新生成 13，未变 0，已替换 0，未生成 0")
    first = out / unit_filename(roster.units[0])
    assert first.name == "430600301_岳阳市智慧城管指挥中心.xlsx"
    book = openpyxl.load_workbook(first)
    assert "income.sub2.total" in book.defined_names and "income.sub3.total" not in book.defined_names
    third = openpyxl.load_workbook(out / unit_filename(roster.units[2]))
    labels = [c.value for c in third["收支情况"]["A"]]
    assert "4、南片区环卫所" in labels
    manifest = list(csv.DictReader((out / "manifest.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert len(manifest) == 13 and manifest[0]["template_version"] == spec.template.version and manifest[0]["fingerprint"]
    assert runner.invoke(main, args).output.startswith("13 个单位：新生成 0，未变 13")
    fill_workbook(first, {"score": 50}, first)  # someone wrote into a distributed file
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "未生成 1" in again.output and "确要替换请加 --overwrite" in again.output
    assert runner.invoke(main, [*args, "--overwrite"]).output.startswith("13 个单位：新生成 0，未变 12，已替换 1")

    summary = tmp_path / "sum.xlsx"
    wide = tmp_path / "wide.csv"
    result = runner.invoke(main, ["consolidate", str(returned), "--roster", str(ROOT / "samples" / "roster.csv"),
                                  "-o", str(summary), "--csv", str(wide), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("13 个文件，2019 年度：已接收 13，有警告 0，有错误 0（未计入汇总），已拒收 0，已被替代 0；未报送 0 个单位；"
                                    "项目支出绩效自评表：单位报表中的重点项目 1 个。")
    assert summary.exists() and wide.exists()
    summary.unlink()
    wide.unlink()
    blocked = tmp_path / "blocked"  # a file where a folder should be: the summary cannot be written there
    blocked.write_text("")
    failed = runner.invoke(main, ["consolidate", str(returned), "-o", str(blocked / "sum.xlsx"), "--csv", str(wide), "--jobs", "2"])
    assert failed.exit_code != 0 and wide.exists()  # the CSV is still made, the summary's failure told


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("unit_code,unit_name\n1,甲\n1,乙\n", "第 3 行：编码 1 与第 2 行重复"),
        ("unit_code,unit_name\n1,\n", "第 2 行：编码 1 没有名称"),
        ("unit_code,unit_name\n,甲\n", "第 2 行：单位编码是空的"),
        ("code,name\n1,甲\n", "名单缺少列 unit_code（单位编码/单位代码/预算编码）"),
        ("单位编码,单位名称,备注,备注\n1,甲,,\n", "名单有两列都叫“备注”"),
        ("单位编码,单位名称,\n1,甲,x\n", "名单第 3 列有内容但没有列名"),
        ("unit_code,unit_name\n", "名单中没有单位"),
    ],
)
def test_roster_errors_name_the_row(tmp_path, content, message):
    path = tmp_path / "r.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RosterError) as info:
        load_roster(path)
    assert message in str(info.value)


def test_roster_with_chinese_headers_as_xlsx(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["单位编码", "单位名称", "主管部门", "二级机构", "项目数"])
    ws.append([430001, "甲单位", "某局", "一所；二所", 3])
    path = tmp_path / "r.xlsx"
    book.save(path)
    roster = load_roster(path)
    [unit] = roster.units
    assert (unit.code, unit.name, unit.department, dict(unit.columns)) == ("430001", "甲单位", "某局", {"二级机构": "一所；二所", "项目数": "3"})
    assert roster.extra == ("二级机构", "项目数")


def test_consolidate_json_free_api_shapes(returned, roster):
    result = consolidate([returned], roster, jobs=2)
    assert json.loads(result.frame.to_json(orient="records"))[0]["unit_code"] == SEED_CODE


def test_status_times_are_the_bureaus_local_time():
    from datetime import timezone

    from xlkit.bureau.clock import bureau_zone, local_time
    from xlkit.errors import ConsolidationError

    assert local_time("2026-11-27T14:16:36Z", bureau_zone("Asia/Shanghai")) == "2026-11-27 22:16"
    assert local_time("2026-11-27T14:16:36Z", bureau_zone("UTC")) == "2026-11-27 14:16"
    assert local_time("2026-11-27T14:16:36Z", timezone.utc) == "2026-11-27 14:16"
    assert local_time("yesterday", bureau_zone("Asia/Shanghai")) == "yesterday"
    with pytest.raises(ConsolidationError, match="unknown time zone"):
        bureau_zone("Mars/Olympus")


def test_cli_refuses_an_unknown_time_zone_before_reading(returned, tmp_path):
    result = CliRunner().invoke(main, ["consolidate", str(returned), "-o", str(tmp_path / "s.xlsx"), "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2 and "unknown time zone" in result.output


def test_common_indicators_rankings_and_grades_by_department(returned, roster, tmp_path):
    from xlkit.bureau.indicators import common_indicators

    result = consolidate([returned], roster, jobs=1)
    table = common_indicators(result)
    seed = next(u for u in table.units if u.unit_code == SEED_CODE)
    assert seed.ratios == {"budget_execution": round(724.10 / 842.03, 4), "sangong_control": round(8.71 / 9.90, 4),
                           "balance_rate": round(124.03 / 1126.28, 4), "staffing": round(20 / 22, 4)}
    scores = sorted((u.score for u in table.units), reverse=True)
    for unit in table.units:  # competition ranking: 1 + the number of better scores
        assert unit.rank == 1 + sum(1 for s in scores if s > unit.score)
    department = next(d for d in table.departments if d.department == seed.department)
    members = result.frame[result.frame.department == seed.department]
    spent, budget = members["projects.total.spent"].sum(), members["projects.total.budget"].sum()
    assert department.ratios["budget_execution"] == round(spent / budget, 4)
    assert department.average_score == round(members["score"].mean(), 2)
    assert sum(department.grades.values()) == department.units == len(members)
    assert [d.department for d in table.departments][: len({u.department for u in roster.units})] == list(
        dict.fromkeys(u.department for u in roster.units))  # every roster department has its row, in roster order
    out = tmp_path / "s.xlsx"
    write_summary(result, out)
    sheet = openpyxl.load_workbook(out)["共性指标"]
    rows = {r[1]: r for r in sheet.iter_rows(min_row=4, values_only=True) if r[1]}
    assert rows[seed.unit_name][3] == seed.ratios["budget_execution"] and rows[seed.unit_name][8] == seed.rank


def test_roll_ups_level_by_level_equal_the_direct_totals(returned, roster, tmp_path):
    """Units → 主管部门 summaries → bureau: the same totals as consolidating the unit files directly, the
    provenance of every unit kept, and a unit that arrives through two roll-ups counted once and reported."""
    from xlkit.bureau.consolidate import by_department

    direct = consolidate([returned], roster, jobs=1)
    departments = tmp_path / "departments"
    departments.mkdir()
    parts = by_department(direct)
    assert set(parts) == {u.department for u in roster.units}
    for department, part in parts.items():
        write_summary(part, departments / f"{department}.xlsx")
    refused = consolidate([departments], roster, jobs=1)  # a summary is not a unit's return unless the bureau says so
    assert {f.status for f in refused.files if f.path} == {"rejected"} and "--roll-up" in refused.files[0].reason
    upper = consolidate([departments], roster, jobs=1, roll_up=True)
    assert {f.status for f in upper.files if f.path} == {"accepted"}
    assert sorted(upper.frame.unit_code) == sorted(direct.frame.unit_code)
    for column in direct.spec.summary.columns:
        if column.total != "sum":
            continue
        ours = [v for v in column_values(upper, column) if isinstance(v, (int, float))]
        theirs = [v for v in column_values(direct, column) if isinstance(v, (int, float))]
        assert round(sum(ours), 2) == round(sum(theirs), 2), column.label
    seed = next(f for f in upper.files if f.unit_code == SEED_CODE)
    assert seed.path.endswith(f"#{SEED_CODE}") and SEED_CODE in seed.via  # which summary, which unit file
    carried = [c for c in upper.frame.columns if c not in ("status", "file")]
    assert carried[5:] and _by_unit(upper.frame, carried) == _by_unit(direct.frame, carried)  # each unit's figures, exactly
    # a summary written before the figures were packed into one cell (a column per field) is read the same (to the
    # 15 digits a cell's number kept there)
    old = tmp_path / "old"
    old.mkdir()
    for path in departments.iterdir():
        _unpack_figures(path, old / path.name)
    assert _by_unit(consolidate([old], roster, jobs=1, roll_up=True).frame, carried, 9) == _by_unit(upper.frame, carried, 9)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    book = openpyxl.load_workbook(next(departments.iterdir()))
    book["_units"].cell(row=2, column=7).value = "[1, 2"
    book.save(damaged / "d.xlsx")
    hit = consolidate([damaged], roster, jobs=1, roll_up=True).files
    assert any("数据与字段列表不符" in f.reason for f in hit if f.path), [f.reason for f in hit]
    # the same unit again, through a second roll-up
    twice = departments / "重复.xlsx"
    one = next(iter(parts.values()))
    write_summary(one, twice)
    again = consolidate([departments], roster, jobs=1, roll_up=True)
    duplicated = [f for f in again.files if f.status == "superseded"]
    assert duplicated and all("重复报送" in f.reason for f in duplicated)
    assert {f.unit_code for f in duplicated} == {f.unit_code for f in one.included}
    assert sorted(again.frame.unit_code) == sorted(direct.frame.unit_code)  # counted once
    total = next(c for c in direct.spec.summary.columns if c.field == "expense.all.total")
    assert round(sum(column_values(again, total)), 2) == round(sum(column_values(direct, total)), 2)
    # ... and the summary says so, with where each copy came from
    out = tmp_path / "again.xlsx"
    write_summary(again, out)
    book = openpyxl.load_workbook(out)
    rows = {r[1]: r for r in book["报送情况"].iter_rows(min_row=4, values_only=True)}
    listed = list(book["文件清单"].iter_rows(min_row=3, values_only=True))
    for status in duplicated:
        row = rows[status.unit_code]
        counted = next(f for f in again.files if f.unit_code == status.unit_code and f.in_totals)
        assert "重复报送" in row[11] and status.via in row[11] and "已计入一次" in row[11], row
        assert f"{status.via}（已被替代）" in row[7] and f"{counted.via}（采用）" in row[7]
        [copy] = [r for r in listed if r[3] == status.via]
        assert copy[5] == "已被替代" and copy[8].startswith("重复报送，已按 " + counted.via)
        assert status.via.startswith(("重复.xlsx", f"{one.files[0].department}.xlsx"))  # which summary it came through
    counts = book["报送情况"]["A2"].value
    assert f"已接收 {len(roster.units)}" in counts  # each unit once in the counts


def _by_unit(frame, columns, digits: int | None = None) -> dict:
    def shown(v):
        return None if v != v else round(v, digits) if digits is not None and isinstance(v, float) else v
    return {row[0]: tuple(shown(v) for v in row[1:]) for row in frame[columns].itertuples(index=False, name=None)}


def _unpack_figures(path: Path, target: Path) -> None:
    """The `_units` sheet as summaries wrote it before: a column per field."""
    book = openpyxl.load_workbook(path)
    sheet = book["_units"]
    names = json.loads(sheet.cell(row=1, column=7).value)
    for row in range(1, sheet.max_row + 1):
        values = names if row == 1 else json.loads(sheet.cell(row=row, column=7).value)
        for k, value in enumerate(values):
            sheet.cell(row=row, column=7 + k).value = value
    book.save(target)


def test_cli_writes_one_summary_per_department(returned, roster, tmp_path):
    roster_path = ROOT / "samples" / "roster.csv"
    result = CliRunner().invoke(main, ["consolidate", str(returned), "--roster", str(roster_path), "-o", str(tmp_path / "s.xlsx"),
                                       "--by-department", str(tmp_path / "dep"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    written = sorted(p.stem for p in (tmp_path / "dep").glob("*.xlsx"))
    assert written == sorted({u.department for u in roster.units})
    nxt = CliRunner().invoke(main, ["consolidate", str(tmp_path / "dep"), "--roster", str(roster_path), "-o", str(tmp_path / "up.xlsx"),
                                    "--roll-up", "--jobs", "1"])
    assert nxt.exit_code == 0, nxt.output
    assert nxt.output.startswith(f"{len(written)} 个文件，2019 年度：已接收 {len(roster.units)}，")


def test_totals_stay_within_excels_argument_limit_with_hundreds_of_departments(spec, tmp_path):
    """300 departments of one unit each: the 合计 nests its SUM (Excel takes 255 arguments) and still adds up."""
    import pandas as pd

    from xlkit.bureau.consolidate import Consolidation, FileStatus

    count = 300
    files = [FileStatus(f"/in/{k}.xlsx", "accepted", unit_code=f"U{k:03}", unit_name=f"单位{k}", department=f"部门{k}", in_totals=True)
             for k in range(count)]
    frame = pd.DataFrame({"unit_code": [f.unit_code for f in files], "unit_name": [f.unit_name for f in files],
                          "department": [f.department for f in files], "status": ["accepted"] * count,
                          "file": [f.path for f in files], "expense.all.total": [k + 0.01 for k in range(count)],
                          "score": [float(60 + k % 40) for k in range(count)], "grade": ["良好"] * count})
    files.append(FileStatus("", "missing", unit_code="X1", unit_name="未报单位", department="空部门"))
    out = tmp_path / "s.xlsx"
    write_summary(Consolidation(spec, "2019", files, frame), out)
    values, formulas = openpyxl.load_workbook(out, data_only=True), openpyxl.load_workbook(out)
    for sheet, field, expected in (("支出和结余", "expense.all.total", frame["expense.all.total"].sum()),
                                   ("绩效得分与等次", "score", frame["score"].mean())):
        ids = [c.value for c in values[sheet][3]]
        col = ids.index(field) + 1
        rows = list(values[sheet].iter_rows(min_row=6))
        total = next(r for r in rows if r[1].value == "合计")
        assert total[col - 1].value == pytest.approx(expected)
        assert formulas[sheet].cell(total[0].row, col).value.count("SUM(") >= 3  # SUM(SUM(…),SUM(…))
        empty = next(r for r in rows if str(r[1].value).replace("\n", "") == "空部门 小计（无已接收单位）")  # a department with nothing accepted
        assert empty[col - 1].value is None


def test_summary_sheet_names_are_checked(tmp_path):
    from xlkit.errors import SpecError
    from xlkit.form.load import load_spec

    text = (ROOT / "templates" / "perf_self_eval.yaml").read_text(encoding="utf-8")
    for bad in ("统计", "收入"):  # a sheet the summary writes anyway; a name used twice
        path = tmp_path / "bad.yaml"
        path.write_text(text.replace("- name: 固定资产", f"- name: {bad}"), encoding="utf-8")
        with pytest.raises(SpecError, match=bad):
            load_spec(path)


def _sheet_text(path: Path, sheet: str) -> list[list]:
    return [[v for v in row if v not in (None, "")] for row in openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True)]


def test_a_department_whose_units_sent_nothing_rolls_up_as_an_empty_summary(returned, roster, tmp_path):
    """Its summary is read as one carrying no unit: no error, the exit is clean, its units stay 未报送 above and
    their lines (and the file's own in 文件清单) say that the department's summary came without them."""
    roster_path = ROOT / "samples" / "roster.csv"
    empty = roster.units[-1].department
    gone = {u.code for u in roster.units if u.department == empty}
    folder = tmp_path / "in"
    folder.mkdir()
    for path in returned.glob("*.xlsx"):
        if path.name.split("_", 1)[0] not in gone:
            shutil.copy(path, folder / path.name)
    first = CliRunner().invoke(main, ["consolidate", str(folder), "--roster", str(roster_path), "-o", str(tmp_path / "s.xlsx"),
                                      "--by-department", str(tmp_path / "dep"), "--jobs", "1"])
    assert f"未报送 {len(gone)} 个单位" in first.output, first.output
    assert (tmp_path / "dep" / f"{empty}.xlsx").exists()
    up = tmp_path / "up.xlsx"
    nxt = CliRunner().invoke(main, ["consolidate", str(tmp_path / "dep"), "--roster", str(roster_path), "-o", str(up), "--roll-up",
                                    "--jobs", "1"])
    assert nxt.exit_code == 0, nxt.output
    assert f"已拒收 0，已被替代 0；未报送 {len(gone)} 个单位" in nxt.output
    status = _sheet_text(up, "报送情况")
    assert f"已拒收 0；未报 {len(gone)}" in status[1][0]
    lines = {row[1]: row for row in status[3:]}
    for code in gone:
        assert "未报送" in lines[code] and f"未收到文件（{empty}.xlsx：汇总表无已接收单位）" in lines[code]
    assert not any("无法识别单位" in str(v) for row in status for v in row)
    [listed] = [row for row in _sheet_text(up, "文件清单") if f"{empty}.xlsx" in row]
    assert "采用" in listed and f"汇总表无已接收单位（{empty}）" in listed
    assert not any("模板标识信息已损坏" in str(v) for row in _sheet_text(up, "校验问题") for v in row)
    plain = consolidate([tmp_path / "dep"], jobs=1)  # without --roll-up a summary (empty or not) is refused, as ever
    assert {f.status for f in plain.files} == {"rejected"} and all("--roll-up" in f.reason for f in plain.files)


def test_the_console_and_the_status_sheet_count_the_same(returned, tmp_path):
    """A file no unit can be named for is a row of the 催报 list: both counts take it as 已拒收 (one source)."""
    roster_path = ROOT / "samples" / "roster.csv"
    folder = fresh_copy(returned, tmp_path)
    (folder / "无名.xlsx").write_text("<html></html>", encoding="utf-8")
    out = tmp_path / "s.xlsx"
    run = CliRunner().invoke(main, ["consolidate", str(folder), "--roster", str(roster_path), "-o", str(out), "--jobs", "1"])
    assert run.exit_code == 1
    counted = re.search(r"已拒收 (\d+)", run.output)
    header = re.search(r"已拒收 (\d+)", _sheet_text(out, "报送情况")[1][0])
    assert counted and header and counted.group(1) == header.group(1) == "1", (run.output, header)
    assert "名单外 1" in _sheet_text(out, "报送情况")[1][0]
