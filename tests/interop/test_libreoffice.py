"""xlkit's workbooks in a real LibreOffice: opening, recalculation, a clerk's round trip, tampering, printing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from office import cells_of
from oracle import same

from xlkit.bureau.consolidate import consolidate
from xlkit.bureau.summary import write_summary
from xlkit.demo.sample_data import generate_unit_data
from xlkit.form.params import make_params
from xlkit.form.placement import build_layout
from xlkit.intake.check import check_file
from xlkit.intake.identify import open_template_workbook
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

ROOT = Path(__file__).resolve().parents[2]
PRINT_DIR = ROOT / "build" / "print"
GENERATED_FILLINGS = 20


def layout_of(path, spec):
    return open_template_workbook(path, spec).layout


def test_template_opens_protected_with_locks_and_validations(libreoffice, seed_template, spec):
    layout = layout_of(seed_template, spec)
    statics = [[sheet.name, f"{chr(65 + s.col)}{s.row + 1}"] for sheet in layout.sheets for s in sheet.statics[:6] if s.col < 26]
    [result] = libreoffice.run([{"op": "inspect", "path": str(seed_template), "cells": cells_of(layout) + statics}])
    for sheet in spec.sheets:
        assert result["sheets"][sheet.name] == {"protected": True, "visible": True}, sheet.name
    assert result["sheets"]["_xlkit"]["visible"] is False and result["sheets"]["_lists"]["visible"] is False
    cells = result["cells"]
    for slot, seen in zip(layout.fields.values(), cells, strict=False):
        editable = slot.kind == "input" and not slot.locked
        assert seen["locked"] is (not editable), slot.id
        if editable:
            assert seen["validation"] != "ANY", slot.id
    role = cells[list(layout.fields).index("evaluators.e1.role")]
    assert role["validation"] == "LIST" and "_lists" in role["formula1"]
    assert all(seen["locked"] for seen in cells[len(layout.fields):])
    # LibreOffice 7.4 does not read workbook structure protection from .xlsx; the file does carry it:
    with zipfile.ZipFile(seed_template) as archive:
        assert 'lockStructure="1"' in archive.read("xl/workbook.xml").decode()


def generated_fillings(tmp_path: Path, spec) -> list[Path]:
    files = []
    for n in range(GENERATED_FILLINGS):
        params = make_params(spec, {"unit_code": f"G{n:03d}", "unit_name": f"生成单位{n}", "year": 2019},
                             {"projects": 1 + n % 7}, {"sub_units": [f"机构{k}" for k in range(n % 4)]})
        template = tmp_path / f"t{n}.xlsx"
        from xlkit.write.build import write_workbook
        layout = build_layout(spec, params)
        write_workbook(layout, {}, template)
        data = generate_unit_data(layout, f"G{n:03d}")
        if n % 3 == 0:  # blanks and band edges too
            data = {k: v for i, (k, v) in enumerate(data.items()) if i % 4}
            data["score"] = [59.99, 60, 89.99, 90, 100, 0, 80][n % 7]
        out = tmp_path / f"g{n}.xlsx"
        fill_workbook(template, data, out, spec)
        files.append(out)
    return files


def test_recalculation_parity(libreoffice, seed_filled, spec, registry, tmp_path):
    files = [seed_filled, *generated_fillings(tmp_path, spec)]
    assert recalculation_parity(libreoffice, files, spec, registry) == 1 + GENERATED_FILLINGS


def recalculation_parity(libreoffice, files: list[Path], spec, registry) -> int:
    """Every formula of every file: our value = LibreOffice's after a hard recalculation = the value cached in the file."""
    jobs, expected = [], []
    for path in files:
        report = check_file(path, registry)
        assert not [i for i in report.issues if i.code in ("stale-value", "formula-overwritten")], path
        layout = layout_of(path, spec)
        formulas = layout.formulas()
        jobs.append({"op": "values", "path": str(path), "cells": cells_of(layout, formulas), "recalc": True})
        jobs.append({"op": "values", "path": str(path), "cells": cells_of(layout, formulas), "recalc": False})
        expected.append((formulas, report.values))
    results = libreoffice.run(jobs)
    compared = 0
    for (formulas, values), recalculated, loaded in zip(expected, results[0::2], results[1::2], strict=True):
        for slot, after, before in zip(formulas, recalculated["values"], loaded["values"], strict=True):
            assert same(values[slot.id], after), (slot.id, values[slot.id], after)
            assert same(before, after), (slot.id, "cached", before, "recalculated", after)
            compared += 1
    assert compared == sum(len(formulas) for formulas, _ in expected)
    return len(expected)


