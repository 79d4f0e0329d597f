"""Files that cannot be read get one specific per-file error; hostile packages are refused before parsing."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from tamper import rezip

from xlkit.cli import main
from xlkit.intake.check import check_file
from xlkit.intake.package import OLE_MAGIC


def only_code(report) -> str:
    assert len(report.issues) == 1, [i.code for i in report.issues]
    assert report.status == "error"
    return report.issues[0].code


def test_empty_file(tmp_path, registry):
    path = tmp_path / "e.xlsx"
    path.write_bytes(b"")
    assert only_code(check_file(path, registry)) == "file-empty"


def test_html_renamed(tmp_path, registry):
    path = tmp_path / "h.xlsx"
    path.write_text("<!DOCTYPE html><html><body>导出失败</body></html>", encoding="utf-8")
    report = check_file(path, registry)
    assert only_code(report) == "not-a-zip"
    assert "网页（HTML）" in report.issues[0].message


def test_text_renamed(tmp_path, registry):
    path = tmp_path / "t.xlsx"
    path.write_text("单位,金额\n甲,1\n", encoding="utf-8")
    assert only_code(check_file(path, registry)) == "not-a-zip"


def test_old_xls_or_wps_et_renamed(tmp_path, registry):
    path = tmp_path / "old.xlsx"
    path.write_bytes(OLE_MAGIC + b"\x00" * 500 + "Workbook".encode("utf-16-le") + b"\x00" * 100)
    assert only_code(check_file(path, registry)) == "legacy-binary"


def test_password_encrypted_workbook(tmp_path, registry):
    path = tmp_path / "enc.xlsx"
    path.write_bytes(OLE_MAGIC + b"\x00" * 500 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 20
                     + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 100)
    report = check_file(path, registry)
    assert only_code(report) == "encrypted"
    assert "密码" in report.issues[0].message


def test_truncated_zip(tmp_path, registry, seed_filled):
    data = seed_filled.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert only_code(check_file(path, registry)) == "corrupt-zip"


def test_zip_without_workbook(tmp_path, registry):
    path = tmp_path / "z.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    assert only_code(check_file(path, registry)) == "no-workbook"


def test_xlsb_renamed(tmp_path, registry):
    path = tmp_path / "b.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x00\x01")
    assert only_code(check_file(path, registry)) == "xlsb-binary"


def test_office_lock_file(tmp_path, registry, seed_filled):
    path = tmp_path / "~$f.xlsx"
    path.write_bytes(b"\x06user  " + b"\x00" * 150)
    assert only_code(check_file(path, registry)) == "lock-file"


def test_xlsm_is_read_with_a_warning(tmp_path, registry, seed_filled):
    path = rezip(seed_filled, tmp_path / "m.xlsm", extra=[("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")])
    report = check_file(path, registry)
    assert [i.code for i in report.issues] == ["macro-enabled"]
    assert report.status == "warning"
    assert report.values["income.all.total"] == 1126.28


def test_not_our_workbook(tmp_path, registry):
    import openpyxl

    path = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(path)
    assert only_code(check_file(path, registry)) == "not-our-template"


def test_missing_file_is_reported_not_raised(tmp_path, registry):
    assert only_code(check_file(tmp_path / "nope.xlsx", registry)) == "file-unreadable"


def test_zip_bomb_by_ratio_is_refused_before_parsing(tmp_path, registry, seed_filled):
    path = rezip(seed_filled, tmp_path / "bomb.xlsx", change=lambda p: p.update({"xl/sharedStrings.xml": b" " * (30 * 1024 * 1024)}))
    assert only_code(check_file(path, registry)) == "zip-bomb"


def test_zip_bomb_by_declared_size(tmp_path, registry, seed_filled):
    buffer = io.BytesIO(seed_filled.read_bytes())
    with zipfile.ZipFile(buffer) as z:
        info = z.getinfo("xl/sharedStrings.xml")
    data = bytearray(buffer.getvalue())
    # patch the central directory's uncompressed size of one entry to 2 GB
    name = b"xl/sharedStrings.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))
    data[at + 24:at + 28] = (2 * 1024 ** 3).to_bytes(4, "little")
    path = tmp_path / "declared.xlsx"
    path.write_bytes(bytes(data))
    assert info.file_size < 1024 ** 2
    assert only_code(check_file(path, registry)) == "zip-bomb"


def test_thousands_of_entries(tmp_path, registry, seed_filled):
    path = rezip(seed_filled, tmp_path / "many.xlsx", extra=[(f"xl/media/x{i}.bin", b"") for i in range(1200)])
    assert only_code(check_file(path, registry)) == "too-many-entries"


@pytest.mark.parametrize("name", ["xl/workbook.xml", "XL/Workbook.xml"])
def test_duplicate_and_case_colliding_entries(tmp_path, registry, seed_filled, name):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we are making
        path = rezip(seed_filled, tmp_path / "dup.xlsx", extra=[(name, b"<workbook/>")])
    assert only_code(check_file(path, registry)) == "duplicate-entry"


def test_entry_name_with_dot_dot(tmp_path, registry, seed_filled):
    path = rezip(seed_filled, tmp_path / "dots.xlsx", extra=[("xl/../../evil.txt", b"x")])
    assert only_code(check_file(path, registry)) == "unsafe-entry-name"


def test_billion_laughs_is_refused(tmp_path, registry, seed_filled):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
              b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol2;</t></si></sst>')
    path = rezip(seed_filled, tmp_path / "lol.xlsx", change=lambda p: p.update({"xl/sharedStrings.xml": laughs}))
    assert only_code(check_file(path, registry)) == "xml-dtd"


def test_xxe_is_refused(tmp_path, registry, seed_filled):
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&e;</workbook>')
    path = rezip(seed_filled, tmp_path / "xxe.xlsx", change=lambda p: p.update({"xl/workbook.xml": xxe}))
    assert only_code(check_file(path, registry)) == "xml-dtd"


def test_hostile_dimension_is_ignored(tmp_path, registry, seed_filled):
    """A1:XFD1048576 declared, and a cell really at XFD1048576: only the template's cells are read."""
    import re

    def change(parts):
        for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
            xml = parts[name].decode()
            xml = re.sub(r'<dimension ref="[^"]+"/>', '<dimension ref="A1:XFD1048576"/>', xml)
            xml = xml.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
            parts[name] = xml.encode()

    path = rezip(seed_filled, tmp_path / "dim.xlsx", change=change)
    report = check_file(path, registry)
    assert report.issues == []
    assert report.values["expense.all.total"] == 1002.25


