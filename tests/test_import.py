"""`xlkit spec import`: a bureau's own workbook as a first-draft spec (issue #28). The bundled forms survive a round trip
(build, strip what xlkit adds, import, build again) cell for cell, and fill and check the same; a form an office
worker made with openpyxl imports, builds and computes the seed's 2019 figures; hostile workbooks give a readable
answer, never a traceback or a hang."""

from __future__ import annotations

import contextlib
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from import_roundtrip import compare, strip_xlkit, visible
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from xlkit.cli import main
from xlkit.form.load import load_spec
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook
from xlkit.write.importer import import_form
from xlkit.write.speccheck import spec_problems

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = [("project_target.yaml", "seed_project_target.json"), ("project_self_eval.yaml", "seed_project_2019.json"),
           ("perf_self_eval.yaml", "seed_2019.json")]


def import_to(workbook: Path, out: Path, **options: Any) -> tuple[Path, list[str]]:
    result = import_form(workbook, **options)
    out.write_text(result.text, encoding="utf-8")
    return out, result.problems


def issues(path: Path, spec_path: Path, positions: dict[str, tuple[str, int, int]]) -> list[tuple[Any, ...]]:
    """The issues of a check as a person sees them: where (sheet and cell), how bad, and what kind (a rule's
    code depends on its id, which the import names anew)."""
    report = check_file(path, SpecRegistry([load_spec(spec_path)]))
    return sorted((i.severity, i.sheet or "", i.cell or "", "check" if i.code.startswith("check-") else i.code)
                  for i in report.issues)


@pytest.mark.parametrize(("spec_name", "data_name"), BUNDLED)
def test_bundled_form_round_trip_is_the_same_form(spec_name: str, data_name: str, tmp_path: Path) -> None:
    spec_path = ROOT / "templates" / spec_name
    built = tmp_path / "built.xlsx"
    layout = build_template(built, load_spec(spec_path))
    bureau = strip_xlkit(built, tmp_path / "bureau.xlsx")
    draft, problems = import_to(bureau, tmp_path / "draft.yaml")
    assert problems == []
    assert spec_problems(str(draft)) == []
    rebuilt = tmp_path / "rebuilt.xlsx"
    new_layout = build_template(rebuilt, load_spec(draft))
    share, differences = compare(built, rebuilt)
    assert differences == [] and share == 1.0
    # the same workbook, filled from the sample data by cell position, checks the same
    data = json.loads((ROOT / "samples" / data_name).read_text(encoding="utf-8"))
    by_cell = {(s.sheet, s.row, s.col): s.id for s in new_layout.fields.values()}
    mapped = {}
    for key, value in data.items():
        slot = layout.fields.get(key)
        if slot is not None and slot.kind == "input":
            mapped[by_cell[(slot.sheet, slot.row, slot.col)]] = value
    original = {k: v for k, v in data.items() if k in layout.fields and layout.fields[k].kind == "input"}
    assert len(mapped) == len(original) > 10
    fill_workbook(built, original, tmp_path / "a.xlsx", load_spec(spec_path))
    fill_workbook(rebuilt, mapped, tmp_path / "b.xlsx", load_spec(draft))
    assert issues(tmp_path / "a.xlsx", spec_path, {}) == issues(tmp_path / "b.xlsx", draft, {})


def test_a_draft_marks_no_guess_on_a_form_that_marks_its_inputs(tmp_path: Path) -> None:
    built = tmp_path / "built.xlsx"
    build_template(built, load_spec(ROOT / "templates" / "project_target.yaml"))
    text = import_form(strip_xlkit(built, tmp_path / "bureau.xlsx")).text
    guesses = [line.split("# guessed: ")[1] for line in text.split("\nsheets:")[1].splitlines() if "# guessed" in line]
    assert guesses == ["total row, 合计行（标签或SUM公式）"]  # 资金总额: inputs, but named as a total; nothing else guessed
    spec = yaml.safe_load(text)
    assert spec["template"]["title"] == "项目支出绩效目标申报表" and spec["template"]["issuer"] == "财政局"
    table = next(b["table"] for b in spec["sheets"][0]["blocks"] if "table" in b and b["table"].get("label_columns") == 2)
    assert [r["key"] for r in table["rows"]][:3] == ["shuliangzhibiao1", "shuliangzhibiao2", "shuliangzhibiao3"]
    assert any("{" + table["id"] + ".shuliangzhibiao*." in r["left"] for r in spec["rules"])  # a group of rows as a pattern


