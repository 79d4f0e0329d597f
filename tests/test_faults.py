"""Faults that are not the unit's: an xlkit bug while checking or placing a file, and a broken spec beside the
built-in form. Each is said as such, and the batch goes on."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlkit.form.registry as registry_module
import xlkit.intake.check as check_module
from xlkit.cli import main
from xlkit.errors import SpecError
from xlkit.form.load import builtin_spec_path
from xlkit.form.registry import SpecRegistry
from xlkit.intake.catalogue import CATALOGUE
from xlkit.intake.check import check_file


@pytest.fixture
def broken_beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the templates folder with one spec beside the built-in form that does not load."""
    folder = tmp_path / "templates"
    shutil.copytree(builtin_spec_path().parent, folder)
    (folder / "broken_form.yaml").write_text("template: {id: broken\n  version: [", encoding="utf-8")
    monkeypatch.setattr(registry_module, "builtin_spec_path", lambda: folder / builtin_spec_path().name)
    registry_module._registry.cache_clear()
    yield folder / "broken_form.yaml"
    registry_module._registry.cache_clear()


def test_a_spec_beside_the_builtin_one_that_fails_to_load_is_an_error(broken_beside: Path) -> None:
    with pytest.raises(SpecError) as caught:
        SpecRegistry.default()
    assert str(broken_beside) in str(caught.value)
    assert "内置表式旁的表式无法加载（请修正或移走）：" in str(caught.value)


def test_a_broken_spec_beside_the_builtin_one_is_exit_2_in_the_cli(broken_beside: Path, seed_filled: Path) -> None:
    result = CliRunner().invoke(main, ["check", str(seed_filled), "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert "broken_form.yaml" in result.output
    assert "unknown-version" not in result.output


def test_the_templates_folder_as_shipped_loads() -> None:
    assert len(SpecRegistry.default().specs) >= 2  # the guard above raises on nothing that loads today


def _boom(*_args: object, **_kwargs: object) -> None:
    raise KeyError("a bug of ours")


def test_an_exception_inside_the_check_is_an_internal_error_logged_not_the_units_fault(
        seed_filled: Path, registry: SpecRegistry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(check_module._Checker, "check_rules", _boom)
    with caplog.at_level(logging.ERROR, logger="xlkit.intake.check"):
        report = check_file(seed_filled, registry)
    [issue] = report.issues
    assert (issue.code, issue.severity, report.status, report.readable) == ("internal-error", "error", "error", False)
    assert "不是报送单位的问题" in issue.message and "xlkit" in issue.message
    assert "KeyError" not in issue.message and "重新保存" not in issue.message
    [record] = caplog.records
    assert record.exc_info is not None and "a bug of ours" in caplog.text  # the traceback, for the maintainers
    assert CATALOGUE["internal-error"].severity == "error"


def test_an_exception_in_placement_is_an_internal_error_and_a_refused_layout_stays_metadata_damaged(
        seed_filled: Path, registry: SpecRegistry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(check_module, "build_layout", _boom)
    with caplog.at_level(logging.ERROR, logger="xlkit.intake.check"):
        report = check_file(seed_filled, registry)
    assert [i.code for i in report.issues] == ["internal-error"] and not report.readable
    assert "展开表格布局" in report.issues[0].message and caplog.records

    def refused(*_args: object) -> None:
        raise SpecError("row is wider than the sheet")

    monkeypatch.setattr(check_module, "build_layout", refused)
    report = check_file(seed_filled, registry)
    assert [i.code for i in report.issues] == ["metadata-damaged"]
    assert "SpecError" not in report.issues[0].message


def test_an_internal_error_in_one_file_leaves_the_batch_going(seed_filled: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """In the reader pool (forked after the patch): the faulty file fails alone, the others are read."""
    from xlkit.bureau.consolidate import read_all

    real = check_module._Checker.check_rules

    def faulty(self: check_module._Checker, results: dict) -> None:
        if "bad" in self.report.path:
            raise ZeroDivisionError
        real(self, results)

    monkeypatch.setattr(check_module._Checker, "check_rules", faulty)
    paths = [shutil.copy(seed_filled, tmp_path / name) for name in ("a.xlsx", "bad.xlsx", "c.xlsx")]
    reports = read_all([Path(p) for p in paths], jobs=1, timeout=60, memory_mb=2048)
    assert [[i.code for i in r.issues] for r in reports] == [[], ["internal-error"], []]


def test_genuine_damage_below_our_checks_stays_content_damaged(seed_filled: Path, registry: SpecRegistry,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A part that cannot be decoded is the file's fault: content-damaged (re-save), not internal-error."""
    import zlib

    from xlkit.intake.xlsx import XlsxReader

    def undecodable(self: XlsxReader, sheet: str) -> None:
        raise zlib.error("invalid stored block lengths")

    monkeypatch.setattr(XlsxReader, "_read_sheet", undecodable)
    report = check_file(seed_filled, registry)
    assert [i.code for i in report.issues] == ["content-damaged"] and "重新保存" in report.issues[0].message
    assert "zlib" not in report.issues[0].message
