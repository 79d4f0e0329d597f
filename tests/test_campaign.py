"""The campaign ledger: receipts, decisions, statuses, the archive, the cache, explanations and last year's figures."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from campaign import copy_campaign, make_campaign
from click.testing import CliRunner

from xlkit.campaign.account import consolidate_campaign
from xlkit.campaign.actions import accept_unit, history, return_unit
from xlkit.campaign.integrity import copy_out, verify
from xlkit.campaign.ledger import SCHEMA_VERSION, Ledger
from xlkit.campaign.receive import receive
from xlkit.campaign.setup import DISTRIBUTED, init_campaign
from xlkit.campaign.state import unit_states
from xlkit.cli import main
from xlkit.demo.run import _age
from xlkit.demo.sample_data import generate_unit_data
from xlkit.errors import CampaignError
from xlkit.intake.identify import open_template_workbook
from xlkit.write.fill import fill_workbook

ROSTER = """单位编码,单位名称,主管部门,联系人,联系电话
U1,甲单位,一局,张一,0730-1
U2,乙单位,一局,张二,0730-2
U3,丙单位,二局,张三,0730-3
U4,丁单位,二局,张四,0730-4
"""
XLKIT = [sys.executable, "-m", "xlkit"]


def status_by_code(folder: Path) -> dict[str, str]:
    with Ledger(folder) as ledger:
        return {s.code: s.status for s in unit_states(ledger)}


def receipts_count(folder: Path) -> int:
    with Ledger(folder) as ledger:
        return len(ledger.receipts())


@pytest.fixture(scope="module")
def base(tmp_path_factory, spec, backend) -> Path:
    """A 2019 campaign of four units, and each unit's filled workbook (good) in `filled/`: made once, copied per test
    (on each backend)."""
    root = tmp_path_factory.mktemp("campaign_base")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    make_campaign(root / "c", root / "roster.csv", 2019, backend, deadline="2020-03-31")
    filled = root / "filled"
    filled.mkdir()
    for path in sorted((root / "c" / DISTRIBUTED).glob("*.xlsx")):
        layout = open_template_workbook(path, spec).layout
        fill_workbook(path, generate_unit_data(layout, path.name[:2]), filled / path.name, spec)
    return root


@pytest.fixture
def camp(base, tmp_path) -> tuple[Path, dict[str, Path]]:
    """A fresh copy of the campaign and the good files by unit code."""
    copy_campaign(base, tmp_path / "b")
    files = {p.name[:2]: p for p in sorted((tmp_path / "b" / "filled").glob("*.xlsx"))}
    return tmp_path / "b" / "c", files


def variant(source: Path, target: Path, spec, **values) -> Path:
    """A unit's file with some inputs changed (None: left blank), as the unit would save it."""
    template = source.parent.parent / "c" / DISTRIBUTED / source.name  # filled/ sits beside the campaign c/
    layout = open_template_workbook(template, spec).layout
    data = {k: v for k, v in {**generate_unit_data(layout, source.name[:2]), **values}.items() if v is not None}
    fill_workbook(template, data, target, spec)
    return target


def test_init_distributes_and_never_replaces_a_ledger(camp, base):
    folder, _files = camp
    assert len(list((folder / DISTRIBUTED).glob("*.xlsx"))) == 4 and (folder / DISTRIBUTED / "manifest.csv").exists()
    assert set(status_by_code(folder).values()) == {"not-sent"}
    if (folder / "ledger.sqlite").exists():
        with sqlite3.connect(folder / "ledger.sqlite") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    else:
        assert (folder / "ledger.json").exists() and not list(folder.glob("ledger.sqlite*"))
    with Ledger(folder) as ledger:
        assert ledger.meta("schema") == str(SCHEMA_VERSION) and ledger.meta("year") == "2019" and ledger.meta("deadline") == "2020-03-31"
    with pytest.raises(CampaignError, match="已经是一个报送任务"):
        init_campaign(folder, base / "roster.csv", 2019)
    with pytest.raises(CampaignError, match="不是报送任务目录"):
        Ledger(folder.parent / "filled")


