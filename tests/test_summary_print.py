"""The summary of a form whose columns hold long text (实施单位), and a form with no chart: every text wraps and
shows whole, the words are the spec's entity's, and no empty 统计 sheet."""

from __future__ import annotations

import subprocess
from pathlib import Path

import openpyxl
import pandas as pd

from xlkit.bureau.consolidate import Consolidation, FileStatus
from xlkit.bureau.summary import write_summary
from xlkit.form.load import load_spec

ROOT = Path(__file__).resolve().parents[1]
LONG = "岳阳市城市管理和综合执法局智慧城管指挥调度中心"


def target_summary(tmp_path: Path) -> Path:
    spec = load_spec(ROOT / "templates" / "project_target.yaml")
    files = [FileStatus(f"/in/P{k}.xlsx", "accepted", unit_code=f"P{k}", unit_name=f"项目{k}", department="岳阳市城市管理和综合执法局",
                        in_totals=True) for k in range(3)]
    files.append(FileStatus("", "missing", unit_code="P9", unit_name="未报项目", department="岳阳市教育局"))
    frame = pd.DataFrame({"unit_code": [f.unit_code for f in files[:3]], "unit_name": [f.unit_name for f in files[:3]],
                          "department": [f.department for f in files[:3]], "status": ["accepted"] * 3, "file": [f.path for f in files[:3]],
                          "project.unit": [LONG, "短单位", LONG + LONG], "project.kind": ["新增项目", "延续项目", "新增项目"],
                          "funds.total.year": [100.0, 200.5, 300.25]})
    out = tmp_path / "target.xlsx"
    write_summary(Consolidation(spec, "2026", files, frame), out)
    return out


def test_long_text_wraps_and_its_row_grows(tmp_path):
    out = target_summary(tmp_path)
    book = openpyxl.load_workbook(out)
    assert "统计" not in book.sheetnames  # the target form declares no chart
    ws = book["目标汇总"]
    ids = [c.value for c in ws[3]]
    col = ids.index("project.unit") + 1
    rows = {ws.cell(r, 2).value: r for r in range(6, ws.max_row + 1)}
    long_cell = ws.cell(rows["P0"], col)
    assert long_cell.value == LONG and long_cell.alignment.wrap_text
    heights = {code: ws.row_dimensions[rows[code]].height or 15 for code in ("P0", "P1", "P2")}
    assert heights["P1"] < heights["P0"] < heights["P2"]  # as high as the text needs
    assert ws.cell(5, 2).value == "项目编码" and ws.cell(5, 3).value == "项目名称"
    label = next(ws.cell(r, 2) for r in rows.values() if str(ws.cell(r, 2).value).replace("\n", "") == "岳阳市教育局 小计（无已接收项目）")
    assert label.alignment.wrap_text and all(line.count("（") == line.count("）") for line in label.value.split("\n"))  # shows whole
    assert book["校验问题"].cell(2, 1).value == "项目编码"


def test_long_text_prints_whole(tmp_path):
    """Rendered by LibreOffice: the long 实施单位 is on paper in full (its wrapped lines joined)."""
    out = target_summary(tmp_path)
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)], check=True,
                   capture_output=True, timeout=180)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "target.pdf"), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    flat = "".join(text.split())
    assert "指挥调度中心" in flat and flat.count("智慧城管") >= 3


def test_headers_never_break_inside_a_bracket_pair(tmp_path):
    """Every header of a themed sheet is printed in textfit's lines, each holding its bracket pairs whole, in a column
    wide enough for them (a renderer left to break 任务数（个） itself printed 「数（」 and 「个）」); LibreOffice's PDF shows them."""
    from xlkit.bureau.sheets import label_width

    out = target_summary(tmp_path)
    ws = openpyxl.load_workbook(out)["目标汇总"]
    labels = [c.value for c in ws[5] if isinstance(c.value, str)] + [c.value for c in ws[4] if isinstance(c.value, str)]
    assert any("\n" in label for label in labels)
    for label in labels:
        for line in label.split("\n"):
            assert line.count("（") == line.count("）") and line.count("(") == line.count(")"), label
    assert label_width("任务数（个）", 4) > label_width("任务数个", 4)  # room made for the bracket pair
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)], check=True,
                   capture_output=True, timeout=180)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "target.pdf"), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    bracketed = [part for label in labels for part in label.split("\n") if "（" in part]
    assert bracketed and all(part in text for part in bracketed)  # each on one printed line


def test_a_long_subtotal_label_wraps_whole(tmp_path):
    """A department's 小计 label longer than its merged cell is printed in lines, its bracket whole, its row high
    enough (it was cut to 「…（无已接收单位」 in a cell that did not wrap)."""
    spec = load_spec(ROOT / "templates" / "project_target.yaml")
    department = "岳阳市文化旅游广电局下属事业单位管理中心"
    files = [FileStatus("", "missing", unit_code="P9", unit_name="未报项目", department=department)]
    frame = pd.DataFrame({"unit_code": [], "unit_name": [], "department": [], "status": [], "file": []})
    out = tmp_path / "long.xlsx"
    write_summary(Consolidation(spec, "2026", files, frame), out)
    ws = openpyxl.load_workbook(out)["目标汇总"]
    [label] = [c for row in ws.iter_rows(min_row=6) for c in row[1:2] if c.value and "小计" in str(c.value)]
    lines = label.value.split("\n")
    assert len(lines) > 1 and "".join(lines).replace(" ", "") == f"{department}小计（无已接收项目）"  # every word, in lines
    assert lines[-1].endswith("（无已接收项目）") and label.alignment.wrap_text
    assert ws.row_dimensions[label.row].height >= 15 * len(lines)
