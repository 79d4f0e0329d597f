"""A bureau's own form is made known once (xlkit --forms DIR, XLKIT_FORMS), and a return xlkit cannot read says
who can fix it: another form (give its spec), or a spec edited without a new version (the bureau's to archive)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlkit.cli import main
from xlkit.errors import SpecError
from xlkit.form.forms import FORMS_ENV
from xlkit.form.load import load_spec
from xlkit.form.registry import SpecRegistry, registry_for
from xlkit.intake.check import check_file
from xlkit.write.build import build_template

MONITOR = Path(__file__).parent / "specs" / "monitor.yaml"


@pytest.fixture
def forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(FORMS_ENV, raising=False)  # restored afterwards, whatever a command set
    folder = tmp_path / "forms"
    folder.mkdir()
    shutil.copy(MONITOR, folder / "monitor.yaml")
    return folder


def test_a_return_of_an_unknown_form_says_how_to_read_it(forms, tmp_path):
    template = tmp_path / "t.xlsx"
    build_template(template, load_spec(forms / "monitor.yaml"))
    result = CliRunner().invoke(main, ["fields", str(template)])
    assert result.exit_code == 2
    assert "test-monitor" in result.output and "--spec" in result.output and "--forms" in result.output


def test_forms_option_and_environment_make_the_form_known(forms, tmp_path, monkeypatch):
    template = tmp_path / "t.xlsx"
    build_template(template, load_spec(forms / "monitor.yaml"), unit_code="P1", unit_name="项目一", year=2026)
    result = CliRunner().invoke(main, ["--forms", str(forms), "fields", str(template), "--json"])
    assert result.exit_code == 0, result.output
    assert '"funds.total.rate"' in result.output
    monkeypatch.setenv(FORMS_ENV, str(forms))
    result = CliRunner().invoke(main, ["check", str(template), "--json"])
    assert '"template": "test-monitor"' in result.output and "other-template" not in result.output
    assert registry_for().template_ids >= {"test-monitor", "perf-self-eval"}


def test_a_forms_folder_that_is_missing_or_broken_is_an_error(forms):
    with pytest.raises(SpecError, match=r"表式文件夹 .*nothing 不存在（由 --forms 或 XLKIT_FORMS 指定）"):
        SpecRegistry.default(forms=[str(forms / "nothing")])
    (forms / "broken.yaml").write_text("template: {id: x\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"表式文件夹 .* 中的表式无法加载（请修正或移走）：.*broken.yaml:\d+:\d+: 不是有效的 YAML："):
        SpecRegistry.default(forms=[str(forms)])


def test_unknown_version_blames_the_edited_spec_not_the_unit(forms, tmp_path):
    template = tmp_path / "t.xlsx"
    build_template(template, load_spec(forms / "monitor.yaml"))
    edited = forms / "monitor.yaml"
    edited.write_text(edited.read_text(encoding="utf-8").replace("min: 1, max: 10}", "min: 1, max: 12}"), encoding="utf-8")
    [issue] = check_file(template, SpecRegistry([load_spec(edited)])).issues
    assert issue.code == "unknown-version"
    assert "被修改过" in issue.message and "存档版本" in issue.message and "请使用最新下发的模板" not in issue.message
    newer = forms / "monitor.yaml"
    newer.write_text(newer.read_text(encoding="utf-8").replace('version: "2026.1"', 'version: "2026.2"'), encoding="utf-8")
    [issue] = check_file(template, SpecRegistry([load_spec(newer)])).issues
    assert issue.code == "unknown-version" and "请使用最新下发的模板" in issue.message and "被修改过" not in issue.message
