"""审核意见 letters: one per unit with problems, in Chinese, errors first, grouped when there are very many."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import tamper
from campaign import SEED_CODE, fresh_copy

from xlkit.bureau.consolidate import consolidate
from xlkit.bureau.letters import MAX_ROWS, write_letters
from xlkit.intake.identify import open_template_workbook


def letter_rows(path: Path) -> list[list]:
    return [[c.value for c in row] for row in openpyxl.load_workbook(path)["审核意见"].iter_rows()]


def test_letters_go_to_units_with_problems_only(returned, roster, tmp_path):
    folder = fresh_copy(returned, tmp_path)
    names = sorted(p.name for p in folder.iterdir())
    broken = folder / names[0]
    slot = open_template_workbook(broken).layout.fields["expense.all.total"]
    tamper.edit(broken, set_cell=(slot.sheet, slot.address, 1.0))
    (folder / names[-1]).write_text("<html>导出失败</html>", encoding="utf-8")
    result = consolidate([folder], roster, jobs=1)
    letters = write_letters(result, tmp_path / "letters", contact="联系人：预算绩效科 电话：0730-0000000", issuer="岳阳市财政局")
    assert sorted(p.name.split("_")[0] for p in letters) == sorted([names[0].split("_")[0], names[-1].split("_")[0]])
    letter = next(p for p in letters if p.name.startswith(names[0].split("_")[0]))
    rows = letter_rows(letter)
    assert "审核意见" in rows[0][0] and rows[1][0].endswith(f"（单位编码 {names[0].split('_')[0]}）：")
    assert names[0] in rows[2][0] and "保存于" in rows[2][0]
    assert "有错误（未计入汇总）" in rows[3][0]
    header = next(i for i, r in enumerate(rows) if r[0] == "序号")
    assert rows[header] == ["序号", "级别", "工作表", "单元格", "栏目", "应为", "实为", "如何修改"]
    first = rows[header + 1]
    assert first[1:5] == ["错误", slot.sheet, slot.address, slot.label] and first[5].startswith("=ROUND(") and first[6] == "1"
    severities = [r[1] for r in rows[header + 1:] if r[0]]
    assert severities == sorted(severities, key=lambda s: s != "错误")  # errors before warnings
    footer = [r[0] for r in rows[header + 1:] if r[0] and not isinstance(r[0], int)]
    assert footer[0].startswith("岳阳市财政局") and footer[-1] == "联系人：预算绩效科 电话：0730-0000000"
    rejected = next(p for p in letters if p.name.startswith(names[-1].split("_")[0]))
    assert any("网页（HTML）" in str(r[7]) for r in letter_rows(rejected))


def test_hundreds_of_problems_are_grouped(seed_filled, layout, roster, tmp_path):
    path = tmp_path / "many.xlsx"
    path.write_bytes(seed_filled.read_bytes())
    money = [s for s in layout.inputs() if s.type == "money" and s.sheet == "收支情况"][:MAX_ROWS + 10]
    for slot in money:
        tamper.edit(path, set_cell=(slot.sheet, slot.address, -1))  # one below-min error per cell
    result = consolidate([path], roster, jobs=1)
    [letter] = write_letters(result, tmp_path / "letters")
    rows = [r for r in letter_rows(letter) if isinstance(r[0], int)]
    assert len(rows) < 10  # grouped by kind, not a row per cell
    below = next(r for r in rows if "低于类型的下限" in r[7])
    assert below[4] == f"共 {len(money)} 处" and " 等 " in below[3]
    assert SEED_CODE in letter.name


def test_cli_writes_letters_beside_the_summary(returned, roster, tmp_path):
    from click.testing import CliRunner

    from xlkit.cli import main

    folder = fresh_copy(returned, tmp_path)
    (folder / "430600601_岳阳市公路建设养护中心.xlsx").write_text("<html></html>", encoding="utf-8")
    roster_path = Path(__file__).resolve().parent.parent / "samples" / "roster.csv"
    result = CliRunner().invoke(main, ["consolidate", str(folder), "--roster", str(roster_path), "-o", str(tmp_path / "s.xlsx"),
                                       "--letters", str(tmp_path / "letters"), "--contact", "电话：0730-0000000", "--jobs", "1"])
    assert result.exit_code == 1, result.output  # a rejected file
    assert "审核意见：1 份" in result.output
    [letter] = sorted((tmp_path / "letters").glob("*.xlsx"))
    assert letter.name == "430600601_岳阳市公路建设养护中心_审核意见.xlsx"


def test_a_letter_says_which_of_several_files_counts(returned, roster, tmp_path):
    from xlkit.demo.run import _age

    folder = fresh_copy(returned, tmp_path)
    later = sorted(folder.iterdir())[2]
    earlier = folder / ("0_" + later.name)
    shutil.copy(later, earlier)
    slot = open_template_workbook(later).layout.fields["expense.all.total"]
    tamper.edit(later, set_cell=(slot.sheet, slot.address, 1.0))  # the later file has an error: the unit gets a letter
    _age(earlier, hours=5)
    _age(later, hours=1)
    letters = write_letters(consolidate([folder], roster, jobs=1), tmp_path / "letters")
    letter = next(p for p in letters if p.name.startswith(later.name.split("_")[0]))
    files = letter_rows(letter)[2][0]
    assert f"{earlier.name}（保存于 " in files and "，已被替代）" in files and "，采用）" in files
    assert files.index(earlier.name) < files.index("已被替代") < files.index(later.name, files.index("已被替代")) < files.index("采用")


def test_a_letter_says_what_to_do_and_is_signed_by_the_distributing_bureau(seed_filled, layout, roster, tmp_path):
    """如何修改 carries the catalogue's advice for the code, 应为 a `<=` rule's comparison, and the letter is
    signed by the issuer the workbook was distributed with (not the spec's bare 财政局) unless one is given."""
    from xlkit.intake.catalogue import CATALOGUE

    path = tmp_path / "in" / "430600301_seed.xlsx"
    path.parent.mkdir()
    path.write_bytes(seed_filled.read_bytes())
    over = next(s for s in layout.inputs() if s.id.startswith("sangong.") and s.id.endswith(".reception"))
    budget = layout.fields[over.id.replace("sangong.", "sangong_budget.", 1)]
    required = next(s for s in layout.inputs() if s.required and s.type == "text")
    tamper.edit(path, set_cell=(over.sheet, over.address, 999999.0))
    tamper.edit(path, set_cell=(required.sheet, required.address, None))
    result = consolidate([path.parent], roster, jobs=1)
    assert result.spec.template.issuer != "岳阳市财政局"
    [letter] = write_letters(result, tmp_path / "letters")
    rows = letter_rows(letter)
    problems = {r[3]: r for r in rows if isinstance(r[0], int)}
    rule = problems[over.address]
    assert rule[5].startswith("不超过 ") and rule[6] == "999999"
    assert f"修改：请核对“{over.label}”与“{budget.label}”，使“{over.label}”不超过“{budget.label}”。" in rule[7]
    blank = problems[required.address]
    assert blank[7].endswith(f"修改：请在该单元格填写“{required.label}”。") and CATALOGUE["required-missing"].advice in blank[7].replace(
        required.label, "{label}")
    footer = [r[0] for r in rows if isinstance(r[0], str) and "年" in r[0] and "月" in r[0] and "日" in r[0]]
    assert footer[-1].startswith("岳阳市财政局　"), footer
    [again] = write_letters(result, tmp_path / "again", issuer="岳阳市审计局")
    assert any(str(r[0]).startswith("岳阳市审计局　") for r in letter_rows(again))


def test_every_field_issue_has_advice():
    """A field issue's 如何修改 says what to do: the catalogue holds a Chinese advice for each (none repeats its message)."""
    from xlkit.intake.catalogue import CATALOGUE

    for kind in CATALOGUE.values():
        if kind.scope == "field":
            assert kind.advice and kind.advice != kind.template and kind.advice.startswith(("请", "已按", "工作表")), kind.code
