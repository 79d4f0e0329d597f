"""The summary's fast path (bureau/fastrows.FastRows: rows written as rows) against the plain path (every cell through
xlsxwriter): random consolidations written both ways give the same workbook, part by part (creation times aside)."""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlkit.bureau.consolidate import Consolidation, FileStatus
from xlkit.bureau.fastrows import FastRows, PlainRows
from xlkit.bureau.sheets import Formats, lines
from xlkit.bureau.summary import write_summary
from xlkit.form.load import builtin_spec_path, load_spec
from xlkit.form.placement import build_layout
from xlkit.intake.report import Issue
from xlkit.write.textfit import count_lines, lines_needed, wrap

TIMES = re.compile(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>")
STAMP = re.compile("生成时间 [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}".encode())  # the minute each was written
FORMS = ["perf_self_eval.yaml", "project_self_eval.yaml", "project_target.yaml"]
SPECIAL = "&<>\"'_x0041_ \n\t\x01\x1f\ufffe"
# texts as units write them, and as they should not: XML's and Excel's escapes, white space at the ends, line breaks,
# control characters, a text past xlsxwriter's fast-path length, a leading = (never a formula)
TEXTS = st.one_of(
    st.text(alphabet="岳阳市单位中心局所（）AZaz09 " + SPECIAL, min_size=0, max_size=24),
    st.sampled_from(["=SUM(A1)", " 前后有空格 ", "第一行\n第二行", "_x0041_", "A&B<C>D", "岳阳市" * 30, "长" * 17_000, "<r>x</r>"]))


@st.composite
def consolidations(draw: st.DrawFn) -> tuple[str, int, list[tuple[str, str, str]], list[str], int]:
    """A form, a seed for the figures, the units' (code, name, department), each unit's state, and how many units sent
    nothing."""
    form = draw(st.sampled_from(FORMS))
    count = draw(st.integers(1, 9))
    departments = draw(st.lists(TEXTS.filter(lambda s: s.strip() != ""), min_size=1, max_size=3))
    units = [(f"U{k:03}", draw(TEXTS), draw(st.sampled_from(departments))) for k in range(count)]
    states = [draw(st.sampled_from(["accepted", "accepted", "accepted-warnings", "accepted-errors"])) for _ in units]
    return form, draw(st.integers(0, 2**32)), units, states, draw(st.integers(0, 2))


def figure(rnd: random.Random, slot_type: str, grades: list[str]) -> object:
    """A field's value: mostly a number of its kind, sometimes blank, text or an odd number."""
    roll = rnd.random()
    if slot_type == "grade":
        return rnd.choice([*grades, None, "待定"]) if grades else None
    if slot_type in ("text", "longtext", "name", "kind", "method", "role", "criteria", "direction", "period", "result"):
        return None if roll < 0.2 else rnd.choice(["完成", "岳阳市城管局", "a&b<c>", " 空格 ", "第一\n第二", "_x0041_", "目标" * rnd.randint(1, 40)])
    if roll < 0.15:
        return None
    if roll < 0.2:
        return rnd.choice(["无", "-", "0"])  # text where a number belongs
    if roll < 0.25:
        return rnd.choice([0.0, -0.0, 1e-9, 123456789.125, -3.0, 7])
    return round(rnd.uniform(-100, 100_000), rnd.choice([0, 2, 4]))


def consolidation(case: tuple[str, int, list[tuple[str, str, str]], list[str], int]) -> Consolidation:
    form, seed, units, states, missing = case
    spec = load_spec(builtin_spec_path().parent / form)
    rnd = random.Random(seed)
    grades = [band.label for band in spec.grades]
    slots = build_layout(spec).fields.values()
    files = []
    for (code, name, department), state in zip(units, states, strict=True):
        issues = [Issue("rule", "error" if state == "accepted-errors" else "warning", "income.all.total", "收入", "C5", 1.5, rnd.choice([2, "x&y"]),
                      rnd.choice(["收入合计应等于各项之和", "说明 <空>", "A\nB"]), "收入合计")] if state != "accepted" else []
        files.append(FileStatus(f"/in/{code}.xlsx", state, "", code, name, department, "2019", f"2026-01-0{1 + len(files) % 9}T08:00:00Z",  # type: ignore[arg-type]
                                issues=issues, in_totals=state != "accepted-errors", form=spec.template.id))
    files += [FileStatus("", "missing", "未收到文件", f"M{k}", f"未报{k}", units[0][2], "2019") for k in range(missing)]
    included = [f for f in files if f.in_totals]
    data: dict[str, list[object]] = {"unit_code": [f.unit_code for f in included], "unit_name": [f.unit_name for f in included],
                                     "department": [f.department for f in included], "status": [f.status for f in included],
                                     "file": [f.path for f in included]}
    for slot in slots:
        data[slot.id] = [figure(rnd, slot.type, grades) for _ in included]
    frame = pd.DataFrame(data, columns=list(data))
    previous = {f.unit_code: {p.field: figure(rnd, "money", grades) for p in spec.previous.figures} for f in included if rnd.random() < 0.7}
    return Consolidation(spec, "2019", files, frame, previous=previous, fields=[s.id for s in slots])


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: STAMP.sub(b"", TIMES.sub(b"", archive.read(name))) for name in archive.namelist()}


