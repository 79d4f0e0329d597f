"""The summary's lists written aside by a forked copy (bureau/aside.Aside) against the same lists written in turn: the
same workbook, part by part; and when the copy fails, dies, takes too long or would make a style, the workbook is
written in turn, the same, with no process or file left behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from test_summary_fast import assert_same_workbooks, consolidation, consolidations, parts

import xlkit.bureau.aside as aside_module
import xlkit.bureau.summary as summary_module
from xlkit.bureau.aside import Aside, Borrowed, Step
from xlkit.bureau.summary import write_summary
from xlkit.errors import ConsolidationError

CASE = ("perf_self_eval.yaml", 11, [(f"U{k:03}", f"单位{k}", f"部门{k % 3}") for k in range(30)],
        ["accepted", "accepted-warnings", "accepted-errors"] * 10, 2)
PARENT = os.getpid()
ALONE = aside_module.alone  # the real test, before the fixture below stands in for it


@pytest.fixture(autouse=True)
def alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Earlier tests of this process may leave an idle thread (a server's) behind: the copy is what is tested here,
    so it is forked whatever else runs (the test with a thread of its own puts the real test back)."""
    monkeypatch.setattr(aside_module, "alone", lambda: True)


def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The copies forked (their pids, as this process saw them)."""
    made: list[int] = []
    fork = os.fork

    def counted() -> int:
        pid = fork()
        if pid:
            made.append(pid)
        return pid
    monkeypatch.setattr(aside_module.os, "fork", counted)
    return made


def in_the_copy(monkeypatch: pytest.MonkeyPatch, name: str, act) -> None:  # type: ignore[no-untyped-def]
    """The summary's step `name` does `act(book)` first, in the forked copy only."""
    step = getattr(summary_module, name)

    def wrapped(book, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.getpid() != PARENT:
            act(book)
        return step(book, *args, **kwargs)
    monkeypatch.setattr(summary_module, name, wrapped)


def reaped(pids: list[int]) -> bool:
    """Each copy has ended and been waited for (other tests' servers and readers may be this process's children too)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=consolidations())
def test_the_lists_written_aside_are_those_written_in_turn(tmp_path_factory, case):
    folder = tmp_path_factory.mktemp("aside")
    result = consolidation(case)
    try:
        write_summary(result, folder / "turn.xlsx", aside=False)
    except ConsolidationError:
        with pytest.raises(ConsolidationError):
            write_summary(result, folder / "aside.xlsx")
        return
    write_summary(result, folder / "aside.xlsx")
    assert_same_workbooks(folder / "aside.xlsx", folder / "turn.xlsx")


def test_the_copy_writes_the_lists_and_leaves_nothing(monkeypatch, tmp_path):
    """Not a vacuous equality: the copy is forked, writes, ends; the scratch folder goes with the workbook."""
    made = forks(monkeypatch)
    seen: list[str] = []
    monkeypatch.setattr(summary_module.tempfile, "TemporaryDirectory", _recording(seen))
    write_summary(consolidation(CASE), tmp_path / "aside.xlsx")
    assert len(made) == 1 and reaped(made)
    assert seen and not Path(seen[0]).exists()
    write_summary(consolidation(CASE), tmp_path / "turn.xlsx", aside=False)
    assert len(made) == 1
    assert_same_workbooks(tmp_path / "aside.xlsx", tmp_path / "turn.xlsx")


def _recording(seen: list[str]):  # type: ignore[no-untyped-def]
    real = summary_module.tempfile.TemporaryDirectory

    def made(*args, **kwargs):  # type: ignore[no-untyped-def]
        folder = real(*args, **kwargs)
        seen.append(folder.name)
        return folder
    return made


@pytest.mark.parametrize("trouble", ["raises", "dies", "new style", "chart"])
def test_a_copy_in_trouble_leaves_the_workbook_to_be_written_in_turn(monkeypatch, tmp_path, trouble):
    made = forks(monkeypatch)

    def act(book) -> None:  # type: ignore[no-untyped-def]
        if trouble == "raises":
            raise ConsolidationError("只在副本中出错")
        if trouble == "dies":
            os.kill(os.getpid(), signal.SIGKILL)
        if trouble == "new style":
            book.add_format({"bold": True, "font_color": "#123456"})._get_xf_index()
    if trouble == "chart":
        step = summary_module.status_sheet

        def charted(book, *args, **kwargs):  # type: ignore[no-untyped-def]
            """A chart on a list, wherever it is written: the copy cannot write it (it would be lost), here can."""
            step(book, *args, **kwargs)
            chart = book.add_chart({"type": "column"})
            chart.add_series({"values": ["报送情况", 3, 0, 5, 0]})
            book.get_worksheet_by_name("报送情况").insert_chart(0, 0, chart)
        monkeypatch.setattr(summary_module, "status_sheet", charted)
    else:
        in_the_copy(monkeypatch, "status_sheet", act)
    write_summary(consolidation(CASE), tmp_path / "turn.xlsx", aside=False)
    assert made == []
    write_summary(consolidation(CASE), tmp_path / "aside.xlsx")
    assert len(made) == 1 and reaped(made)
    assert_same_workbooks(tmp_path / "aside.xlsx", tmp_path / "turn.xlsx")


def test_a_copy_that_takes_too_long_is_stopped(monkeypatch, tmp_path):
    write_summary(consolidation(CASE), tmp_path / "turn.xlsx", aside=False)
    monkeypatch.setattr(aside_module, "WAIT", 1.0)
    made = forks(monkeypatch)
    in_the_copy(monkeypatch, "files_sheet", lambda book: time.sleep(60))
    start = time.monotonic()
    write_summary(consolidation(CASE), tmp_path / "aside.xlsx")
    assert time.monotonic() - start < 30 and reaped(made)
    assert_same_workbooks(tmp_path / "aside.xlsx", tmp_path / "turn.xlsx")


def test_an_error_here_stops_the_copy_and_reaches_the_caller(monkeypatch, tmp_path):
    made = forks(monkeypatch)

    def refused(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConsolidationError("字段表出错")
    monkeypatch.setattr(summary_module, "_fields_sheet", refused)
    with pytest.raises(ConsolidationError, match="字段表出错"):
        write_summary(consolidation(CASE), tmp_path / "aside.xlsx")
    assert len(made) == 1 and reaped(made) and not (tmp_path / "aside.xlsx").exists()


def test_no_copy_where_another_thread_runs(monkeypatch, tmp_path):
    """A server's threads may hold locks a forked copy would wait on for ever: there the lists are written in turn."""
    made = forks(monkeypatch)
    monkeypatch.setattr(aside_module, "alone", ALONE)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, args=(30,))
    thread.start()
    try:
        write_summary(consolidation(CASE), tmp_path / "turn.xlsx")
    finally:
        stop.set()
        thread.join()
    assert made == []


