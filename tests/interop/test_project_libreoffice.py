"""The project form (项目支出绩效自评表, 评分表) in a real LibreOffice: recalculation, a clerk's round trip, printing."""

from __future__ import annotations

import random
import re
import subprocess

from campaign import PROJECT_IDENTITY
from oracle import same
from test_differential import random_value
from test_libreoffice import keep_for_people, layout_of, pdf_pages_by_sheet, person_fills, points_of_text, recalculation_parity
from test_project import SCORING

from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

RANDOM_FILLINGS = 8


def test_project_recalculation_parity(libreoffice, project_filled, project_template, project_spec, project_data, tmp_path):
    """The seed project, one filling per scoring case (every direction and 定性 word) and random fillings, recalculated
    by LibreOffice."""
    files = [project_filled]
    layout = layout_of(project_template, project_spec)
    rng = random.Random(2019)
    for n in range(RANDOM_FILLINGS):
        data = {s.id: v for s in layout.inputs() if not s.locked and (v := random_value(rng, project_spec, s)) is not None}
        files.append(tmp_path / f"random{n}.xlsx")
        fill_workbook(project_template, data, files[-1], project_spec)
    for n, (direction, target, actual, weight, _score) in enumerate(SCORING):
        row = "indicators.quality1"
        data = {**project_data, f"{row}.direction": direction, f"{row}.target": target, f"{row}.actual": actual, f"{row}.weight": weight}
        files.append(tmp_path / f"case{n}.xlsx")
        fill_workbook(project_template, data, files[-1], project_spec)
    assert recalculation_parity(libreoffice, files, project_spec, SpecRegistry([project_spec])) == 1 + RANDOM_FILLINGS + len(SCORING)


def test_a_clerk_fills_the_project_form_in_libreoffice(libreoffice, project_spec, project_data, tmp_path):
    template = tmp_path / "project.xlsx"
    build_template(template, project_spec, **PROJECT_IDENTITY)
    layout = layout_of(template, project_spec)
    out = tmp_path / "returned.xlsx"
    libreoffice.run([{"op": "edit", "path": str(template), "out": str(out), "steps": person_fills(layout, project_data)}])
    report = check_file(out, SpecRegistry([project_spec]))
    assert report.issues == []
    for field_id, value in project_data.items():
        assert same(report.values[field_id], value), field_id
    assert (report.values["total_score"], report.values["grade"], report.values["funds.total.rate"]) == (97, "优秀", 0.9677)


def test_the_project_form_prints(libreoffice, text_scale, project_filled, project_spec, tmp_path):
    pdf = tmp_path / "project.pdf"
    libreoffice.run([{"op": "pdf", "path": str(project_filled), "out": str(pdf)}])
    keep_for_people(pdf, "project", "project")
    owners = pdf_pages_by_sheet(pdf, [s.name for s in project_spec.sheets])
    assert "校验" not in owners and set(owners) == {"项目自评表", "评分表", "评价人员", "报告综述"}
    assert owners.count("评分表") <= 2 and len(owners) <= 9
    for page in range(1, len(owners) + 1):
        points = points_of_text(pdf, page, text_scale)
        assert points and min(points) >= 9 - 0.05, (owners[page - 1], page, round(min(points), 2))
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout)
    for phrase in ("项目支出绩效自评表", "项目支出绩效评价评分表", "数字城管信息采集服务项目", "岳阳市智慧城管指挥中心", "96.77%", "387.09",
                   "97.00", "优秀", "立项依据充分性", "胡洋", "评价组组长（签字）", "岳阳市财政局（制）"):
        assert phrase in text, phrase


def test_a_unit_fills_its_key_project_sheet_in_libreoffice(libreoffice, spec, seed_data, project_data, tmp_path):
    """The overall form with a 重点项目 sheet, typed in LibreOffice: clean, and LibreOffice's own recalculation of the
    项目支出 rows that come from the project sheet agrees with ours."""
    from xlkit.demo.sample_data import seed_unit_data

    template = tmp_path / "unit.xlsx"
    build_template(template, spec, unit_code="430600301", unit_name="岳阳市智慧城管指挥中心", year=2019,
                   parent_name="岳阳市城市管理和综合执法局", names={"key_projects": ["数字城管信息采集服务项目"]})
    layout = layout_of(template, spec)
    data = seed_unit_data(layout, seed_data, project_data, "430600301-01")
    out = tmp_path / "returned.xlsx"
    libreoffice.run([{"op": "edit", "path": str(template), "out": str(out), "steps": person_fills(layout, data)}])
    registry = SpecRegistry([spec])
    report = check_file(out, registry)
    assert report.issues == []
    assert (report.values["projects.p1.spent"], report.values["projects.p1.score"], report.values["kp1.grade"]) == (387.09, 97, "优秀")
    assert recalculation_parity(libreoffice, [out], spec, registry) == 1
