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
    assert any(ws.cell(r, 2).value == "岳阳市教育局 小计（无已接收项目）" for r in rows.values())
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
