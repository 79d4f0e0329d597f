"""The built template: protection, validation, names, identity, print layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlkit.form.identity import LISTS_SHEET, META_SHEET, password_hash
from xlkit.form.params import make_params
from xlkit.form.placement import build_layout
from xlkit.write.build import build_template


@pytest.fixture(scope="module")
def blank(tmp_path_factory, spec) -> Path:
    path = tmp_path_factory.mktemp("blank") / "t.xlsx"
    build_template(path, spec)
    return path


@pytest.fixture(scope="module")
def book(blank):
    return openpyxl.load_workbook(blank)


def test_every_form_sheet_and_the_structure_are_protected(book, spec):
    assert book.sheetnames[: len(spec.sheets)] == [s.name for s in spec.sheets]
    for sheet in spec.sheets:
        assert book[sheet.name].protection.sheet, sheet.name
    assert book.security.lockStructure


def test_only_input_cells_are_unlocked(book, spec):
    layout = build_layout(spec)
    inputs = {(s.sheet, s.address) for s in layout.inputs()}
    for sheet in spec.sheets:
        ws = book[sheet.name]
        for row in ws.iter_rows():
            for cell in row:
                if cell.coordinate in ws.merged_cells and (sheet.name, cell.coordinate) not in inputs:
                    continue
                unlocked = cell.protection.locked is False
                assert unlocked == ((sheet.name, cell.coordinate) in inputs), (sheet.name, cell.coordinate)


def test_every_input_has_a_validation_with_chinese_messages(book, spec):
    layout = build_layout(spec)
    for slot in layout.inputs():
        rules = [dv for dv in book[slot.sheet].data_validations.dataValidation if slot.address in dv.sqref]
        assert len(rules) == 1, slot.id
        rule = rules[0]
        assert rule.showErrorMessage and rule.error and rule.prompt, slot.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.error), slot.id


def test_validation_kinds_follow_the_types(book, spec):
    layout = build_layout(spec)

    def rule(field_id):
        slot = layout.fields[field_id]
        return next(dv for dv in book[slot.sheet].data_validations.dataValidation if slot.address in dv.sqref)

    money = rule("income.office.fiscal")
    assert money.type == "custom" and "ROUND(" in money.formula1 and ">=0" in money.formula1
    assert rule("staff.actual").type == "whole"
    score = rule("score")
    assert (score.type, score.formula1, score.formula2) == ("decimal", "0", "100")
    assert score.operator in (None, "between")  # between is the OOXML default, omitted
    role = rule("evaluators.e1.role")
    assert role.type == "list" and role.formula1 == f"'{LISTS_SHEET}'!$B$2:$B$3"  # a range, not an inline list
    assert rule("contact.phone").type == "custom"
    assert rule("duties").type == "textLength"


def test_every_field_is_a_workbook_defined_name(book, spec):
    layout = build_layout(spec)
    for slot in layout.fields.values():
        name = book.defined_names[slot.id]
        assert name.attr_text == f"'{slot.sheet}'!${slot.address.rstrip('0123456789')}${slot.address.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}"


def test_formula_cells_carry_cached_values(blank):
    with zipfile.ZipFile(blank) as z:
        names = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = "".join(z.read(n).decode() for n in names)
    assert "<f>" in xml
    # blank template: grade of a blank score is "" (a str result), totals are 0
    values = openpyxl.load_workbook(blank, data_only=True)
    assert values["收支情况"]["B6"].value == 0


def test_identity_in_very_hidden_sheet_and_custom_properties(tmp_path, spec):
    path = tmp_path / "u.xlsx"
    build_template(path, spec, unit_code="U01", unit_name="测试单位", year=2025, counts={"sub_units": 3})
    book = openpyxl.load_workbook(path)
    meta = book[META_SHEET]
    assert meta.sheet_state == "veryHidden"
    assert book[LISTS_SHEET].sheet_state == "hidden"
    rows = {r[0].value: r[1].value for r in meta.iter_rows()}
    assert rows["template.id"] == spec.template.id
    assert rows["template.version"] == spec.template.version
    assert rows["spec.fingerprint"] == spec.fingerprint()
    assert (rows["unit.code"], rows["unit.name"], rows["year"]) == ("U01", "测试单位", "2025")
    props = {p.name: p.value for p in book.custom_doc_props.props}
    assert props["xlkit.template.id"] == spec.template.id
    assert props["xlkit.unit.code"] == "U01"
    # identity prefilled and locked
    ws = book["基本概况"]
    layout = build_layout(spec, make_params(spec, {"unit_code": "U01", "unit_name": "测试单位", "year": 2025}, {"sub_units": 3}))
    name_cell = ws[layout.fields["unit.name"].address]
    assert name_cell.value == "测试单位" and name_cell.protection.locked is not False


def test_sub_unit_rows_and_names_come_from_build_parameters(tmp_path, spec):
    path = tmp_path / "u.xlsx"
    layout = build_template(path, spec, names={"sub_units": ["信息中心", "执法支队", "园林处"]}, counts={"projects": 3})
    assert [k for k in layout.fields if k.startswith("income.") and k.endswith(".total")] == [
        "income.all.total", "income.office.total", "income.sub1.total", "income.sub2.total", "income.sub3.total"]
    ws = openpyxl.load_workbook(path)["收支情况"]
    labels = [ws.cell(row=r, column=1).value for r in range(1, 12)]
    assert "4、园林处" in labels and "2、信息中心" in labels
    total = layout.fields["income.all.carryover"]
    assert total.formula == "SUM(C7:C10)"
    assert "projects.p3.name" in layout.fields and "projects.p4.name" not in layout.fields


def test_password_protects_sheets_and_structure(tmp_path, spec):
    path = tmp_path / "p.xlsx"
    build_template(path, spec, password="secret")
    book = openpyxl.load_workbook(path)
    assert book["基本概况"].protection.password == password_hash("secret")
    with zipfile.ZipFile(path) as z:
        assert f'workbookPassword="{password_hash("secret")}"' in z.read("xl/workbook.xml").decode()


def test_print_layout(book, spec):
    for sheet in spec.sheets:
        ws = book[sheet.name]
        assert ws.page_setup.paperSize == 9  # A4
        assert ws.page_setup.orientation == sheet.orientation
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0  # 1 wide is the OOXML default
        assert ws.print_title_rows and ws.print_title_rows.startswith("$1:")
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
        assert ws.print_area


def test_text_that_looks_like_a_formula_stays_text(tmp_path, spec):
    from xlkit.write.fill import fill_workbook

    template = tmp_path / "t.xlsx"
    build_template(template, spec)
    out = tmp_path / "f.xlsx"
    fill_workbook(template, {"duties": "=1+1", "contact.name": "@SUM(A1)"}, out, spec)
    ws = openpyxl.load_workbook(out)["基本概况"]
    layout = build_layout(spec)
    assert ws[layout.fields["duties"].address].value == "=1+1"
    assert ws[layout.fields["duties"].address].data_type == "s"


def test_password_can_come_from_the_spec(tmp_path):
    from xlkit.form.load import builtin_spec_path, load_spec

    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(builtin_spec_path().read_text(encoding="utf-8").replace('  title: 部门（单位）整体支出绩效自评表\n', '  title: 部门（单位）整体支出绩效自评表\n  password: fromspec\n', 1),
                         encoding="utf-8")
    path = tmp_path / "p.xlsx"
    build_template(path, load_spec(spec_path))
    assert openpyxl.load_workbook(path)["基本概况"].protection.password == password_hash("fromspec")
    build_template(path, load_spec(spec_path), password="cli")
    assert openpyxl.load_workbook(path)["基本概况"].protection.password == password_hash("cli")
