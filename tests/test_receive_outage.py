"""`receive` when the ledger goes away part-way (a PostgreSQL server stopped with -m immediate, a SQLite file locked
by another writer): every file is told, recorded or not; the archive keeps what it took; a receipt and its audit
line are there together or not at all; exit 2; the same command again, in a new process or in the same one (a web
server), records what was missing and nothing twice."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pgserver
import pytest
from campaign import filled_returns, make_campaign
from click.testing import CliRunner

import xlkit.campaign.receive as receiving
from xlkit.campaign.integrity import verify
from xlkit.campaign.ledger import Ledger, LedgerUnavailable
from xlkit.campaign.receive import NOT_RECORDED, Interrupted, receive
from xlkit.cli import main

XLKIT = [sys.executable, "-m", "xlkit"]
CODES = ("R1", "R2", "R3")
ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\n" + "".join(f"{c},单位{c},一局,张{c},0730-{k}\n" for k, c in enumerate(CODES))


@pytest.fixture(scope="module")
def files(tmp_path_factory, spec) -> Path:
    """The roster and each unit's filled workbook."""
    return filled_returns(tmp_path_factory.mktemp("outage_files"), ROSTER, CODES, spec)


@pytest.fixture(scope="module")
def server():
    """A server of this module's own, to stop and start again."""
    own = pgserver.required()
    yield own
    own.stop()


def inputs(files: Path) -> list[Path]:
    return [files / f"{code}.xlsx" for code in CODES]


def whole(folder: Path) -> list[str]:
    """Each receipt's unit, once each file; every receipt with its audit line and no audit line without its receipt."""
    with Ledger(folder) as ledger:
        receipts = ledger.receipts()
        audited = [e.receipt for e in ledger.audit() if e.kind == "receipt"]
        assert not ledger.claims() and not [r for r in ledger.open_runs() if r.recorded < r.files]
    assert sorted(audited) == sorted(r.id for r in receipts)  # type: ignore[type-var]
    assert verify(folder)[1] == []
    return sorted(r.unit_code for r in receipts)


def failing_at_batch(monkeypatch: pytest.MonkeyPatch, second: int, fail: object) -> None:
    """One receipt per transaction, and `fail()` called just before the `second`-th one."""
    real, calls = receiving._record_batch, [0]

    def then_fail(ledger, *args):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] == second:
            fail(ledger)  # type: ignore[operator]
        real(ledger, *args)

    monkeypatch.setattr(receiving, "BATCH", 1)
    monkeypatch.setattr(receiving, "_record_batch", then_fail)


def _cli_with_server_gone(folder: Path, paths: list[Path], server: pgserver.PgServer, out: Path) -> None:
    """In a forked child, as `xlkit receive` is its own process: the server stops before the second receipt."""
    monkeypatch = pytest.MonkeyPatch()
    failing_at_batch(monkeypatch, 2, lambda _ledger: server.halt())
    result = CliRunner().invoke(main, ["receive", str(folder), *map(str, paths)])
    out.write_text(json.dumps([result.exit_code, result.stdout, result.stderr]), encoding="utf-8")
    os._exit(0)