def test_position_ids_are_ascii_stable_and_build_the_same(tmp_path: Path) -> None:
    built = tmp_path / "built.xlsx"
    build_template(built, load_spec(ROOT / "templates" / "project_target.yaml"))
    bureau = strip_xlkit(built, tmp_path / "bureau.xlsx")
    first = import_form(bureau, id_style="position").text
    assert first == import_form(bureau, id_style="position").text
    draft = tmp_path / "p.yaml"
    draft.write_text(first, encoding="utf-8")
    layout = build_template(tmp_path / "p.xlsx", load_spec(draft))
    assert compare(built, tmp_path / "p.xlsx") == (1.0, [])
    assert all(re.fullmatch(r"(t[0-9]+\.(r[0-9]+|g[0-9]+_[0-9]+)\.c[0-9]+_?|sheet[0-9]+_[a-z]+[0-9]+|check\..*)", i)
               for i in layout.fields), sorted(layout.fields)


# ---------------------------------------------------------------- a form as an office worker makes it

THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
YELLOW = PatternFill("solid", fgColor="FFFF00")


def bureau_form(path: Path) -> Path:
    """The seed's 收入 and 支出和结余 tables typed by a clerk: merged two- and three-row headers, yellow inputs, SUM and
    ROUND formulas, a 汇总 row on top of one table and a 合计 row under the other, a blank row between them."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "收支情况"
    for letter, width in zip("ABCDEFGH", (24.5, 11, 10.25, 13, 12.75, 16, 9.5, 10), strict=True):
        ws.column_dimensions[letter].width = width

    def put(address: str, value: Any, bold: bool = False, merge: str | None = None) -> None:
        if merge:
            ws.merge_cells(f"{address}:{merge}")
        cell = ws[address]
        cell.value = value
        cell.font = Font(name="宋体", bold=bold, size=11)
        cell.border = BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    ws.merge_cells("A1:H1")
    ws["A1"] = "部门（单位）收支情况表"
    ws["A1"].font = Font(name="黑体", size=16, bold=True)
    ws["A2"] = "一、部门（单位）年度收入情况（万元）"
    ws["A2"].font = Font(bold=True, size=12)
    put("A3", "机构名称", True, "A4")
    put("B3", "收入合计", True, "B4")
    put("C3", "其中：", True, "G3")
    for col, text in zip("CDEFG", ("上年结转", "公共财政拨款", "政府性基金拨款", "纳入专户管理的非税收入拨款", "其他收入"), strict=True):
        put(f"{col}4", text, True)
    income = {5: "局机关及二级机构汇总", 6: "1、局机关", 7: "2、二级机构1", 8: "3、二级机构2"}
    for row, label in income.items():
        put(f"A{row}", label, row == 5)
        if row == 5:
            for col in "BCDEFG":
                put(f"{col}{row}", f"=SUM({col}6:{col}8)")
            continue
        put(f"B{row}", f"=ROUND(SUM(C{row}:G{row}),2)")
        for col in "CDEFG":
            put(f"{col}{row}", None)
            ws[f"{col}{row}"].fill = YELLOW
            ws[f"{col}{row}"].number_format = "#,##0.00"
    ws["A10"] = "二、部门（单位）年度支出和结余情况（万元）"
    ws["A10"].font = Font(bold=True, size=12)
    put("A11", "机构名称", True, "A13")
    put("B11", "支出合计", True, "B13")
    put("C11", "其中：", True, "F11")
    put("G11", "结余", True, "H12")
    put("C12", "基本支出", True, "C13")
    put("D12", "其中：", True, "E12")
    put("F12", "项目支出", True, "F13")
    for col, text in zip("DEGH", ("人员支出", "公用支出", "当年结余", "累计结余"), strict=True):
        put(f"{col}13", text, True)
    for row, source in zip((14, 15, 16), (6, 7, 8), strict=True):
        put(f"A{row}", income[source])
        put(f"B{row}", f"=ROUND(C{row}+F{row},2)")
        put(f"C{row}", f"=ROUND(D{row}+E{row},2)")
        for col in "DEF":
            put(f"{col}{row}", None)
            ws[f"{col}{row}"].fill = YELLOW
        put(f"G{row}", f"=ROUND(B{source}-C{source}-B{row},2)")
        put(f"H{row}", f"=ROUND(B{source}-B{row},2)")
    put("A17", "合计")
    for col in "BCDEFGH":
        put(f"{col}17", f"=SUM({col}14:{col}16)")
    ws.page_setup.orientation = "landscape"
    wb.save(path)
    return path


def test_a_bureau_made_form_imports_builds_and_computes_the_seed(tmp_path: Path) -> None:
    form = bureau_form(tmp_path / "收支情况表.xlsx")
    draft, problems = import_to(form, tmp_path / "draft.yaml")
    assert problems == []
    assert spec_problems(str(draft)) == []
    spec = load_spec(draft)
    built = tmp_path / "template.xlsx"
    layout = build_template(built, spec)
    # every text and formula where the clerk put it (labels wrapped to the widths; SUM(C6:G6) as SUM(C6,D6,…))
    typed, made = visible(form)["收支情况"]["cells"], visible(built)["收支情况"]["cells"]
    assert set(typed) == set(made)
    assert {k: str(v).replace("\n", "") for k, v in typed.items() if not str(v).startswith("=")} == \
        {k: str(v).replace("\n", "") for k, v in made.items() if not str(v).startswith("=")}
    ids = {(s.row, s.col): s.id for s in layout.fields.values()}
    at = {address: ids[(r - 1, ord(address[0]) - 65)] for address in ("B5", "B17", "G15", "H15", "B15")
          for r in [int(address[1:])]}
    data = {ids[(6, 2)]: 103.77, ids[(6, 3)]: 1022.51, ids[(14, 3)]: 217.23, ids[(14, 4)]: 60.92, ids[(14, 5)]: 724.10}
    values = fill_workbook(built, data, tmp_path / "filled.xlsx", spec)
    assert values[at["B5"]] == pytest.approx(1126.28)
    assert values[at["B17"]] == pytest.approx(1002.25) and values[at["B15"]] == pytest.approx(1002.25)
    assert values[at["G15"]] == pytest.approx(20.26) and values[at["H15"]] == pytest.approx(124.03)
    report = check_file(tmp_path / "filled.xlsx", SpecRegistry([spec]))
    assert report.issues == []
    text = draft.read_text(encoding="utf-8")
    assert "{shouru.#." in text or ".#." in text  # 当年结余 names the income table's same row, not a fixed one
    assert "# guessed: total row" in text  # the 合计 row under the table, found by its label and its SUM


def test_blank_cells_of_an_unmarked_form_are_guessed_inputs(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记表"
    ws["A1"] = "单位基本情况登记表"
    ws["A1"].font = Font(size=16, bold=True)
    ws.merge_cells("A1:D1")
    for row, (left, right) in enumerate((("单位名称", "联系电话"), ("填报日期", "年度")), start=2):
        ws[f"A{row}"], ws[f"C{row}"] = left, right
        for col in "ABCD":
            ws[f"{col}{row}"].border = BOX
    ws["A5"], ws["B5"], ws["C5"] = "项目", "金额（万元）", "备注"
    for row, label in ((6, "办公费"), (7, "差旅费")):
        ws[f"A{row}"] = label
        for col in "ABC":
            ws[f"{col}{row}"].border = BOX
    ws["A8"], ws["B8"] = "合计", "=SUM(B6:B7)"
    wb.save(tmp_path / "f.xlsx")
    draft, _ = import_to(tmp_path / "f.xlsx", tmp_path / "f.yaml")
    text = draft.read_text(encoding="utf-8")
    assert spec_problems(str(draft)) == [], text
    assert "# guessed: input, 空白单元格在“单位名称”之后" in text
    spec = yaml.safe_load(text)
    kinds = {t: d["base"] for t, d in spec["types"].items()}
    fields = [item for block in spec["sheets"][0]["blocks"] if "fields" in block for row in block["fields"] for item in row]
    assert {f["label"]: kinds[f["type"]] for f in fields} == {"单位名称": "text", "联系电话": "text", "填报日期": "date", "年度": "integer"}
    table = next(b["table"] for b in spec["sheets"][0]["blocks"] if "table" in b)
    money = next(c for c in table["columns"] if c["label"] == "金额（万元）")
    assert spec["types"][money["type"]]["unit"] == "万元"
    assert table["rows"][-1]["total"] is True


# ---------------------------------------------------------------- hostile input


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["spec", "import", *args])


def test_unreadable_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    text = tmp_path / "a.xlsx"
    text.write_text("这不是工作簿", encoding="utf-8")
    damaged = tmp_path / "b.xlsx"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("xl/workbook.xml", "<broken")
    for path in (text, damaged, tmp_path / "missing.xlsx"):
        result = run(str(path), "-o", str(tmp_path / "out.yaml"))
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
        assert not (tmp_path / "out.yaml").exists()


def test_a_workbook_that_is_no_form_gives_a_spec_and_a_list(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in range(1, 30):
        for c in range(1, 6):
            ws.cell(r, c, r * c if c > 1 else f"记录{r}")
    ws["H3"] = "随手写的备注"
    wb.create_sheet("空表")
    wb.save(tmp_path / "data.xlsx")
    result = run(str(tmp_path / "data.xlsx"), "-o", str(tmp_path / "data.yaml"))
    assert result.exit_code == 0, result.output
    assert "未能识别" in result.output and "Sheet!" in result.output


def test_ten_thousand_rows_are_read_in_bounded_time(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"] = "项目", "金额", "备注"
    for r in range(2, 10_002):
        ws.cell(r, 1, f"第{r}项")
        ws.cell(r, 2).fill = YELLOW
    wb.save(tmp_path / "big.xlsx")
    started = time.monotonic()
    result = run(str(tmp_path / "big.xlsx"), "-o", str(tmp_path / "big.yaml"))
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 90


def test_cycles_external_links_and_macros(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws["A1"], ws["C1"] = "甲", "乙"
    ws["B1"], ws["D1"] = "=D1+1", "=B1+1"
    ws["A2"], ws["B2"] = "外部", "='[1]Sheet1'!A1"
    ws["A3"], ws["B3"] = "丙", None
    ws["B3"].fill = YELLOW
    wb.save(tmp_path / "c.xlsx")
    result = run(str(tmp_path / "c.xlsx"), "-o", str(tmp_path / "c.yaml"))
    assert result.exit_code == 0, result.output
    assert "外部链接" in result.output
    problems = spec_problems(str(tmp_path / "c.yaml"))
    assert problems and all("Traceback" not in p for p in problems)  # the cycle and the link are the analyst's to fix
    # a macro workbook is read as a workbook: nothing in it runs, and its code is not carried over
    macro = tmp_path / "m.xlsm"
    with zipfile.ZipFile(tmp_path / "c.xlsx") as src, zipfile.ZipFile(macro, "w") as out:
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("xl/vbaProject.bin", b"Attribute VB_Name = \"Module1\"\nSub Auto_Open()\nShell \"calc\"\nEnd Sub\n")
    result = run(str(macro), "-o", str(tmp_path / "m.yaml"))
    assert result.exit_code == 0, result.output
    assert "Shell" not in (tmp_path / "m.yaml").read_text(encoding="utf-8")


def test_sheets_option_and_unknown_sheet(tmp_path: Path) -> None:
    form = bureau_form(tmp_path / "f.xlsx")
    result = run(str(form), "-o", str(tmp_path / "x.yaml"), "--sheets", "没有这张表")
    assert result.exit_code == 2 and "没有工作表" in result.output
    result = run(str(form), "-o", str(tmp_path / "x.yaml"), "--sheets", "收支情况", "--id-style", "position")
    assert result.exit_code == 0, result.output
    assert "t1.r1.c1" in (tmp_path / "x.yaml").read_text(encoding="utf-8") or "{t1." in (tmp_path / "x.yaml").read_text(encoding="utf-8")


def test_the_demo_imports_a_form_and_builds_from_it(tmp_path: Path) -> None:
    from xlkit.demo.run import _import_step

    said: list[str] = []
    _import_step(tmp_path / "imported", said.append)
    assert (tmp_path / "imported" / "rebuilt.xlsx").exists() and "导入表式" in said[0]
    assert compare(tmp_path / "imported" / "申报表.xlsx", tmp_path / "imported" / "rebuilt.xlsx") == (1.0, [])


def test_random_workbooks_never_crash_the_importer(tmp_path: Path) -> None:
    """Cells, merges, fills, formulas and validations thrown anywhere: a draft and a list, or a one-line error."""
    import random

    from openpyxl.worksheet.datavalidation import DataValidation

    from xlkit.errors import XlkitError

    rng = random.Random(28)
    values: list[Any] = ["合计", "项目", "（万元）", "一、概况", 3, 2.5, True, "=SUM(A1:A3)", "=B2*2", "=Sheet2!A1", "=#REF!+1",
                         "='[2]x'!A1", "=A1", None, "", "=IF(A1>0,\"是\",\"否\")", "=XLOOKUP(1,A:A,B:B)"]
    started = time.monotonic()
    for n in range(40):
        wb = openpyxl.Workbook()
        for s in range(rng.randint(1, 3)):
            ws = wb.active if s == 0 else wb.create_sheet(f"Sheet{s + 1}")
            for _ in range(rng.randint(0, 40)):
                cell = ws.cell(rng.randint(1, 15), rng.randint(1, 8))
                cell.value = rng.choice(values)
                if rng.random() < 0.3:
                    cell.fill = YELLOW
                if rng.random() < 0.2:
                    cell.font = Font(bold=True, size=rng.choice((11, 12, 16)))
            for _ in range(rng.randint(0, 4)):
                r, c = rng.randint(1, 14), rng.randint(1, 7)
                with contextlib.suppress(ValueError):
                    ws.merge_cells(start_row=r, start_column=c, end_row=r + rng.randint(0, 2), end_column=c + rng.randint(0, 3))
            if rng.random() < 0.5:
                dv = DataValidation(type=rng.choice(["whole", "decimal", "list", "textLength", "custom"]), formula1=rng.choice(
                    ["0", '"a,b"', "A1>0", "Sheet2!$A$1:$A$3"]), operator=rng.choice([None, "greaterThanOrEqual", "between"]))
                dv.add(f"B{rng.randint(1, 10)}:C{rng.randint(10, 20)}")
                ws.add_data_validation(dv)
        path = tmp_path / f"r{n}.xlsx"
        wb.save(path)
        try:
            result = import_form(path)
        except XlkitError as exc:
            assert "\n" not in str(exc)
            continue
        assert isinstance(yaml.safe_load(result.text), dict)  # always YAML, whatever the workbook held
        if n % 10 == 0:  # and `spec check` says what is wrong with it, in lines, never a traceback
            (tmp_path / "x.yaml").write_text(result.text, encoding="utf-8")
            assert all("Traceback" not in p for p in spec_problems(str(tmp_path / "x.yaml")))
    assert time.monotonic() - started < 120