def person_fills(layout, data) -> list[list]:
    """Numbers and text entered as such; dates typed, as a clerk types them."""
    return [["type" if layout.spec.types[layout.fields[k].type].base == "date" else "set", layout.fields[k].sheet,
             layout.fields[k].address, v] for k, v in data.items()]


def test_a_clerks_round_trip_checks_clean(libreoffice, spec, seed_data, registry, tmp_path):
    template = tmp_path / "unit.xlsx"
    build_template(template, spec, unit_code="430600301", unit_name=seed_data["unit.name"], year=2019)
    other = tmp_path / "other.xlsx"
    build_template(other, spec, unit_code="430600302", unit_name="岳阳市市政设施维护中心", year=2019)
    layout = layout_of(template, spec)
    seed_inputs = {k: v for k, v in seed_data.items() if k not in ("unit.name", "year")}
    other_data = generate_unit_data(layout_of(other, spec), "430600302")
    returned = tmp_path / "returned"
    returned.mkdir()
    libreoffice.run([
        {"op": "edit", "path": str(template), "out": str(returned / "seed.xlsx"), "steps": person_fills(layout, seed_inputs)},
        {"op": "edit", "path": str(other), "out": str(returned / "other.xlsx"), "steps": person_fills(layout_of(other, spec), other_data)},
    ])
    report = check_file(returned / "seed.xlsx", registry)
    assert report.issues == []
    for field_id, value in seed_inputs.items():
        assert same(report.values[field_id], value), field_id
    assert (report.values["income.all.total"], report.values["grade"]) == (1126.28, "优秀")
    result = consolidate([returned], jobs=1)
    assert {f.status for f in result.files} == {"accepted"}
    total = result.frame["expense.all.total"].sum()
    assert round(total, 2) == round(1002.25 + check_file(returned / "other.xlsx", registry).values["expense.all.total"], 2)


def test_tampering_in_libreoffice_is_reported(libreoffice, seed_filled, spec, registry, tmp_path):
    layout = layout_of(seed_filled, spec)
    total = layout.fields["income.all.total"]
    name = layout.fields["contact.name"]
    sub1 = layout.fields["income.sub1.carryover"]
    libreoffice.run([
        {"op": "edit", "path": str(seed_filled), "out": str(tmp_path / "over.xlsx"),
         "steps": [["unprotect", total.sheet], ["set", total.sheet, total.address, 2000]]},
        {"op": "edit", "path": str(seed_filled), "out": str(tmp_path / "row.xlsx"),
         "steps": [["unprotect", sub1.sheet], ["insert_row", sub1.sheet, sub1.row]]},
        {"op": "edit", "path": str(seed_filled), "out": str(tmp_path / "blank.xlsx"),
         "steps": [["unprotect", name.sheet], ["clear", name.sheet, name.address]]},
    ])
    over = check_file(tmp_path / "over.xlsx", registry)
    assert [(i.code, i.field) for i in over.issues if i.severity == "error"] == [("formula-overwritten", "income.all.total")]
    assert over.values["income.all.total"] == 1126.28
    moved = check_file(tmp_path / "row.xlsx", registry)
    assert [i for i in moved.issues if i.severity == "error"] == []
    assert "income.sub1.carryover" in {i.field for i in moved.issues if i.code == "field-moved"}
    assert moved.values["income.sub1.carryover"] == 103.77 and moved.values["income.all.total"] == 1126.28
    blank = check_file(tmp_path / "blank.xlsx", registry)
    assert [(i.code, i.field) for i in blank.issues if i.severity == "error"] == [("required-missing", "contact.name")]
    for report in (over, moved, blank):
        assert [i.sheet for i in report.issues if i.code == "protection-removed"] in ([total.sheet], [name.sheet])


