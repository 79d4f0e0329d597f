"""The third bundled form, 项目支出绩效目标申报表 (written in YAML alone), in a real LibreOffice: recalculation parity,
a clerk's round trip, and printing (PNGs under build/print/target for a person to look at)."""

from __future__ import annotations

import json
import random
import re
import subprocess

import pytest
from oracle import same
from test_differential import random_value
from test_libreoffice import keep_for_people, layout_of, pdf_pages_by_sheet, person_fills, points_of_text, recalculation_parity

from xlkit.form.load import builtin_spec_path, load_spec
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

IDENTITY = {"unit_code": "430600301-01", "unit_name": "数字城管信息采集服务项目", "year": 2019, "parent_name": "岳阳市城市管理和综合执法局",
            "implementer": "岳阳市智慧城管指挥中心", "issuer": "岳阳市财政局"}
RANDOM_FILLINGS = 8
SAMPLE = builtin_spec_path().parents[1] / "samples" / "seed_project_target.json"


@pytest.fixture(scope="module")
def target_spec():
    return load_spec(builtin_spec_path().parent / "project_target.yaml")


@pytest.fixture(scope="module")
def target_data():
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


@pytest.fixture
def target_files(target_spec, target_data, tmp_path):
    template = tmp_path / "target.xlsx"
    build_template(template, target_spec, **IDENTITY)
    filled = tmp_path / "filled.xlsx"
    fill_workbook(template, target_data, filled, target_spec)
    return template, filled


def test_target_recalculation_parity(libreoffice, target_files, target_spec, tmp_path):
    template, filled = target_files
    files = [filled]
    layout = layout_of(template, target_spec)
    rng = random.Random(2026)
    for n in range(RANDOM_FILLINGS):
        data = {s.id: v for s in layout.inputs() if not s.locked and (v := random_value(rng, target_spec, s)) is not None}
        files.append(tmp_path / f"random{n}.xlsx")
        fill_workbook(template, data, files[-1], target_spec)
    assert recalculation_parity(libreoffice, files, target_spec, SpecRegistry([target_spec])) == 1 + RANDOM_FILLINGS


def test_a_clerk_fills_the_target_form_in_libreoffice(libreoffice, target_spec, target_data, tmp_path):
    template = tmp_path / "target.xlsx"
    build_template(template, target_spec, **IDENTITY)
    layout = layout_of(template, target_spec)
    out = tmp_path / "returned.xlsx"
    libreoffice.run([{"op": "edit", "path": str(template), "out": str(out), "steps": person_fills(layout, target_data)}])
    report = check_file(out, SpecRegistry([target_spec]))
    assert report.issues == []
    for field_id, value in target_data.items():
        assert same(report.values[field_id], value), field_id
    assert report.values["check.quantity_named.left"] == 3


def test_the_target_form_prints(libreoffice, text_scale, target_files, target_spec, tmp_path):
    pdf = tmp_path / "target.pdf"
    libreoffice.run([{"op": "pdf", "path": str(target_files[1]), "out": str(pdf)}])
    keep_for_people(pdf, "target", "target")
    owners = pdf_pages_by_sheet(pdf, [s.name for s in target_spec.sheets])
    assert owners == ["目标申报表"]  # one page; the 校验 sheet is not part of the printed form
    points = points_of_text(pdf, 1, text_scale)
    assert points and min(points) >= 9 - 0.05, round(min(points), 2)
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    for phrase in ("项目支出绩效目标申报表", "岳阳市财政局（制）", "数字城管信息采集服务项目", "岳阳市智慧城管指挥中心", "中期资金总额",
                   "1,200.00", "400.00", "≥950条/日", "服务对象满意度指标", "≥90%"):
        assert phrase in text, phrase
