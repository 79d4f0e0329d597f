"""A semantic snapshot of the built template, compared part by part.

Regenerate deliberately with `make golden` (pytest --update-golden); never silently.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from campaign import PROJECT_IDENTITY

from xlkit.form.load import builtin_spec_path, load_spec
from xlkit.write.build import build_template

GOLDEN = Path(__file__).parent / "golden"


def snapshot(path: Path) -> dict:
    book = openpyxl.load_workbook(path)
    out: dict = {
        "sheets": [[ws.title, ws.sheet_state] for ws in book.worksheets],
        "structure_locked": bool(book.security and book.security.lockStructure),
        "defined_names": {name: dn.attr_text for name, dn in sorted(book.defined_names.items())},
    }
    for ws in book.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    cells[cell.coordinate] = [cell.value, cell.protection.locked, cell.number_format]
        validations = sorted(
            [str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.promptTitle, dv.prompt, dv.errorTitle, dv.error]
            for dv in ws.data_validations.dataValidation
        )
        conditional = sorted(
            [str(rng.sqref), rule.type, rule.operator, list(rule.formula or [])]
            for rng in ws.conditional_formatting for rule in rng.rules
        )
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "validations": validations,
            "conditional_formats": conditional,
            "protected": bool(ws.protection.sheet),
            "column_widths": {k: v.width for k, v in sorted(ws.column_dimensions.items()) if v.width},
            "row_heights": {str(k): v.height for k, v in sorted(ws.row_dimensions.items()) if v.height},
            "page_breaks": [b.id for b in ws.row_breaks.brk],
            "print": {
                "orientation": ws.page_setup.orientation,
                "paper": ws.page_setup.paperSize,
                "fit_to_height": ws.page_setup.fitToHeight,
                "title_rows": ws.print_title_rows,
                "area": ws.print_area,
                "header": [ws.oddHeader.left.text, ws.oddHeader.right.text],
                "footer": ws.oddFooter.center.text,
            },
        }
    meta = out["_xlkit"]["cells"]
    for coordinate, (value, *_rest) in list(meta.items()):
        if value == "generator":
            meta.pop("B" + coordinate[1:], None)  # the xlkit version is not part of the form
    return out


@pytest.mark.parametrize("form", ["overall", "overall_key_project", "project", "target"])
def test_template_matches_golden_snapshot(tmp_path, spec, project_spec, update_golden, form):
    path = tmp_path / "template.xlsx"
    if form.startswith("overall"):
        names = {"key_projects": ["数字城管信息采集服务项目"]} if form == "overall_key_project" else None
        build_template(path, spec, unit_code="430600301", unit_name="岳阳市智慧城管指挥中心", year=2019, names=names)
        golden_file = GOLDEN / ("template.json" if form == "overall" else "template_key_project.json")
    elif form == "project":
        build_template(path, project_spec, **PROJECT_IDENTITY)
        golden_file = GOLDEN / "project_template.json"
    else:  # the third bundled form, written in YAML alone
        build_template(path, load_spec(builtin_spec_path().parent / "project_target.yaml"), **PROJECT_IDENTITY)
        golden_file = GOLDEN / "project_target_template.json"
    current = json.loads(json.dumps(snapshot(path), ensure_ascii=False, default=str))
    if update_golden:
        golden_file.parent.mkdir(exist_ok=True)
        golden_file.write_text(json.dumps(current, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert golden_file.exists(), "no golden snapshot: run `make golden` once and review it"
    golden = json.loads(golden_file.read_text(encoding="utf-8"))
    assert current.keys() == golden.keys()
    for part in golden:
        if isinstance(golden[part], dict) and part in current:
            for key in golden[part]:
                assert current[part].get(key) == golden[part][key], f"{part}.{key} differs from the golden snapshot"
        assert current[part] == golden[part], part