def test_the_server_gone_mid_receive_names_every_file_and_the_same_command_finishes(server, files, tmp_path):
    folder, out = tmp_path / "c", tmp_path / "out.json"
    make_campaign(folder, files / "roster.csv", 2019, server.url)
    child = multiprocessing.get_context("fork").Process(target=_cli_with_server_gone, args=(folder, inputs(files), server, out))
    child.start()
    child.join(timeout=300)
    assert child.exitcode == 0
    code, stdout, stderr = json.loads(out.read_text(encoding="utf-8"))
    lines = stdout.splitlines()
    assert code == 2, stdout + stderr
    assert lines[0].startswith("已记录（收件 1） R1.xlsx") and "未记录" not in lines[0]
    assert [line.split(" ", 1)[0] for line in lines[1:3]] == ["未记录", "未记录"]
    assert all(line.endswith(f"：{NOT_RECORDED}") and "R2" in lines[1] and "R3" in lines[2] for line in lines[1:3])
    assert lines[3] == "收到 3 个文件：已记录 1，未记录 2"
    assert stderr.startswith("错误：收件中断：无法连接台账数据库") and f"127.0.0.1:{server.port}" in stderr
    assert "2 个文件未记录" in stderr and "Traceback" not in stderr and "Interrupted" not in stderr
    assert len(list((folder / "archive").glob("??/*"))) == 3  # the archive keeps what it took

    server.start()
    rerun = subprocess.run([*XLKIT, "receive", str(folder), *map(str, inputs(files))], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "TQDM_DISABLE": "1"})
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    lines = rerun.stdout.splitlines()
    assert lines[0].startswith("此前已收件（收件 1） R1.xlsx") and all(line.startswith("已接收 R") for line in lines[1:3]), rerun.stdout
    assert whole(folder) == list(CODES)


@pytest.mark.parametrize("where", ["receipts", "end"])
def test_the_same_process_calling_again_after_an_outage_records_each_file_once(server, files, tmp_path, monkeypatch, where):
    """A long-lived process (the web server) retries the batch once the server is back: the claim it could not give
    up while the server was away is dropped by its next run, which resumes the run instead of recording it again.
    The server goes before the second receipt, or once every receipt is in (before the run's end)."""
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, server.url)
    if where == "receipts":
        failing_at_batch(monkeypatch, 2, lambda _ledger: server.halt())
    else:
        real = Ledger.finish_run

        def gone_first(self, *args):  # type: ignore[no-untyped-def]
            server.halt()
            real(self, *args)

        monkeypatch.setattr(Ledger, "finish_run", gone_first)
    with pytest.raises(Interrupted) as caught:
        receive(folder, inputs(files))
    assert isinstance(caught.value, LedgerUnavailable)  # the web app's 「系统暂时无法接收，请稍后再试」
    recorded = [bool(r.receipt) for r in caught.value.results]
    assert recorded == ([True, False, False] if where == "receipts" else [True, True, True])
    monkeypatch.undo()
    server.start()
    again = receive(folder, inputs(files))
    assert [r.repeated for r in again] == recorded and all(r.receipt and r.status == "received" for r in again if not r.repeated)
    assert whole(folder) == list(CODES)


def test_a_sqlite_ledger_locked_part_way_is_told_and_the_same_process_finishes(files, tmp_path, monkeypatch):
    """Another writer holds the SQLite ledger past the wait (shortened here from a minute): the command lists every
    file, exits 2; the lock gone, the same call in the same process records the rest once."""
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, "sqlite")
    locker = sqlite3.connect(folder / "ledger.sqlite", isolation_level=None)

    def lock(ledger: Ledger) -> None:
        ledger._db._db.execute("PRAGMA busy_timeout = 200")  # type: ignore[attr-defined]
        locker.execute("BEGIN IMMEDIATE")

    failing_at_batch(monkeypatch, 3, lock)
    first = CliRunner().invoke(main, ["receive", str(folder), *map(str, inputs(files))])
    assert first.exit_code == 2, first.output
    lines = first.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines[:3]] == ["已记录（收件", "已记录（收件", "未记录"]
    assert lines[2].endswith(NOT_RECORDED) and lines[3] == "收到 3 个文件：已记录 2，未记录 1"
    assert first.stderr.startswith("错误：收件中断：台账") and "正被其他程序长时间占用" in first.stderr and "1 个文件未记录" in first.stderr
    locker.execute("ROLLBACK")
    locker.close()
    monkeypatch.undo()
    again = CliRunner().invoke(main, ["receive", str(folder), *map(str, inputs(files))])
    assert again.exit_code == 0, again.output
    assert [line.split(" ", 1)[0] for line in again.stdout.splitlines()[:3]] == ["此前已收件（收件", "此前已收件（收件", "已接收"]
    assert whole(folder) == list(CODES)