def test_every_status_and_what_moves_a_unit(camp, spec, tmp_path):
    folder, files = camp
    warned = variant(files["U2"], tmp_path / "U2_warned.xlsx", spec, **{"staff.actual": 500})
    broken = variant(files["U3"], tmp_path / "U3_broken.xlsx", spec, score=None)  # a required field left blank: an error
    results = receive(folder, [files["U1"], warned, broken], note="邮件", by="收件员")
    assert [r.status for r in results] == ["received", "received-warnings", "failed"]
    assert status_by_code(folder) == {"U1": "received", "U2": "received-warnings", "U3": "failed", "U4": "not-sent"}

    decision = return_unit(folder, "U3", "自评得分未填写", by="审核员")
    assert decision.unit.status == "returned" and decision.letter is not None and decision.letter.exists()
    letter = openpyxl.load_workbook(decision.letter)["审核意见"]
    text = " ".join(str(c.value) for row in letter.iter_rows() for c in row if c.value)
    assert "自评得分未填写" in text and "丙单位" in text
    with pytest.raises(CampaignError, match="已退回"):
        accept_unit(folder, "U3")
    receive(folder, [files["U3"]])
    assert status_by_code(folder)["U3"] == "resubmitted"
    assert accept_unit(folder, "U3", by="审核员").unit.status == "confirmed"
    receive(folder, [Path(shutil.copy(files["U3"], tmp_path / "U3_again.xlsx"))])  # a new file after the decision reopens the unit
    assert status_by_code(folder)["U3"] == "resubmitted"

    with pytest.raises(CampaignError, match="没有填写说明"):
        accept_unit(folder, "U2", require_explanations=True)
    explained = variant(files["U2"], tmp_path / "U2_explained.xlsx", spec, **{"staff.actual": 500, "check.staff.note": "含借调人员"})
    receive(folder, [explained])
    assert accept_unit(folder, "U2", require_explanations=True).unit.status == "confirmed"
    receive(folder, [broken])
    with pytest.raises(CampaignError, match=r"有 \d+ 个错误，不能确认"):
        accept_unit(folder, "U3")
    with pytest.raises(CampaignError, match="还没有报送文件"):
        return_unit(folder, "U4", "x")
    with pytest.raises(CampaignError, match="没有单位"):
        accept_unit(folder, "U9")

    state, lines = history(folder, "U3")
    assert state.status == "failed" and len(lines) == 6
    assert "退回（审核员）：自评得分未填写" in lines[1] and lines[3].split("  ")[1].startswith("确认（审核员）")


def test_a_later_receipt_counts_even_when_saved_earlier(camp, spec, tmp_path):
    folder, files = camp
    receive(folder, [files["U1"]])
    older = variant(files["U1"], tmp_path / "U1_older.xlsx", spec, score=61)
    _age(older, hours=48)  # a unit's wrong clock, or an old copy sent again
    receive(folder, [older])
    result, _checked = consolidate_campaign(str(folder))
    row = result.frame[result.frame.unit_code == "U1"].iloc[0]
    assert row["score"] == 61
    superseding = [f for f in result.files if f.unit_code == "U1"]
    assert len(superseding) == 1 and superseding[0].path.endswith("U1_older.xlsx")


