"""Recomputed values of returned files against the `formulas` package, on the seed and 60 random fillings."""

from __future__ import annotations

import random
import string
from datetime import date

import formulas
import pytest
from oracle import same

from xlkit.form.registry import SpecRegistry
from xlkit.form.values import date_serial
from xlkit.intake.check import check_file
from xlkit.write.build import build_template
from xlkit.write.fill import fill_workbook

FILLINGS = 60
PROJECT_FILLINGS = 30


def random_value(rng: random.Random, spec, slot):
    vtype = spec.types[slot.type]
    if rng.random() < 0.2:
        return None
    if vtype.choices and (vtype.base == "text" or rng.random() < 0.3):  # a number type may take listed words (定性)
        return rng.choice(spec.lists[vtype.choices])
    if slot.type == "score":
        return rng.choice([0, 59.99, 60, 79.99, 80, 89.99, 90, 100, round(rng.uniform(0, 100), 2)])
    if vtype.base == "date":
        return date(2019, rng.randint(1, 12), rng.randint(1, 28))
    if slot.type == "code":
        return f"U{rng.randint(1, 999999)}"
    if slot.type == "phone":
        return rng.choice(["13800000000", "0730-8612319"])
    if vtype.base == "number":
        return rng.choice([0, 0.01, round(rng.uniform(0, 100), 2), round(rng.uniform(0, 1e6), 2)])
    if vtype.base == "integer":
        low = int(vtype.min or 0)
        return rng.randint(low, min(int(vtype.max or 100), low + 60))
    return "".join(rng.choice(string.ascii_letters + "测试数据") for _ in range(rng.randint(1, 12)))


@pytest.fixture(scope="module")
def template(tmp_path_factory, spec):
    path = tmp_path_factory.mktemp("diff") / "t.xlsx"
    layout = build_template(path, spec, counts={"sub_units": 3, "projects": 5})
    model = formulas.ExcelModel().loads(str(path)).finish()
    return path, layout, model


def key(path, slot) -> str:
    return f"'[{path.name}]{slot.sheet.upper()}'!{slot.address}"


def test_random_fillings_recompute_like_the_formulas_package(template, spec, tmp_path):
    compare_fillings(template, spec, tmp_path, FILLINGS)


def test_project_form_recomputes_like_the_formulas_package(project_spec, tmp_path):
    """The project form's scoring (every direction, 定性 words, the bureau's fixed 分值) against an independent engine."""
    path = tmp_path / "project.xlsx"
    layout = build_template(path, project_spec, counts={"quantity": 3, "evaluators": 2})
    compare_fillings((path, layout, formulas.ExcelModel().loads(str(path)).finish()), project_spec, tmp_path, PROJECT_FILLINGS)


def compare_fillings(template, spec, tmp_path, fillings: int) -> None:
    path, layout, model = template
    registry = SpecRegistry([spec])
    rng = random.Random(20191231)
    compared = 0
    for n in range(fillings):
        data = {s.id: v for s in layout.inputs() if (v := random_value(rng, spec, s)) is not None}
        filled = tmp_path / f"r{n}.xlsx"
        fill_workbook(path, data, filled, spec)
        report = check_file(filled, registry)
        assert not [i for i in report.issues if i.code in ("formula-overwritten", "stale-value")], n
        inputs = {key(path, layout.fields[f]): date_serial(v) if isinstance(v, date) else v for f, v in data.items()}
        solution = model.calculate(inputs=inputs)
        for slot in layout.formulas():
            theirs = solution[key(path, slot)].value[0][0]
            theirs = theirs.item() if hasattr(theirs, "item") else theirs
            assert same(report.values[slot.id], theirs), (n, slot.id, report.values[slot.id], theirs)
            compared += 1
    assert compared == fillings * len(layout.formulas())