def assert_same_workbooks(fast: Path, plain: Path) -> None:
    a, b = parts(fast), parts(plain)
    assert list(a) == list(b)
    for name in a:
        assert a[name] == b[name], name


def written_fast(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each row the fast path was given went out as a row (else the plain path wrote it)."""
    outcomes: list[bool] = []
    write = FastRows._write

    def spy(self: FastRows, *args: object) -> bool:
        outcomes.append(write(self, *args))  # type: ignore[arg-type]
        return outcomes[-1]
    monkeypatch.setattr(FastRows, "_write", spy)
    return outcomes


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=consolidations())
def test_the_fast_summary_is_the_one_the_plain_path_writes(tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("summary")
    result = consolidation(case)
    try:
        write_summary(result, folder / "plain.xlsx", fast=False)
    except Exception as error:  # whatever the plain path refuses, the fast path refuses the same way
        with pytest.raises(type(error)):
            write_summary(result, folder / "fast.xlsx")
        return
    write_summary(result, folder / "fast.xlsx")
    assert_same_workbooks(folder / "fast.xlsx", folder / "plain.xlsx")


def test_rows_go_out_as_rows_and_odd_ones_the_plain_way(monkeypatch, tmp_path):
    """Not a vacuous equality: most rows of a summary take the fast path; a row with a text needing an escape, a
    line break or a long text takes the plain one; and both still write the same workbook."""
    case = ("perf_self_eval.yaml", 7, [(f"U{k:03}", f"单位{k}", f"部门{k % 3}") for k in range(40)], ["accepted"] * 40, 1)
    outcomes = written_fast(monkeypatch)
    write_summary(consolidation(case), tmp_path / "fast.xlsx")
    assert len(outcomes) > 200 and sum(outcomes) > 0.5 * len(outcomes)
    write_summary(consolidation(case), tmp_path / "plain.xlsx", fast=False)
    assert_same_workbooks(tmp_path / "fast.xlsx", tmp_path / "plain.xlsx")
    outcomes.clear()
    book = xlsxwriter.Workbook(str(tmp_path / "rows.xlsx"), {"constant_memory": True})
    ws = book.add_worksheet()
    text = Formats(book, consolidation(case).spec)["text"]
    with FastRows(ws) as rows:
        for k, value in enumerate(["普通", "a&b", "第一\n第二", " 空格", "长" * 17_000, "_x0041_", "普通", None, 1.5, "末行"]):
            rows.row(k, [value], [text], None if k % 2 else 30.0)
    book.close()
    assert outcomes == [True, False, False, False, False, False, True, True, True]  # the last row of a run: the plain path's


def test_the_plain_path_is_what_the_summary_wrote_before(tmp_path):
    """A workbook built in memory has no fast path: every row goes through xlsxwriter."""
    book = xlsxwriter.Workbook(str(tmp_path / "m.xlsx"))
    assert type(Formats(book, load_spec()).rows(book.add_worksheet())) is PlainRows
    book.close()


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="岳阳市单位（）()《》ab Z09 _-\n、，。" + "\u3000\u00e9", max_size=40),
       width=st.sampled_from([2.0, 4.0, 6.0, 9.5, 10.0, 12.0, 15.0, 16.0, 24.0, 28.0, 37.0]))
def test_lines_are_textfits_lines(text, width):
    """A row's height counts lines without wrapping a text that fits on one: always as many as wrapping finds."""
    assert lines(text, width) == lines_needed(text, width, 10)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet="岳阳市单位（）()《》“”【】ab Z09 _-\n、，。" + "\u3000\u00e9", max_size=60),
       width=st.sampled_from([2.0, 4.0, 6.0, 9.5, 10.0, 12.0, 15.0, 16.0, 24.0, 28.0, 37.0]), size=st.sampled_from([9, 10, 11, 14]))
