"""An archived version of a form is the form as it was: it gives the fingerprint the workbooks of that version carry,
so a unit still returning last version's workbook is read by its own spec, never refused as unknown-version."""

from __future__ import annotations

import pytest

from xlkit.form.load import builtin_spec_path, load_spec
from xlkit.form.registry import SpecRegistry
from xlkit.intake.check import check_file
from xlkit.write.build import build_template

ARCHIVE = builtin_spec_path().parent / "archive"
# the fingerprints each version had while it was the current form (computed from the spec of its release);
# 2026.3 and 2026.4 compose the project form, which their archived copies name by its archived file
WHEN_CURRENT = {
    "perf_self_eval_2026.1.yaml": "e8aeb7dfa47859ac",
    "perf_self_eval_2026.2.yaml": "da605f345033dc57",
    "perf_self_eval_2026.3.yaml": "30faf439330d9339",
    "perf_self_eval_2026.4.yaml": "e52c9fbafda9a9b1",
    "project_self_eval_2026.1.yaml": "2f8923b2b52f80f3",
    "project_self_eval_2026.2.yaml": "0f3d0ae388889a7b",
}


def test_every_archived_version_is_listed():
    assert sorted(p.name for p in ARCHIVE.glob("*.yaml")) == sorted(WHEN_CURRENT)


@pytest.mark.parametrize("name", sorted(WHEN_CURRENT))
def test_an_archived_version_has_the_fingerprint_it_had_when_current(name):
    assert load_spec(ARCHIVE / name).fingerprint() == WHEN_CURRENT[name]


def test_a_workbook_of_the_last_version_is_read_by_its_own_spec(tmp_path):
    old = load_spec(ARCHIVE / "perf_self_eval_2026.4.yaml")
    path = tmp_path / "old.xlsx"
    build_template(path, old, unit_code="430600301", unit_name="岳阳市智慧城管指挥中心", year=2019,
                   names={"key_projects": ["数字城管信息采集服务项目"]})
    report = check_file(path, SpecRegistry.default())
    assert report.identity is not None and report.identity.template_version == "2026.4"
    assert "unknown-version" not in {i.code for i in report.issues}
    assert report.read_ok
