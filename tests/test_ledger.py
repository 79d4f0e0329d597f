"""The ledger behind its seam: the only place SQL is written, portable outside its SQLite backend, and a ledger of
an earlier release opening (and upgrading) as it was."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import xlkit
from xlkit.campaign.access import check_password, session_account, unit_for_token
from xlkit.campaign.actions import history
from xlkit.campaign.ledger import SCHEMA_VERSION, Ledger
from xlkit.campaign.state import unit_states
from xlkit.cli import main
from xlkit.errors import CampaignError

PACKAGE = Path(xlkit.__file__).parent
LEDGER_PACKAGE = PACKAGE / "campaign" / "ledger"
DATA = Path(__file__).parent / "data"
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA) ")
SQLITE_ONLY = re.compile(r"INSERT OR |MAX\(0|lastrowid|executescript|sqlite_master|PRAGMA|sqlite3")


def test_sql_is_written_in_the_ledger_only():
    found = [f"{p.relative_to(PACKAGE)}:{n}: {line.strip()}" for p in sorted(PACKAGE.rglob("*.py")) if LEDGER_PACKAGE not in p.parents
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if SQL.search(line) or "sqlite3" in line]
    assert not found, "\n".join(found)


def test_the_check_finds_sql(tmp_path):
    """The scan above can fail: it sees the ledger's own SQL and driver."""
    text = (LEDGER_PACKAGE / "sqlite.py").read_text(encoding="utf-8")
    assert SQL.search(text) and "sqlite3" in text


def test_the_operations_write_portable_sql():
    """Only the SQLite backend (and the schema's SQLite steps) may use SQLite's dialect; the named operations are
    shared by every backend."""
    shared = [p for p in sorted(LEDGER_PACKAGE.glob("*.py")) if p.name not in ("sqlite.py", "schema.py")]
    assert {p.name for p in shared} >= {"__init__.py", "runs.py", "access.py"}
    found = [f"{p.name}:{n}: {line.strip()}" for p in shared
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if SQLITE_ONLY.search(line)]
    assert not found, "\n".join(found)


@pytest.fixture
def old(tmp_path) -> Path:
    """A campaign folder holding the ledger written by the release before the seam (schema 1)."""
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copyfile(DATA / "ledger_v1.sqlite", folder / "ledger.sqlite")
    return folder


def test_no_driver_row_or_connection_leaves_the_ledger(old):
    with Ledger(old, readonly=True) as ledger:
        assert not hasattr(ledger, "db")
        handed = [*ledger.units(), *ledger.receipts(), *ledger.actions(), *ledger.blobs()]
        assert handed and {type(r).__module__ for r in handed} == {"xlkit.campaign.ledger.records"}


def test_a_ledger_of_the_earlier_release_reads_as_it_was(old):
    """Read-only commands read a schema-1 ledger without upgrading it (nothing written: read-only media)."""
    before = (old / "ledger.sqlite").read_bytes()
    with Ledger(old, readonly=True) as ledger:
        assert ledger.meta("schema") == "1"
        states = {s.code: s.status for s in unit_states(ledger)}
        assert ledger.open_runs() == [] and ledger.claims() == []
    assert states == {"U1": "confirmed", "U2": "returned", "U3": "not-sent"}
    _state, lines = history(old, "U2")
    assert any("退回（王五）：请补充说明" in line for line in lines) and any("经办 李四，附言：第一批" in line for line in lines)
    shown = json.loads(CliRunner().invoke(main, ["status", str(old), "--json"]).stdout)
    assert [u["status"] for u in shown["units"]] == ["confirmed", "returned", "not-sent"]
    assert (old / "ledger.sqlite").read_bytes() == before


def test_a_ledger_of_the_earlier_release_is_upgraded_and_keeps_everything(old):
    """Opened for writing, it is migrated to the current schema once; links, password, sessions, 说明, the web
    secret and the whole history stay as they were."""
    kept = json.loads((DATA / "ledger_v1.json").read_text(encoding="utf-8"))
    with sqlite3.connect(old / "ledger.sqlite") as db:
        rows_before = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                       for t in ("units", "blobs", "runs", "checks", "receipts", "actions", "tokens", "explanations", "sessions")}
        secret = db.execute("SELECT value FROM meta WHERE key = 'web_secret'").fetchone()[0]
    with Ledger(old) as ledger:
        assert ledger.meta("schema") == str(SCHEMA_VERSION) and ledger.meta("web_secret") == secret
        assert {"claims", "upload_slots"} <= ledger._tables
        assert [unit_for_token(ledger, kept["links"][code]) for code in ("U1", "U2", "U3")] == ["U1", "U2", "U3"]
        assert check_password(ledger, kept["password"]) and not check_password(ledger, kept["password"] + "x")
        assert session_account(ledger, kept["session"], idle=10**9)[0] == "admin"
        u2 = ledger.receipts("U2")[0]
        assert ledger.explanations(u2.id) == {0: "当年新增项目"}
        assert ledger.open_runs() == [] and ledger.claims() == []
    with Ledger(old) as ledger:  # the second opening finds nothing to do
        assert ledger.meta("schema") == str(SCHEMA_VERSION)
    with sqlite3.connect(old / "ledger.sqlite") as db:
        after = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in rows_before}
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert {t: rows for t, rows in after.items() if t != "sessions"} == {t: rows for t, rows in rows_before.items() if t != "sessions"}
    assert [r[:6] for r in after["sessions"]] == [r[:6] for r in rows_before["sessions"]]  # only its last use moved on
    result = CliRunner().invoke(main, ["status", str(old), "--json"])
    assert [u["status"] for u in json.loads(result.stdout)["units"]] == ["confirmed", "returned", "not-sent"]