def test_wps_style_too_small_dimension(tmp_path, registry, seed_filled):
    import re

    def change(parts):
        for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
            parts[name] = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:A1"/>', parts[name])

    report = check_file(rezip(seed_filled, tmp_path / "wps.xlsx", change=change), registry)
    assert report.issues == []
    assert report.values["projects.total.budget"] == 842.03


def test_every_file_appears_once_and_the_run_goes_on(tmp_path, seed_filled):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(seed_filled, folder / "good.xlsx")
    (folder / "empty.xlsx").write_bytes(b"")
    (folder / "page.xlsx").write_text("<html></html>", encoding="utf-8")
    (folder / "notes.txt").write_text("not a workbook name", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(folder), str(folder / "good.xlsx"), "--json"])
    assert result.exit_code == 1
    import json

    files = json.loads(result.stdout)["files"]
    assert sorted(Path(f["path"]).name for f in files) == ["empty.xlsx", "good.xlsx", "notes.txt", "page.xlsx"]
    status = {Path(f["path"]).name: f["status"] for f in files}
    assert status == {"empty.xlsx": "error", "good.xlsx": "ok", "notes.txt": "error", "page.xlsx": "error"}


def test_file_too_large(tmp_path, registry):
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: no 51 MB written
    assert only_code(check_file(path, registry)) == "file-too-large"


def test_malformed_xml(tmp_path, registry, seed_filled):
    path = rezip(seed_filled, tmp_path / "bad.xlsx", change=lambda p: p.update({"xl/sharedStrings.xml": b"<sst><si><t>unclosed</sst>"}))
    assert only_code(check_file(path, registry)) == "xml-malformed"


def test_damaged_metadata(tmp_path, registry, seed_filled):
    import tamper

    path = tamper.edit(seed_filled, tmp_path / "meta.xlsx", set_meta=("build.params", "{not json"))
    assert only_code(check_file(path, registry)) == "metadata-damaged"


def test_every_issue_type_has_a_test():
    from xlkit.intake.catalogue import CATALOGUE

    tests = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.rglob("test_*.py"))
    untested = [code for code in CATALOGUE if code != "check-failed" and f'"{code}"' not in tests]
    assert untested == []