def test_numbers_typed_as_text_recompute_as_libreoffice_does(libreoffice, seed_filled, spec, registry, tmp_path):
    """A number pasted as text: LibreOffice's `+` converts it, its SUM skips it; xlkit computes the same figures
    (so no stale-value blames the save), and says once, on the cell, what to fix."""
    layout = layout_of(seed_filled, spec)
    typed = {"income.sub1.fiscal": "1,022.51", "sangong.sub1.reception": "2.91", "expense.sub1.public": "约六十万"}
    steps = [["unprotect", layout.fields[f].sheet] for f in typed]
    steps += [["set", layout.fields[f].sheet, layout.fields[f].address, text] for f, text in typed.items()]
    out = tmp_path / "text.xlsx"
    libreoffice.run([{"op": "edit", "path": str(seed_filled), "out": str(out), "steps": steps}])
    report = check_file(out, registry)
    errors = sorted((i.code, i.field) for i in report.issues if i.severity == "error")
    # the cells, and the rules the unit's own 校验 sheet also fails in LibreOffice (its totals disagree)
    assert errors == [("check-income-rows", "income.all.total"), ("check-sangong-rows", "sangong.all.total"),
                      ("not-a-number", "expense.sub1.public"), ("number-as-text", "income.sub1.fiscal"),
                      ("number-as-text", "sangong.sub1.reception")]
    assert not [i for i in report.issues if i.code == "stale-value"]
    [result] = libreoffice.run([{"op": "values", "path": str(out), "recalc": True, "cells": cells_of(layout, layout.formulas())}])
    errors_of_libreoffice = {"#ERR519": "#VALUE!", "#ERR532": "#DIV/0!", "#ERR503": "#NUM!"}  # UNO shows Err:519 and the like
    for slot, theirs in zip(layout.formulas(), result["values"], strict=True):
        theirs = errors_of_libreoffice.get(theirs, theirs) if isinstance(theirs, str) else theirs
        assert same(report.values[slot.id], theirs), (slot.id, report.values[slot.id], theirs)
    assert report.values["income.sub1.total"] == 1126.28 and report.values["income.all.total"] == 103.77


def text_cells(layout) -> list[list[str]]:
    """Every cell whose text may wrap: text fields and wrapped labels, headers and notes (one row high)."""
    cells = [[s.sheet, s.address] for s in layout.fields.values() if s.kind == "input" and layout.spec.types[s.type].base == "text"]
    for sheet in layout.sheets:
        for static in sheet.statics:
            if static.text and static.style in ("label", "header", "rowlabel", "totallabel", "checkname", "note", "box") \
                    and (static.last_row is None or static.last_row == static.row):
                cells.append([sheet.name, f"{chr(65 + static.col)}{static.row + 1}"])
    return cells


def long_text_filling(layout, spec) -> dict:
    """Every narrative at its maximum length, digits, Latin and line breaks mixed: the worst case for row heights."""
    pattern = "绩效目标完成情况良好，全年处置率96.92%（253185/261238件），12345热线办结率99%。Data OK.\n"
    data = {}
    for slot in layout.inputs():
        vtype = spec.types[slot.type]
        if vtype.base == "text" and not vtype.choices and not vtype.pattern and not slot.locked:
            limit = min(vtype.max_length or 100, 1500)
            data[slot.id] = (pattern * (limit // len(pattern) + 1))[:limit].rstrip("\n")
    return data


SINGLE_LINE_LEADING = 3.0  # points: a one-line cell of 15 pt shows its glyphs whole though LibreOffice's line box is 17


def test_text_fits_its_cells_in_libreoffice(libreoffice, seed_filled, seed_template, spec, tmp_path):
    """No text is clipped: LibreOffice's own layout of every text cell needs no more height than the row has
    (beyond the leading of one line), for the seed and for every narrative at its maximum length."""
    layout = layout_of(seed_template, spec)
    long_file = tmp_path / "long.xlsx"
    fill_workbook(seed_template, long_text_filling(layout, spec), long_file, spec)
    jobs = [{"op": "fit", "path": str(path), "cells": text_cells(layout)} for path in (seed_filled, long_file)]
    clipped = []
    for path, result in zip((seed_filled, long_file), libreoffice.run(jobs), strict=True):
        for (sheet, address), cell in zip(text_cells(layout), result["cells"], strict=True):
            if cell["text"] and cell["needed"] > cell["height"] + SINGLE_LINE_LEADING:
                clipped.append((path.name, sheet, address, round(cell["needed"]), round(cell["height"]), cell["text"][:20]))
    assert not clipped, clipped


def test_long_text_prints_every_character(libreoffice, seed_template, spec, tmp_path):
    """Every narrative at its maximum length reaches the PDF whole, and a zero a clerk typed still prints 0.00."""
    layout = layout_of(seed_template, spec)
    data = long_text_filling(layout, spec)
    data["income.office.other"] = 0
    long_file = tmp_path / "long.xlsx"
    fill_workbook(seed_template, data, long_file, spec)
    pdf = tmp_path / "long.pdf"
    libreoffice.run([{"op": "pdf", "path": str(long_file), "out": str(pdf)}])
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    for field_id, value in data.items():
        if isinstance(value, str):
            assert re.sub(r"\s", "", value) in text, field_id
    lines = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout.splitlines()
    office = [line for line in lines if "1、局机关" in line]
    assert office and "0.00" in office[0]  # the typed zero, and the totals it feeds


def test_a_letter_prints_legibly_on_one_or_two_pages(libreoffice, text_scale, seed_filled, spec, tmp_path):
    """A 审核意见 letter for a unit with a typical handful of problems: A4, 1–2 pages, body text at least 9 pt."""
    from xlkit.bureau.consolidate import consolidate
    from xlkit.bureau.letters import letters_to_pdf, write_letters

    layout = layout_of(seed_filled, spec)
    path = tmp_path / "in" / "430600301_岳阳市智慧城管指挥中心.xlsx"
    path.parent.mkdir()
    shutil.copy(seed_filled, path)
    steps = [["unprotect", "收支情况"], ["set", "收支情况", layout.fields["expense.all.total"].address, 1],
             ["unprotect", "基本概况"], ["clear", "基本概况", layout.fields["contact.name"].address],
             ["set", "基本概况", layout.fields["staff.actual"].address, 30]]
    libreoffice.run([{"op": "edit", "path": str(seed_filled), "out": str(path), "steps": steps}])
    [letter] = write_letters(consolidate([path.parent], jobs=1), tmp_path / "letters", contact="联系电话：0730-0000000", issuer="岳阳市财政局")
    [pdf] = letters_to_pdf([letter])
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    assert 1 <= pages <= 2
    sizes = [size for page in range(1, pages + 1) for size in points_of_text(pdf, page, text_scale)]
    assert sizes and min(sizes) >= 9 - 0.05  # every word at least 9 pt on paper
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    for phrase in ("审核意见", "岳阳市智慧城管指挥中心", "如何修改", "岳阳市财政局"):
        assert phrase in re.sub(r"\s", "", text), phrase
    keep_for_people(pdf, "letter", "letter")


def keep_for_people(pdf: Path, folder: str, name: str) -> Path:
    """The PDF and a PNG per page under build/print/<folder>, to be looked at (kept before any assertion fails)."""
    out = PRINT_DIR / folder
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copy(pdf, out / f"{name}.pdf")
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(out / "page")], check=True)
    return out