def test_a_ledger_of_a_later_release_is_refused(old):
    with sqlite3.connect(old / "ledger.sqlite") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    for readonly in (False, True):
        with pytest.raises(CampaignError, match=f"台账版本为 99，本程序支持 {SCHEMA_VERSION} 及以前的版本"):
            Ledger(old, readonly=readonly)
    result = CliRunner().invoke(main, ["status", str(old)])
    assert result.exit_code == 2 and "台账版本为 99" in result.output and "Error" not in result.output.replace("Error:", "")


def _hold_slot(folder: Path, code: str, held, release) -> None:  # type: ignore[no-untyped-def]
    """In a forked child: a server process taking a unit's upload slot, then killed (no cleanup) when told."""
    from xlkit.web.limits import LinkGate, LinkLimits

    LinkGate(folder, LinkLimits(), None).enter(code, 1)
    held.set()
    release.wait(60)
    os._exit(9)


def test_one_upload_at_a_time_holds_across_server_processes(old):
    """The slot is a ledger row: another process's upload is refused (429 正在上传) while that process lives, and
    its slot is taken over once it was killed mid-upload."""
    import multiprocessing

    from xlkit.web.limits import LinkGate, LinkLimits, Refused

    Ledger(old).close()  # upgraded: the slots' table
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()
    child = context.Process(target=_hold_slot, args=(old, "U1", held, release))
    child.start()
    try:
        assert held.wait(60)
        gate = LinkGate(old, LinkLimits(), None)
        with pytest.raises(Refused) as refused:
            gate.enter("U1", 1)
        assert refused.value.code == 429 and refused.value.what == "正在上传"
        gate.enter("U2", 1)  # another unit's link is not held up
        gate.leave("U2")
    finally:
        release.set()
        child.join(60)
    assert child.exitcode == 9
    gate.enter("U1", 1)  # the dead server's slot
    with pytest.raises(Refused):
        gate.enter("U1", 1)  # now held by this process
    gate.leave("U1")
    gate.enter("U1", 1)


def test_a_not_durable_write_commits_and_a_receipt_waits_for_the_disk_again(old):
    """Coordination (an upload slot, a run's claim, a cached check) commits without waiting for the disk; the
    safety level comes back for the next write, and a durable write may not hide inside a relaxed transaction."""
    with Ledger(old) as ledger:
        backend = ledger._db
        with backend.transaction(durable=False):
            assert backend.rows("PRAGMA synchronous") == [(1,)]  # NORMAL: the commit is not waited onto the disk
            backend.run("INSERT INTO meta(key, value) VALUES ('probe', 'relaxed')")
        assert backend.rows("PRAGMA synchronous") == [(2,)]  # FULL again
        with pytest.raises(RuntimeError), backend.transaction(durable=False), backend.transaction():
            pass
        assert backend.rows("PRAGMA synchronous") == [(2,)]
        with backend.transaction(durable=False), backend.transaction(durable=False):
            backend.run("UPDATE meta SET value = 'nested' WHERE key = 'probe'")
    with sqlite3.connect(old / "ledger.sqlite") as other:  # committed: another connection sees it
        assert other.execute("SELECT value FROM meta WHERE key = 'probe'").fetchall() == [("nested",)]


def test_an_opening_is_kept_for_later_only_while_its_file_is_the_folders_ledger(old):
    """A web server's thread keeps a clean SQLite opening for its next request (`Ledger.reusable`): not inside a
    transaction, nor once the folder's ledger is another file (restored from a backup) or has moved to a database
    server (the file renamed, `ledger.json` written), where it would go on writing to a file nothing reads."""
    with Ledger(old) as ledger:
        assert ledger.reusable
        with ledger.writing():
            assert not ledger.reusable
        assert ledger.reusable
        (old / "ledger.sqlite").rename(old / "ledger.sqlite.migrated")
        assert not ledger.reusable
        (old / "ledger.sqlite.migrated").rename(old / "ledger.sqlite")
        assert ledger.reusable
        (old / "ledger.json").write_text("{}", encoding="utf-8")
        assert not ledger.reusable
        (old / "ledger.json").unlink()
        shutil.copyfile(old / "ledger.sqlite", old / "backup.sqlite")
        os.replace(old / "backup.sqlite", old / "ledger.sqlite")  # the same name, another file
        assert not ledger.reusable
    with Ledger(old) as again, Ledger(old, readonly=True) as looking:
        assert again.reusable and not looking.reusable
        again._db.run("BEGIN")  # a transaction left open whatever the nesting count says
        assert not again.reusable
        again._db.run("ROLLBACK")
        with sqlite3.connect(old / "ledger.sqlite") as other:  # another process changes the schema (a later release)
            other.execute("CREATE TABLE later_release(x)")
        assert not again.reusable


def test_a_checkpoint_makes_the_file_alone_the_whole_ledger(old):
    """A server keeps its openings, so SQLite's log outlives requests; `checkpoint` (every 30 s and when `serve`
    stops) folds it in, so a copy of ledger.sqlite alone, or a restore over it, holds every commit."""
    with Ledger(old) as kept, Ledger(old) as writer:
        with writer.writing():
            writer._db.run_many("INSERT INTO meta(key, value) VALUES (?, ?)", [(f"probe{k}", "x") for k in range(50)])
        assert (old / "ledger.sqlite-wal").stat().st_size > 0
        shutil.copyfile(old / "ledger.sqlite", old / "before.sqlite")
        writer.checkpoint()
        assert (old / "ledger.sqlite-wal").stat().st_size == 0 and kept.reusable
        shutil.copyfile(old / "ledger.sqlite", old / "after.sqlite")
    for name, probes in (("before.sqlite", 0), ("after.sqlite", 50)):
        with sqlite3.connect(old / name) as copy:
            assert copy.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'probe%'").fetchall() == [(probes,)]