def test_counted_lines_are_the_lines_wrap_breaks(text, width, size):
    """The fast count (`count_lines`) finds the breaks `wrap` makes: brackets kept whole, long tokens cut, newlines."""
    assert count_lines(text, width, size) == len(wrap(text, width, size))


def two_sheets(path: Path, writer: type[PlainRows], eager: bool = False) -> None:
    """A run whose last row has a style first used there, then a second sheet with a new style of its own."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    first, second = book.add_worksheet("甲"), book.add_worksheet("乙")
    plain, bold, italic = book.add_format({"border": 1}), book.add_format({"bold": True}), book.add_format({"italic": True})
    rows = writer(first)
    rows.row(0, [1.0], [plain])
    rows.row(1, ["末行"], [bold])
    if eager and isinstance(rows, FastRows):
        assert rows.held is not None and rows._write(*rows.held)  # what writing the last row at once would do
        rows.held = None
    rows.close()
    second.write_string(0, 0, "乙表", italic)
    second.write_string(1, 0, "乙表第二行")  # row 0 goes out now, its style numbered before the first sheet's last row's
    book.close()


def test_the_last_row_of_a_run_is_numbered_when_xlsxwriter_would(tmp_path):
    """xlsxwriter writes a sheet's last row when the workbook closes, so a style first used there is numbered after the
    later sheets' styles: the fast path leaves that row to it, and writing it at once would give another workbook."""
    two_sheets(tmp_path / "plain.xlsx", PlainRows)
    two_sheets(tmp_path / "fast.xlsx", FastRows)
    assert_same_workbooks(tmp_path / "fast.xlsx", tmp_path / "plain.xlsx")
    two_sheets(tmp_path / "eager.xlsx", FastRows, eager=True)
    assert parts(tmp_path / "eager.xlsx")["xl/styles.xml"] != parts(tmp_path / "plain.xlsx")["xl/styles.xml"]


def test_an_xlsxwriter_without_the_internals_gets_the_plain_path(monkeypatch, tmp_path):
    from xlsxwriter.worksheet import Worksheet

    from xlkit.bureau.fastrows import row_writer

    book = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True})
    ws = book.add_worksheet()
    assert type(row_writer(ws, True)) is FastRows and type(row_writer(ws, False)) is PlainRows
    monkeypatch.delattr(Worksheet, "_write_single_row")
    assert type(row_writer(ws, True)) is PlainRows
    monkeypatch.undo()
    book.close()


def test_the_fast_summary_is_stored_at_zlibs_fastest_level(tmp_path):
    """The same parts, compressed faster (so less): the fast path's zip is larger; xlsxwriter's own name for its zip
    file is given back after the store, and a later xlsxwriter that opens its zip another way gets the plain one."""
    import xlsxwriter.workbook

    from xlkit.bureau.fastrows import QuickZipWorkbook, summary_workbook

    case = ("perf_self_eval.yaml", 3, [(f"U{k:03}", f"单位{k}", f"部门{k % 3}") for k in range(60)], ["accepted"] * 60, 0)
    write_summary(consolidation(case), tmp_path / "fast.xlsx")
    write_summary(consolidation(case), tmp_path / "plain.xlsx", fast=False)
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    assert_same_workbooks(tmp_path / "fast.xlsx", tmp_path / "plain.xlsx")
    sizes = {name: sum(i.compress_size for i in zipfile.ZipFile(tmp_path / name).infolist()) for name in ("fast.xlsx", "plain.xlsx")}
    assert sizes["fast.xlsx"] > sizes["plain.xlsx"] * 1.05
    assert type(summary_workbook(str(tmp_path / "a.xlsx"), {}, True)) is QuickZipWorkbook
    assert type(summary_workbook(str(tmp_path / "b.xlsx"), {}, False)) is xlsxwriter.Workbook
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsxwriter.workbook, "ZipFile", type("Other", (zipfile.ZipFile,), {}))
        assert type(summary_workbook(str(tmp_path / "c.xlsx"), {}, True)) is xlsxwriter.Workbook