def pdf_pages_by_sheet(pdf: Path, sheet_names: list[str]) -> list[str]:
    count = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    owners = []
    for page in range(1, count + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True).stdout
        footer = [line for line in text.splitlines() if "页，共" in line][-1]
        owners.append(next(name for name in sheet_names if f"{name} 第" in footer.replace("  ", " ")))
    return owners


def test_printing_to_pdf(libreoffice, seed_filled, spec, tmp_path):
    pdf = tmp_path / "seed.pdf"
    libreoffice.run([{"op": "pdf", "path": str(seed_filled), "out": str(pdf)}])
    layout = layout_of(seed_filled, spec)
    owners = pdf_pages_by_sheet(pdf, [s.name for s in spec.sheets])
    # what the print layout implies: each printed sheet one page wide, one page per page-break segment; 校验 left out
    expected = [sheet.name for sheet in layout.sheets if sheet.spec.printed for _ in range(1 + len(sheet.page_breaks))]
    assert owners == expected
    assert len(owners) <= 8  # the seed sample, cover included, on at most eight A4 pages
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(len(owners)), str(pdf)], capture_output=True, text=True).stdout
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)
    orientation = {s.name: s.orientation for s in spec.sheets}
    for owner, (width, height) in zip(owners, sizes, strict=True):
        portrait = (round(float(width)), round(float(height))) == (595, 842)
        landscape = (round(float(width)), round(float(height))) == (842, 595)
        assert portrait if orientation[owner] == "portrait" else landscape, (owner, width, height)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts), fonts  # every font embedded
    assert any("CJK" in line or "Noto" in line for line in fonts), fonts  # a CJK font carries the Chinese text
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)  # cells wrap
    for phrase in ("部门（单位）整体支出绩效自评表", "局机关及二级机构汇总", "1,126.28", "评价组组长（签字）", "改进措施和有关建议",
                   "岳阳市财政局（制）", "（预期实现的效益）", "评价方式"):
        assert phrase in text, phrase
    lines = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout.splitlines()
    assert any("部门（单位）意见" in line for line in lines)  # on one line: never broken inside the bracket pair
    empty_rows = [line for line in lines if "、二级机构2" in line or "、局机关" in line]  # rows the seed leaves empty
    assert empty_rows and not [line for line in empty_rows if "0.00" in line], empty_rows
    out = keep_for_people(pdf, "form", "seed")
    assert len(list(out.glob("page-*.png"))) == len(owners)