def test_the_archive_keeps_bytes_once_and_gives_them_back(camp, tmp_path):
    folder, files = camp
    first = receive(folder, [files["U1"]])[0]
    second = receive(folder, [files["U1"]], note="单位再次发来同一文件")[0]
    assert first.sha256 == second.sha256 and first.receipt != second.receipt
    again = receive(folder, [files["U1"]])[0]  # the very same batch (files, note, clerk) again: recorded once
    assert again.repeated and again.receipt == first.receipt and receipts_count(folder) == 2
    blobs = [p for p in (folder / "archive").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    out = tmp_path / "back.xlsx"
    copy_out(folder, first.sha256, out)
    assert out.read_bytes() == files["U1"].read_bytes()
    assert verify(folder)[1] == []
    os.chmod(blobs[0], 0o644)
    with blobs[0].open("r+b") as handle:
        handle.seek(100)
        handle.write(b"tampered")
    count, problems, _notes = verify(folder)
    assert count == 1 and len(problems) == 1 and "内容与摘要不符" in problems[0]
    with pytest.raises(CampaignError, match="有问题"):
        copy_out(folder, first.sha256, tmp_path / "again.xlsx")
    with pytest.raises(CampaignError, match="不是 sha256"):
        copy_out(folder, "../../etc/passwd", tmp_path / "x")


def test_checks_are_cached_by_file_spec_and_version(camp, monkeypatch):
    folder, files = camp
    receive(folder, list(files.values()))
    result, checked = consolidate_campaign(str(folder))
    assert checked == 0 and len(result.included) == 4
    import xlkit.campaign.checks as checks

    monkeypatch.setattr(checks, "__version__", "9.9.9")  # a new xlkit: every file is checked again, once
    assert consolidate_campaign(str(folder))[1] == 4
    assert consolidate_campaign(str(folder))[1] == 0


def test_files_that_cannot_be_archived_are_reported_and_not_recorded(camp, tmp_path):
    folder, files = camp
    fifo = tmp_path / "U1_pipe.xlsx"
    os.mkfifo(fifo)
    results = receive(folder, [fifo, tmp_path / "gone.xlsx", files["U2"]])
    assert [bool(r.receipt) for r in results] == [False, False, True]
    assert "不是普通文件" in results[0].reason and "无法读取" in results[1].reason
    shutil.rmtree(folder / "archive")
    (folder / "archive").write_text("not a folder")  # an archive that cannot be written
    results = receive(folder, [files["U3"]])
    assert not results[0].receipt and "无法写入存档目录" in results[0].reason
    assert receipts_count(folder) == 1


def test_a_full_disk_records_nothing_half(camp, monkeypatch):
    """The archive's disk fills up while a blob is written (ENOSPC): a clear error, no receipt, no blob left behind."""
    import errno

    import xlkit.campaign.blobs as blobs

    folder, files = camp

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(blobs.os, "fsync", full)
    results = receive(folder, [files["U1"]])
    assert not results[0].receipt and "写入存档失败（No space left on device），未记录" in results[0].reason
    monkeypatch.undo()
    assert receipts_count(folder) == 0 and not [p for p in (folder / "archive").rglob("*") if p.is_file()]
    assert receive(folder, [files["U1"]])[0].receipt  # space again: the same file goes in


@pytest.mark.sqlite_only
def test_a_ledger_that_cannot_be_written_is_a_clear_error(camp):
    """Writes beyond the file-size limit fail as on a full disk (EFBIG): one line, exit 2, the ledger intact."""
    folder, files = camp
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000)); from xlkit.cli import main; sys.exit(main())")
    run = subprocess.run([sys.executable, "-c", code, "receive", str(folder), str(files["U1"])], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "TQDM_DISABLE": "1"})
    assert run.returncode == 2 and run.stderr.startswith("错误：") and "ledger.sqlite" in run.stderr
    assert "Traceback" not in run.stderr
    assert receipts_count(folder) == 0 and verify(folder)[1] == []
    with sqlite3.connect(folder / "ledger.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_receive_killed_at_any_point_then_rerun(camp, tmp_path):
    """SIGKILL at spread-out moments of a four-file receive; each time the re-run completes the batch exactly once."""
    folder, files = camp
    pristine = tmp_path / "pristine"
    copy_campaign(folder, pristine)
    inputs = [str(p) for p in files.values()]
    outcomes = []
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6, 2.2):  # bounded: six kills, each within seconds
        work = tmp_path / f"kill{delay}"
        copy_campaign(pristine, work)
        process = subprocess.Popen([*XLKIT, "receive", str(work), *inputs], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        killed = process.returncode != 0
        assert not _survivors(str(work)), "reader processes outlived the receive that started them"
        _intact(work)
        if killed:
            rerun = subprocess.run([*XLKIT, "receive", str(work), *inputs], capture_output=True, text=True, timeout=120)
            assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert receipts_count(work) == 4, f"after a kill at {delay} s"
        assert verify(work)[1] == []
        assert set(status_by_code(work).values()) == {"received"}
        outcomes.append(killed)
    assert any(outcomes), "no kill landed inside a receive: the delays are too long for this machine"


def _intact(folder: Path) -> None:
    """The ledger file passes SQLite's integrity check (a PostgreSQL ledger has no file to check: its server's)."""
    if (folder / "ledger.sqlite").exists():
        with sqlite3.connect(folder / "ledger.sqlite") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _survivors(marker: str) -> list[int]:
    """Processes whose command line names `marker`, after giving the dying ones up to 5 s."""
    import time

    deadline = time.monotonic() + 5
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _die_at(folder: Path, inputs: list[Path], clock_call: int, puts: int, writes: int = 0, batch: int = 0) -> None:
    """In a forked child: receive, dying with os._exit (no cleanup, as under SIGKILL) at the `clock_call`-th reading of
    the bureau's clock (the run's, each receipt's, the run's end), after `puts` blobs, or right after the `writes`-th
    row written inside a ledger transaction (before its commit); `batch`: receipts per transaction (receive.BATCH)."""
    import xlkit.campaign.blobs as blobs
    import xlkit.campaign.receive as receiving
    from xlkit.campaign.ledger.location import location
    from xlkit.campaign.ledger.postgres import PostgresBackend
    from xlkit.campaign.ledger.sqlite import SQLiteBackend

    used = SQLiteBackend if location(folder) is None else PostgresBackend  # the backend whose writes are counted
    real_now, real_put, calls = receiving.now, blobs.BlobStore.put, [0, 0, 0]
    real_run, real_rows, real_many = used.run, used.rows, used.run_many

    def written(backend: SQLiteBackend, sql: str) -> None:
        if backend._depth and sql.startswith(("INSERT", "UPDATE", "DELETE")):
            calls[2] += 1
            if calls[2] == writes:
                os._exit(9)

    def dying_run(backend, sql, params=()):  # type: ignore[no-untyped-def]
        done = real_run(backend, sql, params)
        written(backend, sql)
        return done

    def dying_rows(backend, sql, params=()):  # type: ignore[no-untyped-def]
        done = real_rows(backend, sql, params)
        written(backend, sql)
        return done

    def dying_many(backend, sql, rows):  # type: ignore[no-untyped-def]
        real_many(backend, sql, rows)
        written(backend, sql)

    used.run, used.rows, used.run_many = dying_run, dying_rows, dying_many  # type: ignore[method-assign]

    def dying_now() -> str:
        calls[0] += 1
        if calls[0] == clock_call:
            os._exit(9)
        return real_now()

    def dying_put(store, source):  # type: ignore[no-untyped-def]
        calls[1] += 1
        if calls[1] > puts:
            os._exit(9)
        return real_put(store, source)

    if batch:
        receiving.BATCH = batch
    receiving.now = dying_now  # type: ignore[assignment]
    blobs.BlobStore.put = dying_put  # type: ignore[method-assign]
    receive(folder, inputs)
    os._exit(0)


def test_receive_dying_at_every_step_then_rerun(camp, tmp_path):
    """Death at each step of a four-file receive (each blob, each transaction, the end): the re-run records each file
    exactly once, the ledger is intact and the archive verifies."""
    import multiprocessing

    folder, files = camp
    pristine = tmp_path / "pristine"
    copy_campaign(folder, pristine)
    inputs = list(files.values())
    points = [(0, 2, 0), *[(n, 99, 0) for n in range(1, 11)]]  # 4 blob rows + run, 4 receipts, the end: ten readings of the clock
    # rows written inside transactions: the run's claim and blobs, its claim, a cached check, a receipt, a renewal, the end
    points += [(0, 99, n) for n in (2, 4, 5, 9, 12, 17)]
    context = multiprocessing.get_context("fork")
    died = 0
    for clock_call, puts, writes in points:
        work = tmp_path / f"die{clock_call}_{puts}_{writes}"
        copy_campaign(pristine, work)
        child = context.Process(target=_die_at, args=(work, inputs, clock_call, puts, writes))
        child.start()
        child.join(timeout=120)
        assert child.exitcode in (0, 9), child.exitcode
        died += child.exitcode == 9
        _intact(work)
        results = receive(work, inputs)
        assert all(r.receipt for r in results)
        assert receipts_count(work) == 4, f"dying at clock call {clock_call}, blob {puts}, write {writes}"
        assert verify(work)[1] == [] and set(status_by_code(work).values()) == {"received"}
    assert died == len(points)


def test_receive_killed_inside_a_batched_transaction_then_rerun(camp, tmp_path):
    """Two receipts to a transaction: death right after the second receipt is written inside the first batch's
    transaction, or the second's, leaves none of that batch and the batch before it whole (each receipt with its
    audit line); the re-run records each file exactly once."""
    import multiprocessing

    folder, files = camp
    pristine = tmp_path / "pristine"
    copy_campaign(folder, pristine)
    inputs = list(files.values())
    # rows written inside transactions: the run (4), four cached checks (5-8), then each receipt, its claim renewed, its audit line
    for writes, kept in ((12, 0), (18, 2)):
        work = tmp_path / f"die{writes}"
        copy_campaign(pristine, work)
        child = multiprocessing.get_context("fork").Process(target=_die_at, args=(work, inputs, 0, 99, writes, 2))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == 9
        _intact(work)
        with Ledger(work) as ledger:
            receipts = [r.id for r in ledger.receipts()]
            assert len(receipts) == kept and sorted(e.receipt for e in ledger.audit() if e.kind == "receipt") == receipts
        results = receive(work, inputs)
        assert [r.repeated for r in results] == [k < kept for k in range(4)] and all(r.receipt for r in results)
        with Ledger(work) as ledger:
            receipts = [r.id for r in ledger.receipts()]
            assert len(receipts) == 4 and sorted(e.receipt for e in ledger.audit() if e.kind == "receipt") == receipts
        assert verify(work)[1] == [] and set(status_by_code(work).values()) == {"received"}


def test_concurrent_receives_all_recorded(camp):
    folder, files = camp
    processes = [subprocess.Popen([*XLKIT, "receive", str(folder), str(path), "--jobs", "1", "--note", f"第 {k} 份"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for k, path in enumerate([*files.values(), *files.values()])]
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, out + err
    assert receipts_count(folder) == 8
    assert verify(folder)[1] == [] and set(status_by_code(folder).values()) == {"received"}


def test_explained_warnings_in_check_letter_and_summary(camp, spec, tmp_path):
    folder, files = camp
    explained = variant(files["U2"], tmp_path / "U2.xlsx", spec, **{"staff.actual": 500, "check.staff.note": "含借调人员 12 人"})
    runner = CliRunner()
    data = json.loads(runner.invoke(main, ["check", str(explained), "--json"]).stdout)
    issue = next(i for i in data["files"][0]["issues"] if i["code"] == "check-staff")
    assert issue["severity"] == "warning" and issue["explanation"] == "含借调人员 12 人"
    assert "单位说明：含借调人员 12 人" in runner.invoke(main, ["check", str(explained)]).stdout
    receive(folder, [explained])
    summary = tmp_path / "summary.xlsx"
    letters = tmp_path / "letters"
    result = runner.invoke(main, ["consolidate", "--campaign", str(folder), "-o", str(summary), "--letters", str(letters)])
    assert result.exit_code == 0, result.output
    issues = openpyxl.load_workbook(summary)["校验问题"]
    assert any("单位说明：含借调人员 12 人" in str(c.value) for row in issues.iter_rows() for c in row)
    letter = openpyxl.load_workbook(next(letters.glob("U2_*.xlsx")))["审核意见"]
    assert any("单位说明：含借调人员 12 人" in str(c.value) for row in letter.iter_rows() for c in row)


def test_year_over_year(camp, base, spec, tmp_path):
    folder, files = camp
    receive(folder, list(files.values()))
    last_year, _ = consolidate_campaign(str(folder))
    u1_income = float(last_year.frame.set_index("unit_code").loc["U1", "income.all.total"])
    u1_goal = "保障单位职能正常运转。"
    runner = CliRunner()
    second = tmp_path / "2020"
    result = runner.invoke(main, ["campaign", "init", str(second), "--roster", str(base / "roster.csv"), "--year", "2020",
                                  "--previous", str(folder)])
    assert result.exit_code == 0, result.output
    sent = next((second / DISTRIBUTED).glob("U1_*.xlsx"))
    layout = open_template_workbook(sent, spec).layout
    slot = layout.fields["yoy.income.previous"]
    assert slot.locked and openpyxl.load_workbook(sent)[slot.sheet][slot.address].value == pytest.approx(u1_income)
    goal = layout.fields["qualitative.g1.target"]
    assert openpyxl.load_workbook(sent)[goal.sheet][goal.address].value == u1_goal

    data = generate_unit_data(layout, "U1")
    grown = {k: round(v * 1.5, 2) for k, v in data.items() if k.startswith("income.") and isinstance(v, float)}
    filled = tmp_path / "U1_2020.xlsx"
    fill_workbook(sent, {**data, **grown, "check.yoy_income.note": "新增专项补助"}, filled, spec)
    plain = tmp_path / "U2_2020.xlsx"
    u2 = next((second / DISTRIBUTED).glob("U2_*.xlsx"))
    fill_workbook(u2, generate_unit_data(open_template_workbook(u2, spec).layout, "U2"), plain, spec)
    receive(second, [filled, plain])
    with Ledger(second) as ledger:
        u1 = ledger.receipts("U1")[-1]
        assert u1.warnings >= 1 and u1.unexplained == 0
    summary = tmp_path / "summary2020.xlsx"
    assert runner.invoke(main, ["consolidate", "--campaign", str(second), "-o", str(summary)]).exit_code == 0
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(summary)["上年对比"].iter_rows(min_row=3)]
    income = next(r for r in rows if r[0] == "U1" and r[3].startswith("收入合计"))
    assert income[4] == pytest.approx(u1_income) and income[6] == pytest.approx(income[5] / income[4] - 1)
    assert income[6] > 0.3 and income[7] == "新增专项补助"
    assert not next(r for r in rows if r[0] == "U2" and r[3].startswith("收入合计"))[7]

    direct = tmp_path / "direct"
    result = runner.invoke(main, ["distribute", "--roster", str(base / "roster.csv"), "--year", "2020", "-o", str(direct),
                                  "--prefill-from", str(folder)])
    assert result.exit_code == 0, result.output
    again = next(direct.glob("U1_*.xlsx"))
    assert openpyxl.load_workbook(again)[slot.sheet][slot.address].value == pytest.approx(u1_income)


def test_cli_campaign_commands(camp, spec, tmp_path):
    folder, files = camp
    runner = CliRunner()
    result = runner.invoke(main, ["receive", str(folder), str(files["U1"]), str(tmp_path / "missing.xlsx"), "--by", "王五"])
    assert result.exit_code == 1 and "已接收 U1_" in result.output and "未记录 missing.xlsx" in result.output
    status = json.loads(runner.invoke(main, ["status", str(folder), "--json"]).stdout)
    assert status["counts"]["received"] == 1 and status["counts"]["not-sent"] == 3
    entry = status["units"][0]
    assert (entry["unit_code"], entry["status"], entry["label"], entry["contact"], entry["phone"]) == ("U1", "received", "已接收", "张一", "0730-1")
    assert isinstance(entry["days_to_deadline"], int) and entry["last_file"].startswith("U1_")
    reminders = tmp_path / "催报.csv"
    text = runner.invoke(main, ["status", str(folder), "--reminders", str(reminders)]).output
    assert "未报送 3" in text
    listed = reminders.read_text(encoding="utf-8-sig").splitlines()
    assert len(listed) == 5 and listed[0].startswith("单位编码,单位名称")
    xlsx = tmp_path / "催报.xlsx"
    runner.invoke(main, ["status", str(folder), "--reminders", str(xlsx)])
    assert openpyxl.load_workbook(xlsx)["催报名单"]["A3"].value == "U1"
    assert runner.invoke(main, ["return", str(folder), "U1", "--reason", "请补充说明", "--by", "审核员"]).exit_code == 0
    assert "退回（审核员）：请补充说明" in runner.invoke(main, ["history", str(folder), "U1"]).output
    assert runner.invoke(main, ["accept", str(folder), "U1"]).exit_code == 2
    sha = status["units"][0]["last_file"] and Ledger(folder).receipts("U1")[0].sha256
    assert runner.invoke(main, ["archive", str(folder), sha, "-o", str(tmp_path / "out.xlsx")]).exit_code == 0
    assert runner.invoke(main, ["campaign", "verify", str(folder)]).exit_code == 0
    bad = runner.invoke(main, ["consolidate", "--campaign", str(folder), str(files["U1"]), "-o", str(tmp_path / "s.xlsx")])
    assert bad.exit_code == 2 and "--campaign" in bad.output
    summary = tmp_path / "s.xlsx"
    result = runner.invoke(main, ["consolidate", "--campaign", str(folder), "-o", str(summary)])
    assert result.exit_code == 1  # the returned unit is out of the totals, listed with its reason
    book = openpyxl.load_workbook(summary)
    assert any("财政部门已退回该文件：请补充说明" in str(c.value) for row in book["校验问题"].iter_rows() for c in row)
    assert any("台账：已退回" in str(c.value) for row in book["报送情况"].iter_rows() for c in row)


def test_a_decision_names_its_receipt_and_is_refused_once_a_newer_file_came(camp, spec, tmp_path):
    folder, files = camp
    warned = variant(files["U2"], tmp_path / "U2_warned.xlsx", spec, **{"staff.actual": 500})
    first = receive(folder, [files["U2"]])[0].receipt
    newer = receive(folder, [warned])[0].receipt  # arrives while the officer still looks at the first
    for decide in (lambda: accept_unit(folder, "U2", receipt=first), lambda: return_unit(folder, "U2", "请修改", receipt=first)):
        with pytest.raises(CampaignError, match=rf"已有更新的文件（收件 {newer}，U2_warned.xlsx，.* 收到），本次决定针对的是收件 {first}"):
            decide()
    assert status_by_code(folder)["U2"] == "received-warnings" and not Ledger(folder).actions("U2")
    with pytest.raises(CampaignError, match="不是 乙单位 的文件"):
        accept_unit(folder, "U2", receipt=receive(folder, [files["U1"]])[0].receipt)
    decision = accept_unit(folder, "U2", receipt=newer)
    assert decision.receipt is not None and decision.receipt.id == newer and decision.unit.status == "confirmed"
    assert [a.receipt for a in Ledger(folder).actions("U2")] == [newer]


def test_a_decision_concurrent_with_a_receive_is_about_the_file_it_names(camp, spec, tmp_path):
    """A receipt recorded while a decision is being made is either decided on (it came first) or left open (it came
    after): never decided unseen, and the status follows the receipt the decision names, not the clocks."""
    import threading

    folder, files = camp
    receive(folder, [files["U1"]])
    copies = [Path(shutil.copy(files["U1"], tmp_path / f"U1_{k}.xlsx")) for k in range(3)]
    decisions: list[object] = []

    def decide() -> None:
        for _ in range(6):
            try:
                decisions.append(accept_unit(folder, "U1", receipt=Ledger(folder).receipts("U1")[-1].id).receipt)
            except CampaignError as exc:
                decisions.append(str(exc))

    thread = threading.Thread(target=decide)
    thread.start()
    for path in copies:
        receive(folder, [path])
    thread.join(timeout=120)
    assert not thread.is_alive()
    with Ledger(folder) as ledger:
        receipts, actions = ledger.receipts("U1"), ledger.actions("U1")
        ids = [r.id for r in receipts]
        assert all(a.receipt in ids for a in actions) and len({a.receipt for a in actions}) == len(actions)
        for action in actions:  # each acceptance landed on the receipt that was current when it was written
            assert max(r.id for r in receipts if r.received_at < action.at) == action.receipt
        expected = "confirmed" if actions and actions[-1].receipt == ids[-1] else "received"
        assert status_by_code(folder)["U1"] == expected
    assert all(isinstance(d, str) and ("已确认" in d or "更新的文件" in d) for d in decisions if not hasattr(d, "id"))


def test_a_decision_reads_the_state_under_the_write_lock(camp, tmp_path, monkeypatch):
    """A receive that starts while the decision reads the unit's state waits for the decision: the decision is about
    the file it read, and the new file reopens the unit."""
    import threading

    import xlkit.campaign.actions as actions

    folder, files = camp
    first = receive(folder, [files["U1"]])[0].receipt
    again = Path(shutil.copy(files["U1"], tmp_path / "U1_again.xlsx"))  # the same bytes: its check is cached, the receive quick
    reading = actions.state_of
    arrivals: list[threading.Thread] = []

    def read_while_a_file_arrives(ledger, code):
        if not arrivals:
            arrivals.append(threading.Thread(target=receive, args=(folder, [again])))
            arrivals[0].start()
            arrivals[0].join(timeout=1.5)
            assert arrivals[0].is_alive(), "a receipt was recorded while the decision was reading the state"
        return reading(ledger, code)

    monkeypatch.setattr(actions, "state_of", read_while_a_file_arrives)
    decision = accept_unit(folder, "U1")
    arrivals[0].join(timeout=60)
    assert decision.receipt is not None and decision.receipt.id == first
    assert [a.receipt for a in Ledger(folder).actions("U1")] == [first] and receipts_count(folder) == 2
    assert status_by_code(folder)["U1"] == "received"  # the newer file is open, not confirmed unseen


def test_cli_decisions_name_their_receipt(camp, spec, tmp_path):
    folder, files = camp
    runner = CliRunner()
    first = receive(folder, [files["U2"]])[0].receipt
    newer = receive(folder, [variant(files["U2"], tmp_path / "U2_b.xlsx", spec, **{"staff.actual": 500})])[0].receipt
    stale = runner.invoke(main, ["accept", str(folder), "U2", "--receipt", str(first)])
    assert stale.exit_code == 2 and f"收件 {newer}，U2_b.xlsx" in stale.output and f"针对的是收件 {first}" in stale.output
    blank = runner.invoke(main, ["return", str(folder), "U2", "--reason", "  "])
    assert blank.exit_code == 2 and "退回须写明原因（--reason）" in blank.output
    said = runner.invoke(main, ["accept", str(folder), "U2", "--by", "审核员"])
    assert said.exit_code == 0 and said.output.startswith(f"针对当前文件：收件 {newer}，U2_b.xlsx，") and "已确认" in said.output
    assert [a.receipt for a in Ledger(folder).actions("U2")] == [newer]
    with pytest.raises(CampaignError, match=r"^退回须写明原因$"):  # the library's words name no command-line option
        return_unit(folder, "U2", " ")


def test_words_from_outside_are_shown_safely(camp, tmp_path):
    folder, files = camp
    receive(folder, [files["U1"]])
    runner = CliRunner()
    unknown = runner.invoke(main, ["history", str(folder), "NOPE<x>\x1b[31m"])
    assert unknown.exit_code == 2 and "没有单位「NOPE<x>[31m」" in unknown.output and "'" not in unknown.output
    digest = runner.invoke(main, ["archive", str(folder), "../ledger.sqlite", "-o", str(tmp_path / "x")])
    assert digest.exit_code == 2 and "「../ledger.sqlite」不是 sha256 摘要：应为 64 个十六进制字符" in digest.output
    assert "'" not in digest.output and not (tmp_path / "x").exists()
    (tmp_path / "empty").mkdir()
    nothing = runner.invoke(main, ["receive", str(folder), str(tmp_path / "empty")])
    assert nothing.exit_code == 2 and "中没有找到文件" in nothing.output
    with pytest.raises(CampaignError, match="截止日期应为 YYYY-MM-DD 格式（如 2020-03-31），得到「3月底」"):
        init_campaign(tmp_path / "new", folder / "roster.csv", 2019, deadline="3月底")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def _read_only_commands(folder: Path, sha: str, out: Path) -> list[list[str]]:
    return [["status", str(folder)], ["status", str(folder), "--json"], ["campaign", "verify", str(folder)],
            ["archive", str(folder), sha, "-o", str(out)], ["history", str(folder), "U1"]]


def test_read_only_commands_write_nothing(camp, tmp_path):
    folder, files = camp
    sha = receive(folder, [files["U1"]])[0].sha256
    before = _snapshot(folder)
    for args in _read_only_commands(folder, sha, tmp_path / "out.xlsx"):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    assert (tmp_path / "out.xlsx").read_bytes() == files["U1"].read_bytes()
    assert _snapshot(folder) == before  # no file changed, none added (no -wal or -shm left behind)


def _read_only_media(folder: Path) -> list[str] | None:
    """A command prefix that runs with `folder` on a read-only mount (root: a private read-only bind mount); None
    where this process can write anyway and cannot mount (then the caller simulates it)."""
    if os.geteuid() != 0:
        return []
    wrap = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"', str(folder)]
    try:
        probe = subprocess.run([*wrap, "sh", "-c", f'! touch "{folder}/probe" 2>/dev/null'], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return wrap if probe.returncode == 0 and not (folder / "probe").exists() else None


@pytest.mark.sqlite_only
def test_a_campaign_on_read_only_media_can_be_read(camp, tmp_path, monkeypatch):
    """status, verify, archive and history on a folder nothing can write (the WAL cannot be made there); a write
    command is refused in Chinese; nothing in the folder changes."""
    folder, files = camp
    sha = receive(folder, [files["U1"]])[0].sha256
    before = _snapshot(folder)
    wrap = _read_only_media(folder)
    out = tmp_path / "out.xlsx"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    try:
        if wrap == []:  # not root: permissions make the folder read-only
            for path in [folder, *folder.rglob("*")]:
                path.chmod(0o555 if path.is_dir() else 0o444)
        if wrap is None:  # root without mounts: the read-only checks the ledger makes are answered as on read-only media
            monkeypatch.setattr("xlkit.campaign.ledger.os.access", lambda path, mode: mode != os.W_OK)
        for args in [*_read_only_commands(folder, sha, out), ["receive", str(folder), str(files["U2"])]]:
            if wrap is None:
                result = CliRunner().invoke(main, args)
                code, text = result.exit_code, result.output
            else:
                run = subprocess.run([*wrap, *XLKIT, *args], capture_output=True, text=True, timeout=120, env=env)
                code, text = run.returncode, run.stdout + run.stderr
            if args[0] == "receive":
                if wrap is not None:
                    assert code == 2 and "只读" in text and "错误：" in text and "Traceback" not in text, text
            else:
                assert code == 0 and "Traceback" not in text, (args, text)
                assert "已接收 1" in text or "全部完好" in text or "已取出" in text or '"received": 1' in text or "收到文件" in text
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert out.read_bytes() == files["U1"].read_bytes()
    assert {k: v for k, v in _snapshot(folder).items() if not k.startswith("archive")} == \
        {k: v for k, v in before.items() if not k.startswith("archive")}


@pytest.mark.sqlite_only
def test_a_damaged_or_empty_ledger_is_a_clear_error_and_stays_as_it_was(camp, tmp_path):
    folder, files = camp
    for content in (b"", b"not a ledger at all " * 100):
        (folder / "ledger.sqlite").write_bytes(content)
        for stale in ("ledger.sqlite-wal", "ledger.sqlite-shm"):
            (folder / stale).unlink(missing_ok=True)
        for args in (["status", str(folder)], ["receive", str(folder), str(files["U1"])], ["campaign", "verify", str(folder)]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 2 and "台账" in result.output and "已损坏" in result.output and "从备份恢复" in result.output, result.output
            assert result.output.startswith("错误：") and "Error" not in result.output and "no such table" not in result.output
            assert (folder / "ledger.sqlite").read_bytes() == content  # a read-only command never writes; a damaged ledger is left for repair
            assert not (folder / "ledger.sqlite-wal").exists()


def test_a_damaged_archive_copy_of_the_same_size_is_healed_by_the_original(camp, tmp_path):
    folder, files = camp
    sha = receive(folder, [files["U1"]])[0].sha256
    blob = folder / "archive" / sha[:2] / sha
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(damaged))
    assert verify(folder)[1] == [f"{sha}：内容与摘要不符（存档文件被改动）"]
    with pytest.raises(CampaignError, match="有问题"):
        copy_out(folder, sha, tmp_path / "out.xlsx")
    assert receive(folder, [files["U1"]])[0].receipt  # the original again
    assert verify(folder)[1] == [] and blob.read_bytes() == files["U1"].read_bytes() and blob.stat().st_mode & 0o777 == 0o444
    assert copy_out(folder, sha, tmp_path / "out.xlsx") == files["U1"].stat().st_size


def claims(folder: Path) -> list[tuple[int, int]]:
    """(run, pid) of each run's claim in the ledger."""
    with Ledger(folder) as ledger:
        return [(run, owner.pid) for run, owner in ledger.claims()]


def test_claims_go_and_dead_runs_are_closed_or_reported(camp, tmp_path):
    import multiprocessing

    folder, files = camp
    inputs = list(files.values())
    receive(folder, [inputs[0]])
    assert claims(folder) == [] and not (folder / "locks").exists()  # a finished run leaves no claim, and no lock file
    context = multiprocessing.get_context("fork")
    pristine = tmp_path / "pristine"
    copy_campaign(folder, pristine)
    # clock readings of a four-file receive, two receipts to a transaction: 4 blob rows, the run, 4 receipts, the end
    for clock_call, complete in ((10, True), (8, False)):  # 8: the first of the second batch
        work = tmp_path / f"die{clock_call}"
        copy_campaign(pristine, work)
        child = context.Process(target=_die_at, args=(work, inputs, clock_call, 99, 0, 2))
        child.start()
        child.join(timeout=120)
        assert child.exitcode == 9
        assert claims(work) == [(2, child.pid)]  # what a kill -9 leaves: the dead process's claim on its run
        shown = json.loads(CliRunner().invoke(main, ["status", str(work), "--json"]).stdout)["unfinished_runs"]
        text = CliRunner().invoke(main, ["status", str(work)]).output
        notes = verify(work)[2]
        if complete:
            assert shown == [] and "中断未完成" not in text and not any("中断未完成" in n for n in notes)
        else:
            assert [(u["files"], u["recorded"]) for u in shown] == [(4, 2)]
            assert "提示 收件批次 " in text and "4 个文件中已记录 2 个" in text and any("4 个文件中已记录 2 个" in n for n in notes)
        receive(work, [Path(shutil.copy(inputs[1], tmp_path / "other.xlsx"))])  # the next receive tidies up
        assert claims(work) == []
        with Ledger(work) as ledger:
            open_runs = [r.id for r in ledger.open_runs()]
        assert open_runs == ([] if complete else [2])  # a dead run that recorded everything is closed; the other stays to resume
        if not complete:
            assert all(r.receipt for r in receive(work, inputs)) and receipts_count(work) == 6
            assert json.loads(CliRunner().invoke(main, ["status", str(work), "--json"]).stdout)["unfinished_runs"] == []
            assert claims(work) == []


def test_a_live_claim_is_never_taken_and_a_reused_pid_is_not_its_owner(camp):
    """A run held by a live process (here: this one) is left to it: the same batch starts a run of its own. A claim
    naming a live pid with another start time (the pid reused after its owner died) is dead, as is one from another
    host whose lease ran out; one from another host within its lease holds. Upload slots alike."""
    import dataclasses
    import time

    from xlkit.campaign.ledger import LEASE, Owner

    folder, _files = camp
    me = Owner.me(LEASE)
    with Ledger(folder) as ledger:
        held, _done = ledger.start_run("batch", 1, [], "2020-01-01T00:00:00+00:00", me)
        again, _done = ledger.start_run("batch", 1, [], "2020-01-01T00:00:00+00:00", me)
        assert again != held and {r.id: r.held for r in ledger.open_runs()} == {held: True, again: True}
        ledger.release_run(again, me)
        reused = dataclasses.replace(me, since="1")  # this pid, but another process's start
        away = dataclasses.replace(me, host="elsewhere.invalid", expires=time.time() - 1)
        near = dataclasses.replace(me, host="elsewhere.invalid", expires=time.time() + 60)
        assert me.alive() and not reused.alive() and not away.alive() and near.alive()
        assert ledger.start_run("batch", 1, [], "2020-01-01T00:00:00+00:00", reused)[0] == again  # the free one is taken
        ledger.release_run(again, reused)
        assert ledger.take_upload_slot("U1", near) and not ledger.take_upload_slot("U1", me)
        ledger.free_upload_slot("U1", near)
        assert ledger.take_upload_slot("U1", away) and ledger.take_upload_slot("U1", me)  # a lapsed holder's slot is taken over
        assert not ledger.take_upload_slot("U1", me)
        ledger.free_upload_slot("U1", me)
        assert ledger.take_upload_slot("U1", me)