def test_the_copy_claims_the_costliest_steps_first(monkeypatch, tmp_path):
    """Aside itself: the copy claims the costliest steps first; this process writes the rest in order and holds a
    placeholder where the copy claimed; the workbook is the one written in turn."""
    log = tmp_path / "claims.log"
    claim = Aside._claim

    def logged(self: Aside, step: Step) -> bool:
        won = claim(self, step)
        if won:  # appended whole by either process, in the order they were won
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.write(fd, f"{os.getpid()} {self.steps.index(step)}\n".encode())
            os.close(fd)
        return won
    monkeypatch.setattr(Aside, "_claim", logged)
    def written(name: str, aside: bool) -> tuple[Path, list[str], list[str]]:
        scratch = tmp_path / f"scratch_{name}"
        scratch.mkdir()
        book = xlsxwriter.Workbook(str(tmp_path / f"{name}.xlsx"), {"constant_memory": True, "tmpdir": str(scratch)})
        bold = book.add_format({"bold": True})
        bold._get_xf_index()

        def sheet(title: str, rows: int):  # type: ignore[no-untyped-def]
            def write() -> None:
                ws = book.add_worksheet(title)
                for r in range(rows):
                    ws.write_number(r, 0, r * 1.5, bold)
                    ws.write_string(r, 1, f"{title}{r}")
                ws.print_area(0, 0, rows, 1)
                ws.autofilter(0, 0, rows, 1)
            return write

        def first() -> None:  # here, until the copy has claimed the two costliest (C and D: aside steps 1 and 2)
            deadline = time.monotonic() + 30
            while aside and not ((scratch / "claim1").exists() and (scratch / "claim2").exists()) and time.monotonic() < deadline:
                time.sleep(0.01)
            book.add_worksheet("first").write_string(0, 0, "这里")
        steps = [Step(first), Step(sheet("A", 50), ("A",), 1.0), Step(sheet("C", 400), ("C",), 5.0), Step(sheet("D", 300), ("D",), 4.0),
                 Step(sheet("B", 50), ("B",), 1.0)]
        with Aside(book, steps, aside, scratch) as lists:
            for step in steps:
                lists.write(step)
            lists.collect()
        borrowed = [ws.name for ws in book.worksheets() if isinstance(ws, Borrowed)]
        book.close()
        lines = log.read_text().split("\n")[:-1] if log.exists() else []
        log.unlink(missing_ok=True)
        return tmp_path / f"{name}.xlsx", borrowed, [int(index) for pid, index in map(str.split, lines) if int(pid) != PARENT]

    made = forks(monkeypatch)
    turn, none, unclaimed = written("turn", False)
    aside, borrowed, copys = written("aside", True)
    assert none == [] and unclaimed == [] and len(made) == 1 and reaped(made)
    assert copys[:2] == [1, 2] and sorted(borrowed) == sorted("ACDB"[k] for k in copys)  # C, then D; placeholders where it won
    assert parts(aside) == parts(turn)
