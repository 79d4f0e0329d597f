"""Trust every number: no single file can cost the batch, and the bureau's figure equals the unit's signed form.

Each test generates one class of hostile or broken input (package, XML, reference, value, identity, file
system) from a real filled workbook and names the issue code it must get; none may raise, hang or vanish.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import formulas
import openpyxl
import pytest
import tamper
from campaign import SEED_CODE, fresh_copy
from click.testing import CliRunner
from oracle import same
from tamper import Raw, Text, rezip

from xlkit.bureau.consolidate import consolidate, write_wide_csv
from xlkit.bureau.roster import load_roster
from xlkit.bureau.summary import write_summary
from xlkit.cli import main
from xlkit.intake.check import check_file
from xlkit.intake.identify import open_template_workbook
from xlkit.intake.package import OLE_MAGIC

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def copy(src: Path, folder: Path, name: str = "f.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(src, folder / name))


def codes(report) -> list[str]:
    return [i.code for i in report.issues]


def slot_of(layout, field_id: str):
    return layout.fields[field_id]


# ------------------------------------------------------------------ the malformed-file catalogue

def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def _meta(key: str, value: str):
    return lambda src, dst, layout: tamper.edit(src, dst, set_meta=(key, value))


def _cell(field_id: str, value):
    def make(src, dst, layout):
        slot = slot_of(layout, field_id)
        return tamper.edit(src, dst, set_cell=(slot.sheet, slot.address, value))
    return make


def _sheet_xml(change):
    """Change the XML of the 收支情况 sheet part."""
    def make(src, dst, layout):
        def edit(parts):
            name = tamper.sheet_part(parts, "收支情况")
            parts[name] = change(parts[name].decode()).encode()
        return rezip(src, dst, change=edit)
    return make


def _dense_sheet(src, dst, layout):
    rows = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in "ABCDEFGHIJ") + "</row>" for r in range(200, 40200))
    return _sheet_xml(lambda xml: xml.replace("</sheetData>", rows + "</sheetData>"))(src, dst, layout)


def _shared_formula_left_of_master(src, dst, layout):
    """A shared formula whose child lies left of and below its master: shifting it leaves the grid."""
    master, child = slot_of(layout, "expense.all.basic"), slot_of(layout, "expense.office.total")
    assert child.col < master.col and child.row > master.row
    path = tamper.edit(src, dst, set_cell=(master.sheet, master.address, Raw('<f t="shared" si="7" ref="A1:Z99">A1+B1</f><v>0</v>')))
    return tamper.edit(path, set_cell=(child.sheet, child.address, Raw('<f t="shared" si="7"/><v>0</v>')))


def _strict(src, dst, layout):
    def edit(parts):
        for name in parts:
            if name.endswith(".xml"):
                parts[name] = parts[name].replace(b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                                  b"http://purl.oclc.org/ooxml/spreadsheetml/main")
    return rezip(src, dst, change=edit)


def _bytes(data: bytes):
    def make(src, dst, layout):
        dst.write_bytes(data)
        return dst
    return make


def _entries(entries: dict[str, bytes]):
    return lambda src, dst, layout: _zip(dst, entries)


MALFORMED = {
    # package
    "empty": (_bytes(b""), "file-empty"),
    "html-renamed": (_bytes(b"<!DOCTYPE html><html><body>x</body></html>"), "not-a-zip"),
    "csv-renamed": (_bytes("单位,金额\n甲,1\n".encode()), "not-a-zip"),
    "random-bytes": (_bytes(bytes(range(256)) * 4), "not-a-zip"),
    "pdf": (_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), "other-format"),
    "xls-or-et": (_bytes(OLE_MAGIC + b"\x00" * 600), "legacy-binary"),
    "encrypted": (_bytes(OLE_MAGIC + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le")), "encrypted"),
    "docx": (_entries({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}), "other-format"),
    "ods": (_entries({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}), "other-format"),
    "xlsb": (_entries({"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x00"}), "xlsb-binary"),
    "zip-without-workbook": (_entries({"readme.txt": b"hello"}), "no-workbook"),
    "truncated": (lambda src, dst, layout: dst.write_bytes(src.read_bytes()[:4000]) and dst, "corrupt-zip"),
    "unsafe-entry": (lambda src, dst, layout: rezip(src, dst, extra=[("../evil.txt", b"x")]), "unsafe-entry-name"),
    "strict-open-xml": (_strict, "strict-open-xml"),
    "dense-sheet": (_dense_sheet, "part-too-large"),
    # XML
    "dtd": (lambda src, dst, layout: rezip(src, dst, change=lambda p: p.update(
        {"xl/sharedStrings.xml": b'<!DOCTYPE x [<!ENTITY e "e">]><sst xmlns="x"/>'})), "xml-dtd"),
    "unclosed-xml": (lambda src, dst, layout: rezip(src, dst, change=lambda p: p.update({"xl/workbook.xml": b"<workbook><sheets>"})),
                     "xml-malformed"),
    "garbage-row-number": (_sheet_xml(lambda xml: re.sub(r'<row r="5"', '<row r="x41"', xml, count=1)), "xml-malformed"),
    "row-beyond-grid": (_sheet_xml(lambda xml: re.sub(r'<row r="5"', '<row r="99999999"', xml, count=1)), "xml-malformed"),
    "garbage-cell-address": (_sheet_xml(lambda xml: re.sub(r'<c r="A5"', '<c r="5A"', xml, count=1)), "xml-malformed"),
    # references
    "shared-formula-off-grid": (_shared_formula_left_of_master, "formula-overwritten"),
    "name-to-nowhere": (lambda src, dst, layout: tamper.edit(src, dst, set_name=("contact.name", "#REF!")), "name-missing"),
    "name-beyond-grid": (lambda src, dst, layout: tamper.edit(src, dst, set_name=("contact.name", "'基本概况'!$B$99999999")),
                         "name-missing"),
    "name-to-a-range": (lambda src, dst, layout: tamper.edit(src, dst, set_name=("staff.actual", "'基本概况'!$A$1:$Z$99")),
                        "name-missing"),
    "formula-replaced": (_cell("expense.all.total", 999.99), "formula-overwritten"),
    # values
    "nan": (_cell("income.sub1.fiscal", Raw("<v>NaN</v>")), "invalid-number"),
    "infinity": (_cell("income.sub1.fiscal", Raw("<v>inf</v>")), "invalid-number"),
    "overflow": (_cell("income.sub1.fiscal", Raw("<v>1e999</v>")), "invalid-number"),
    "underscore-digits": (_cell("income.sub1.fiscal", Raw("<v>1_000</v>")), "invalid-number"),
    "number-as-text": (_cell("income.sub1.fiscal", Text("1,022.51")), "number-as-text"),
    "error-value-typed": (_cell("income.sub1.fiscal", Raw("<v>#N/A</v>", 't="e"')), "wrong-type"),
    "boolean-in-number": (_cell("income.sub1.fiscal", True), "wrong-type"),
    "string-index-garbage": (_cell("contact.name", Raw("<v>abc</v>", 't="s"')), "invalid-value"),  # a garbage index is no empty cell
    "string-index-beyond": (_cell("contact.name", Raw("<v>999999</v>", 't="s"')), "invalid-value"),
    # identity
    "no-metadata": (lambda src, dst, layout: tamper.edit(src, dst, delete_sheet=("_xlkit",)), "not-our-template"),
    "other-template": (lambda src, dst, layout: tamper.edit(_meta("template.id", "other-form")(src, dst, layout),
                                                             set_meta=("spec.fingerprint", "fedcba9876543210")), "other-template"),
    "id-fingerprint-mismatch": (_meta("template.id", "other-form"), "metadata-damaged"),
    "unknown-version": (_meta("spec.fingerprint", "0123456789abcdef"), "unknown-version"),
    "params-not-json": (_meta("build.params", "{not json"), "metadata-damaged"),
    "params-20000-rows": (_meta("build.params", json.dumps({"prefill": {}, "items": {"sub_units": ["x"] * 20000}})), "metadata-damaged"),
    "params-wrong-shape": (_meta("build.params", json.dumps({"prefill": {}, "items": {"sub_units": 500}})), "metadata-damaged"),
    "params-unknown-key": (_meta("build.params", json.dumps({"prefill": {"x": 1}, "items": {}})), "metadata-damaged"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_classes_get_their_code(case, seed_filled, layout, registry, tmp_path):
    make, expected = MALFORMED[case]
    path = make(seed_filled, tmp_path / "case.xlsx", layout)
    started = time.perf_counter()
    report = check_file(path, registry)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{case} took {elapsed:.1f} s"  # a bound, not a benchmark: hangs and blow-ups fail here
    if expected is None:
        assert report.status in ("ok", "warning", "error")
    else:
        assert expected in codes(report), (case, codes(report))
        issue = next(i for i in report.issues if i.code == expected)
        assert issue.severity == "error" or expected in ("sheet-renamed",), (case, issue)
    for issue in report.issues:
        assert CJK.search(issue.message), (case, issue.message)
    json.dumps(report.to_dict(), allow_nan=False)  # strict JSON whatever the file held


def test_at_least_thirty_distinct_classes():
    assert len(MALFORMED) >= 30
    assert len({expected for _make, expected in MALFORMED.values()}) >= 20


# ------------------------------------------------------------------ 1. hang: reference arithmetic is bounded

def test_shared_formula_left_of_its_master_does_not_hang(seed_filled, layout, registry, tmp_path):
    path = _shared_formula_left_of_master(seed_filled, tmp_path / "s.xlsx", layout)
    report = check_file(path, registry)
    overwritten = {i.field for i in report.issues if i.code == "formula-overwritten"}
    assert {"expense.all.basic", "expense.office.total"} <= overwritten
    child = next(i for i in report.issues if i.field == "expense.office.total" and i.code == "formula-overwritten")
    assert child.found == "=#REF!"


# ------------------------------------------------------------------ 2. non-finite numbers

@pytest.mark.parametrize(("text", "shown"), [("NaN", "非数字（NaN）"), ("inf", "无穷大"), ("-inf", "负无穷大"), ("1e999", "无穷大"),
                                             ("+Infinity", "无穷大"), ("1_000", "“1_000”（不是数字的写法）")])
def test_non_finite_number_is_an_error_on_its_cell_and_json_stays_strict(text, shown, seed_filled, layout, tmp_path):
    slot = slot_of(layout, "income.sub1.fiscal")
    path = tamper.edit(copy(seed_filled, tmp_path / "in"), set_cell=(slot.sheet, slot.address, Raw(f"<v>{text}</v>")))
    result = CliRunner().invoke(main, ["check", str(path), "--json", "--jobs", "1"])
    assert result.exit_code == 1
    data = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    [issue] = [i for i in data["files"][0]["issues"] if i["field"] == "income.sub1.fiscal"]
    assert (issue["code"], issue["cell"], issue["found"]) == ("invalid-number", slot.address, shown)  # in Excel's terms


def test_consolidate_writes_the_summary_despite_non_finite_values(returned, roster, tmp_path):
    folder = fresh_copy(returned, tmp_path)
    target = sorted(folder.glob(f"{SEED_CODE}_*.xlsx"))[0]
    layout = open_template_workbook(target).layout
    for field_id, text in (("income.sub1.fiscal", "NaN"), ("expense.sub1.personnel", "1e999")):
        slot = slot_of(layout, field_id)
        tamper.edit(target, set_cell=(slot.sheet, slot.address, Raw(f"<v>{text}</v>")))
    for include in (False, True):
        result = consolidate([folder], roster, jobs=1, include_errors=include)
        out = tmp_path / f"s{include}.xlsx"
        write_summary(result, out)
        write_wide_csv(result, tmp_path / f"w{include}.csv")
        first = result.spec.summary.sheets[0].name
        assert openpyxl.load_workbook(out)[first].max_row > 5


# ------------------------------------------------------------------ 3. file names that are not UTF-8

def test_gbk_file_names_are_shown_and_the_run_completes(seed_filled, roster, tmp_path):
    folder = tmp_path / "gbk"
    folder.mkdir()
    gbk_name = os.fsencode(folder) + b"/" + "单位报表.xlsx".encode("gbk")
    with open(gbk_name, "wb") as handle:
        handle.write(seed_filled.read_bytes())
    (folder / "readme.txt").write_text("x", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8", "TQDM_DISABLE": "1"}
    run = subprocess.run([sys.executable, "-m", "xlkit", "check", str(folder), "--json", "--jobs", "1"], capture_output=True, env=env,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 1, run.stderr.decode()  # readme.txt is not a workbook
    files = json.loads(run.stdout.decode("utf-8"))["files"]
    names = sorted(Path(f["path"]).name for f in files)
    assert names == ["readme.txt", "单位报表.xlsx"]  # GBK bytes decoded, not escaped or dropped
    result = consolidate([folder], roster, jobs=1)
    write_summary(result, tmp_path / "s.xlsx")
    assert any(f.path.endswith("单位报表.xlsx") and f.status == "accepted" for f in result.files)


# ------------------------------------------------------------------ 4. garbage attributes cost only their file

def test_garbage_attribute_fails_its_file_only(seed_filled, roster, tmp_path):
    folder = tmp_path / "many"
    good = copy(seed_filled, folder, "good.xlsx")
    MALFORMED["garbage-row-number"][0](good, folder / "bad.xlsx", open_template_workbook(good).layout)
    result = CliRunner().invoke(main, ["check", str(folder), "--json", "--jobs", "1"])
    status = {Path(f["path"]).name: (f["status"], [i["code"] for i in f["issues"]]) for f in json.loads(result.stdout)["files"]}
    assert status["good.xlsx"][0] == "ok" and status["bad.xlsx"] == ("error", ["xml-malformed"])
    consolidated = consolidate([folder], roster, jobs=1)
    bad = next(f for f in consolidated.files if f.path.endswith("bad.xlsx"))
    assert bad.status in ("rejected", "superseded") or "xml" not in bad.reason
    assert "ValueError" not in bad.reason and "invalid literal" not in bad.reason


# ------------------------------------------------------------------ 5. build parameters are bounded by the spec

@pytest.mark.parametrize("count", [41, 500, 20000])
def test_row_counts_from_the_file_are_bounded(count, seed_filled, layout, registry, tmp_path):
    params = json.dumps({"prefill": {}, "items": {"sub_units": [f"机构{i}" for i in range(count)]}}, ensure_ascii=False)
    path = tamper.edit(copy(seed_filled, tmp_path), set_meta=("build.params", params))
    started = time.perf_counter()
    report = check_file(path, registry)
    assert time.perf_counter() - started < 5
    assert codes(report) == ["metadata-damaged"]


# ------------------------------------------------------------------ 6. unbounded cost

def test_dense_sheet_is_refused_before_parsing(seed_filled, layout, registry, tmp_path):
    path = _dense_sheet(seed_filled, tmp_path / "dense.xlsx", layout)
    assert path.stat().st_size < 10 * 1024 * 1024
    started = time.perf_counter()
    report = check_file(path, registry)
    assert time.perf_counter() - started < 3
    assert codes(report) == ["part-too-large"]
    assert "收支情况" not in report.issues[0].message or "KB" in report.issues[0].message


def test_check_bounds_each_file_in_time_and_memory(seed_filled, tmp_path, monkeypatch):
    """`check` reads through the isolated readers: a file that hangs costs its timeout, not the run."""
    import xlkit.bureau.consolidate as consolidation

    real = consolidation.check_file

    def slow(path, registry):
        if Path(path).name == "hang.xlsx":
            time.sleep(60)
        return real(path, registry)

    monkeypatch.setattr(consolidation, "check_file", slow)
    folder = tmp_path / "in"
    copy(seed_filled, folder, "good.xlsx")
    copy(seed_filled, folder, "hang.xlsx")
    started = time.perf_counter()
    result = CliRunner().invoke(main, ["check", str(folder), "--json", "--timeout", "2", "--jobs", "2"])
    assert time.perf_counter() - started < 30
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["good.xlsx"]["status"] == "ok"
    [issue] = files["hang.xlsx"]["issues"]
    assert issue["code"] == "reader-crash" and "读取超时（超过 2 秒）" in issue["message"]


# ------------------------------------------------------------------ 7. no file is lost from a folder

FOREIGN = {
    "xls": OLE_MAGIC + b"\x00" * 600,
    "et": OLE_MAGIC + b"\x00" * 600,
    "csv": "单位,金额\n".encode(),
    "pdf": b"%PDF-1.4 report",
}


def _foreign_zip(kind: str, path: Path) -> None:
    entries = {"xlsb": {"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x00"},
               "ods": {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"},
               "docx": {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}}[kind]
    _zip(path, entries)


def test_every_file_in_a_folder_is_accounted_for_and_attributed(tmp_path):
    units = ["U1", "U2", "U3", "U4", "U5", "U6", "U7"]
    kinds = ["xls", "et", "xlsb", "ods", "csv", "pdf", "docx"]
    roster = tmp_path / "roster.csv"
    roster.write_text("单位编码,单位名称,主管部门\n" + "".join(f"{u},单位{u},部门\n" for u in units), encoding="utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    for unit, kind in zip(units, kinds, strict=True):
        path = folder / f"{unit}_单位{unit}.{kind}"
        if kind in FOREIGN:
            path.write_bytes(FOREIGN[kind])
        else:
            _foreign_zip(kind, path)
    result = consolidate([folder], load_roster(roster), jobs=1)
    by_code = {f.unit_code: f for f in result.files}
    assert len(result.files) == len(units)  # each file once; no unit also listed as missing
    for unit in units:
        status = by_code[unit]
        assert status.status == "rejected", (unit, status.status)
        assert "另存为 .xlsx" in status.reason, status.reason
        assert "单位按文件名识别" in status.reason
    run = CliRunner().invoke(main, ["consolidate", str(folder), "--roster", str(roster), "-o", str(tmp_path / "s.xlsx"), "--jobs", "1"])
    assert run.exit_code == 1, run.output


# ------------------------------------------------------------------ 8. the file system

def _special_entries(folder: Path, seed_filled: Path) -> dict[str, str]:
    """name -> what it is; every one must be reported as file-unreadable (but the good one)."""
    folder.mkdir()
    shutil.copy(seed_filled, folder / "good.xlsx")
    os.mkfifo(folder / "pipe.xlsx")
    os.symlink(folder / "nowhere.xlsx", folder / "dangling.xlsx")
    os.symlink(folder / "loop_b.xlsx", folder / "loop_a.xlsx")
    os.symlink(folder / "loop_a.xlsx", folder / "loop_b.xlsx")
    (folder / "sub").mkdir()
    os.symlink(folder / "sub", folder / "folder_link")
    return {"pipe.xlsx": "不是普通文件", "dangling.xlsx": "不存在", "loop_a.xlsx": "循环", "loop_b.xlsx": "循环", "folder_link": "文件夹"}


def test_special_files_in_a_folder_are_reported_not_skipped(seed_filled, tmp_path):
    folder = tmp_path / "fs"
    expected = _special_entries(folder, seed_filled)
    result = CliRunner().invoke(main, ["check", str(folder), "--json", "--jobs", "1", "--timeout", "20"])
    assert result.exit_code == 1, result.output
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["good.xlsx"]["status"] == "ok"
    for name, reason in expected.items():
        [issue] = files[name]["issues"]
        assert issue["code"] == "file-unreadable" and reason in issue["message"], (name, issue)


def test_a_symlink_loop_named_on_the_command_line(seed_filled, roster, tmp_path):
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    good = copy(seed_filled, tmp_path / "in", "good.xlsx")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "a"), str(good), "--json", "--jobs", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    files = json.loads(result.stdout)["files"]
    assert [f["issues"][0]["code"] for f in files if f["issues"]] == ["file-unreadable"]
    consolidated = consolidate([tmp_path / "a", good], roster, jobs=1)
    assert {f.status for f in consolidated.files if f.path} == {"rejected", "accepted"}


def test_an_unreadable_file_is_one_rejected_file(seed_filled, roster, tmp_path, monkeypatch):
    folder = tmp_path / "perm"
    copy(seed_filled, folder, "good.xlsx")
    locked = copy(seed_filled, folder, "locked.xlsx")
    if os.geteuid() != 0:
        locked.chmod(0)
    else:  # root reads everything: make the open fail as it would for a clerk's account
        real_open = Path.open

        def deny(self, *args, **kwargs):
            if self.name == "locked.xlsx":
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", deny)
    result = CliRunner().invoke(main, ["check", str(folder), "--json", "--jobs", "1"])
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert files["good.xlsx"]["status"] == "ok"
    [issue] = files["locked.xlsx"]["issues"]
    assert issue["code"] == "file-unreadable" and issue["message"] == "文件无法读取：没有读取权限"
    consolidated = consolidate([folder], roster, jobs=1)
    locked_status = next(f for f in consolidated.files if f.path.endswith("locked.xlsx"))
    assert locked_status.reason.startswith("文件无法读取：没有读取权限")


# ------------------------------------------------------------------ 9. Strict Open XML

def test_strict_open_xml_gets_its_own_reason(seed_filled, layout, registry, tmp_path):
    report = check_file(_strict(seed_filled, tmp_path / "strict.xlsx", layout), registry)
    assert codes(report) == ["strict-open-xml"]
    assert "Excel 工作簿(*.xlsx)" in report.issues[0].message


# ------------------------------------------------------------------ 10. a renamed sheet

def test_a_renamed_sheet_is_followed_through_its_defined_names(seed_filled, registry, tmp_path):
    path = tamper.edit(copy(seed_filled, tmp_path), rename_sheet=("收支情况", "收支表（改名）"))
    report = check_file(path, registry)
    assert codes(report) == ["sheet-renamed"]
    [issue] = report.issues
    assert (issue.severity, issue.sheet, issue.expected) == ("warning", "收支表（改名）", "收支情况")
    assert report.values["income.all.total"] == 1126.28 and report.values["expense.all.total"] == 1002.25


# ------------------------------------------------------------------ 11. every message is Chinese and specific

def test_messages_carry_no_python_words(seed_filled, layout, registry, tmp_path):
    cases = [MALFORMED[name][0](seed_filled, tmp_path / f"{name}.xlsx", layout)
             for name in ("random-bytes", "boolean-in-number", "nan", "garbage-row-number", "error-value-typed")]
    for path in cases:
        for issue in check_file(path, registry).issues:
            assert CJK.search(issue.message)
            for word in ("True", "False", "nan", "None", "binary", "Error", "timed out", "invalid literal"):
                assert word not in issue.message, (path.name, issue.message)


# ------------------------------------------------------------------ 12. --strict keeps a unit's earlier clean file

def test_strict_rejects_the_later_file_with_errors_and_keeps_the_clean_one(returned, roster, tmp_path):
    from xlkit.demo.run import _age

    folder = fresh_copy(returned, tmp_path)
    clean = sorted(folder.glob(f"{SEED_CODE}_*.xlsx"))[0]
    later = copy(clean, folder, f"{SEED_CODE}_重报.xlsx")
    slot = slot_of(open_template_workbook(later).layout, "expense.all.total")
    tamper.edit(later, set_cell=(slot.sheet, slot.address, 999.99))
    _age(clean, hours=5)
    _age(later, hours=1)
    strict = consolidate([folder], roster, strict=True, jobs=1)
    by_file = {Path(f.path).name: f for f in strict.files if f.path}
    assert by_file[clean.name].status == "accepted" and by_file[clean.name].in_totals
    assert by_file[later.name].status == "rejected" and "--strict" in by_file[later.name].reason
    assert SEED_CODE not in {f.unit_code for f in strict.files if f.status == "missing"}
    default = consolidate([folder], roster, jobs=1)
    by_file = {Path(f.path).name: f for f in default.files if f.path}
    assert by_file[later.name].status == "accepted-errors" and not by_file[later.name].in_totals
    assert by_file[later.name].label == "有错误（未计入汇总）"
    assert SEED_CODE not in set(default.frame.unit_code)
    assert SEED_CODE not in {f.unit_code for f in default.files if f.status == "missing"}
    included = consolidate([folder], roster, include_errors=True, jobs=1)
    assert SEED_CODE in set(included.frame.unit_code)


# ------------------------------------------------------------------ numbers stored as text follow the spreadsheet

def test_number_stored_as_text_is_one_error_and_totals_follow_the_spreadsheet(seed_filled, layout, registry, tmp_path):
    slot = slot_of(layout, "income.sub1.fiscal")
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(slot.sheet, slot.address, Text("1,022.51")))
    report = check_file(path, registry)
    [issue] = [i for i in report.issues if i.field == "income.sub1.fiscal"]
    assert (issue.code, issue.severity, issue.found, issue.expected) == ("number-as-text", "error", "1,022.51", 1022.51)
    assert "转换为数字" in issue.message
    # `+` converts the text, SUM over a range skips it: as Excel and LibreOffice compute the unit's own form
    assert report.values["income.sub1.total"] == 1126.28
    assert report.values["income.all.fiscal"] == 0
    assert report.values["income.all.total"] == 103.77


# The `formulas` package reads a cell's numeric-looking text as a number (Excel and LibreOffice keep it text, so
# SUM skips it): numbers stored as text are compared with LibreOffice instead (tests/interop).
TYPE_MISMATCHES = {
    "income.sub1.fiscal": "一千万",
    "expense.sub1.personnel": "两百万",
    "expense.sub1.public": True,
    "expense.sub1.project": None,
    "sangong.sub1.reception": "约三万",
    "assets.sub1.in_use": False,
    "projects.p1.spent": "待定",
    "projects.p2.budget": True,
    "score": "优",
}


def test_type_mismatched_inputs_recompute_like_the_formulas_package(seed_filled, layout, registry, tmp_path):
    path = copy(seed_filled, tmp_path)
    for field_id, value in TYPE_MISMATCHES.items():
        slot = slot_of(layout, field_id)
        tamper.edit(path, set_cell=(slot.sheet, slot.address, value))
    report = check_file(path, registry)
    flagged = {i.field for i in report.issues if i.severity == "error"}
    assert set(TYPE_MISMATCHES) - {"expense.sub1.project"} <= flagged
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    values = {}
    for key, ranges in solution.items():
        if "!" in key and ":" not in key.split("!")[1]:
            sheet = key.rsplit("!", 1)[0].split("]", 1)[1].rstrip("'")
            value = ranges.value[0][0]
            values[(sheet.upper(), key.rsplit("!", 1)[1].upper())] = value.item() if hasattr(value, "item") else value
    compared = 0
    for slot in layout.formulas():
        theirs = values[(slot.sheet.upper(), slot.address)]
        ours = report.values[slot.id]
        if isinstance(theirs, formulas.functions.XlError) or str(theirs).startswith("#"):
            assert str(ours) == str(theirs), (slot.id, ours, theirs)
        else:
            assert same(ours, theirs), (slot.id, ours, theirs)
        compared += 1
    assert compared == len(layout.formulas())


# ------------------------------------------------------------------ the bureau's totals are figures units signed

def test_units_with_errors_stay_out_of_the_totals_unless_asked(returned, roster, tmp_path):
    folder = fresh_copy(returned, tmp_path)
    overwritten = sorted(folder.iterdir())[3]
    slot = open_template_workbook(overwritten).layout.fields["expense.all.total"]
    tamper.edit(overwritten, set_cell=(slot.sheet, slot.address, 1.0))
    plain = consolidate([folder], roster, jobs=1)
    with_errors = consolidate([folder], roster, jobs=1, include_errors=True)
    erring = [f for f in plain.files if f.status == "accepted-errors"]
    assert erring and not any(f.in_totals for f in erring)
    assert {f.unit_code for f in erring} <= set(with_errors.frame.unit_code)
    assert not {f.unit_code for f in erring} & set(plain.frame.unit_code)
    out = tmp_path / "s.xlsx"
    write_summary(plain, out)
    status_rows = [[c.value for c in row] for row in openpyxl.load_workbook(out)["报送情况"].iter_rows(min_row=4)]
    assert any(r[6] == "有错误（未计入汇总）" for r in status_rows)


def test_check_text_lists_errors_first_and_all_of_them(seed_filled, layout, tmp_path):
    path = copy(seed_filled, tmp_path)
    fields = [s for s in layout.inputs() if s.type == "money" and s.id.startswith(("income.sub1", "expense.sub1", "assets.sub1"))]
    for slot in fields[:12]:
        tamper.edit(path, set_cell=(slot.sheet, slot.address, -1))  # 12 errors
    tamper.edit(path, unprotect=("收支情况",))
    result = CliRunner().invoke(main, ["check", str(path), "--jobs", "1"])
    lines = result.output.splitlines()
    issue_lines = [line for line in lines if line.startswith("    ") and not line.startswith("    ……")]
    severities = [line.split()[0] for line in issue_lines]
    assert severities.count("错误") >= 12
    assert severities == sorted(severities, key=lambda s: s != "错误")  # every error before any warning
    assert "有错误" in lines[0]


def test_an_unforeseen_failure_inside_a_file_is_that_files_error(seed_filled, registry, monkeypatch):
    from xlkit.intake.xlsx import XlsxReader

    def broken(self, sheet):
        raise KeyError(sheet)

    monkeypatch.setattr(XlsxReader, "_read_sheet", broken)
    report = check_file(seed_filled, registry)
    assert codes(report) == ["internal-error"] and not report.readable  # xlkit's fault, not the file's (tests/test_faults.py)
    assert "KeyError" not in report.issues[0].message and CJK.search(report.issues[0].message)


def test_json_never_holds_nan(seed_filled, registry):
    report = check_file(seed_filled, registry)
    report.values = {**report.values, "x": math.nan}
    json.dumps(report.to_dict(), allow_nan=False)


def test_an_overwritten_formula_is_one_issue_not_a_cascade(seed_filled, layout, registry, tmp_path):
    """The unit's spreadsheet recalculated its dependents from the typed-over total: they are not each stale."""
    from xlkit.form.compute import formula_sources

    total = slot_of(layout, "expense.all.total")
    path = tamper.edit(copy(seed_filled, tmp_path), set_cell=(total.sheet, total.address, 1.0))
    dependents = [f for f, sources in formula_sources(layout).items() if "expense.all.total" in sources]
    assert "expense.all.balance_cum" in dependents
    for field_id in dependents[:3]:  # their cached results as the unit's own form computed them
        slot = slot_of(layout, field_id)
        tamper.edit(path, set_cell=(slot.sheet, slot.address, Raw(f"<f>{slot.formula}</f><v>-1</v>")))
    unrelated = slot_of(layout, "income.all.total")
    tamper.edit(path, set_cell=(unrelated.sheet, unrelated.address, Raw(f"<f>{unrelated.formula}</f><v>-1</v>")))
    report = check_file(path, registry)
    stale = {i.field for i in report.issues if i.code == "stale-value"}
    assert stale == {"income.all.total"}
    assert [i.field for i in report.issues if i.code == "formula-overwritten"] == ["expense.all.total"]