def test_summary_workbook_recalculates_to_the_same_totals(libreoffice, seed_filled, spec, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(seed_filled, folder / "seed.xlsx")
    for path in generated_fillings(tmp_path, spec)[:4]:
        shutil.copy(path, folder / path.name)
    result = consolidate([folder], jobs=2)
    summary = tmp_path / "summary.xlsx"
    write_summary(result, summary)
    import openpyxl

    book = openpyxl.load_workbook(summary)
    formula_cells = [[ws.title, c.coordinate] for ws in book.worksheets for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str) and c.value.startswith("=")]
    cached = openpyxl.load_workbook(summary, data_only=True)
    before = [cached[s][a].value for s, a in formula_cells]
    [after] = libreoffice.run([{"op": "values", "path": str(summary), "cells": formula_cells, "recalc": True}])
    assert len(formula_cells) > 40 and {s for s, _a in formula_cells} >= {s.name for s in spec.summary.sheets} | {"统计"}
    for (sheet, address), mine, theirs in zip(formula_cells, before, after["values"], strict=True):
        assert same(mine, theirs), (sheet, address, mine, theirs)


def word_boxes(pdf: Path, page: int) -> list[tuple[float, ...]]:
    bbox = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
    return [tuple(map(float, box)) for box in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', bbox)]


def points_of_text(pdf: Path, page: int, scale: float) -> list[float]:
    """The size on paper of every word on a page: its box height over that of 1 pt text in the same renderer."""
    return [(y2 - y1) / scale for _x1, y1, _x2, y2 in word_boxes(pdf, page)]


def test_every_summary_sheet_prints_legibly(libreoffice, text_scale, returned, roster, spec, tmp_path):
    """The summary of the sample campaign (one unit with errors, one department with no accepted unit) printed:
    each sheet one page wide on a few A4 landscape pages, every word at least 9 pt, no two lines of text overlapping,
    the errors listed apart and the 合计 where it belongs."""
    import tamper
    from campaign import fresh_copy

    folder = fresh_copy(returned, tmp_path)
    for path in sorted(folder.iterdir())[4:7]:  # three units type over a total; a whole department (the last) sends nothing
        total = layout_of(path, spec).fields["expense.all.total"]
        tamper.edit(path, set_cell=(total.sheet, total.address, 1))
    for path in sorted(folder.iterdir())[-2:]:
        path.unlink()
    summary = tmp_path / "summary.xlsx"
    write_summary(consolidate([folder], roster, jobs=2), summary)
    pdf = tmp_path / "summary.pdf"
    libreoffice.run([{"op": "pdf", "path": str(summary), "out": str(pdf)}])
    keep_for_people(pdf, "summary", "summary")
    names = [s.name for s in spec.summary.sheets] + ["项目汇总", "校验问题", "审核提示", "报送情况", "文件清单", "共性指标", "统计", "字段"]
    owners = pdf_pages_by_sheet(pdf, names)
    assert sorted(set(owners), key=names.index) == names  # every sheet prints, the hidden ones do not
    for name in names:
        assert 1 <= owners.count(name) <= 2, (name, owners.count(name))
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", str(len(owners)), str(pdf)], capture_output=True, text=True).stdout
    sizes = {(round(float(w)), round(float(h))) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info)}
    assert sizes == {(842, 595)}  # A4 landscape
    for page, owner in enumerate(owners, start=1):
        points = points_of_text(pdf, page, text_scale)
        assert points and min(points) >= 9 - 0.05, (owner, page, round(min(points), 2))
        boxes = word_boxes(pdf, page)
        for k, (x1, y1, x2, y2) in enumerate(boxes):  # glyph boxes of wrapped lines touch; a third of a line is a collision
            for (a1, b1, a2, b2) in boxes[k + 1:]:
                across, down = min(x2, a2) - max(x1, a1), min(y2, b2) - max(y1, b1)
                assert not (across > 1 and down > (y2 - y1) / 3), (owner, page, (x1, y1), (a1, b1))
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    for phrase in ("收入情况汇总表", "合计", "小计（无已接收单位）", "未纳入合计", "综合得分（分）", "“三公”经费预算（万元）", "应报13"):
        assert phrase in text, phrase
    for page, owner in enumerate(owners, start=1):  # machine names stay hidden, except on the sheet that lists them
        words = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], capture_output=True, text=True).stdout
        assert owner == "字段" or "expense.all.total" not in words, (owner, page)
        assert "formula-overwritten" not in words, (owner, page)


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="only asserted under CI")
def test_interop_ran_under_ci(libreoffice):
    assert libreoffice.process.poll() is None
