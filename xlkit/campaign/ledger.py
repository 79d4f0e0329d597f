"""The campaign ledger: one SQLite file (standard library, WAL) that remembers every file received, every check,
every 退回 and 确认. Rows are only ever added (a check cached for a new spec is the one exception: a new row)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import CampaignError

LEDGER = "ledger.sqlite"
SCHEMA_VERSION = "1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units(code TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, department TEXT NOT NULL,
    contact TEXT NOT NULL, phone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs(sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, key TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    files INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS runs_open ON runs(key, finished_at);
CREATE TABLE IF NOT EXISTS checks(id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL REFERENCES blobs, spec_key TEXT NOT NULL,
    version TEXT NOT NULL, report BLOB NOT NULL, UNIQUE(sha256, spec_key, version));
CREATE TABLE IF NOT EXISTS receipts(id INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs, item INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs, name TEXT NOT NULL, received_at TEXT NOT NULL, note TEXT NOT NULL, by TEXT NOT NULL,
    unit_code TEXT NOT NULL, form TEXT NOT NULL, errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
    unexplained INTEGER NOT NULL, summary TEXT NOT NULL, UNIQUE(run, item));
CREATE INDEX IF NOT EXISTS receipts_unit ON receipts(unit_code, id);
CREATE TABLE IF NOT EXISTS actions(id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    by TEXT NOT NULL, text TEXT NOT NULL, receipt INTEGER REFERENCES receipts, letter TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS actions_unit ON actions(unit_code, id);
CREATE TABLE IF NOT EXISTS tokens(id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL, digest TEXT NOT NULL UNIQUE, issued_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE TABLE IF NOT EXISTS explanations(id INTEGER PRIMARY KEY, receipt INTEGER NOT NULL REFERENCES receipts, issue INTEGER NOT NULL,
    text TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS explanations_receipt ON explanations(receipt, issue, id);
CREATE TABLE IF NOT EXISTS sessions(id INTEGER PRIMARY KEY, digest TEXT NOT NULL UNIQUE, account TEXT NOT NULL, address TEXT NOT NULL,
    generation INTEGER NOT NULL, created REAL NOT NULL, last_seen REAL NOT NULL, ended REAL, ended_why TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS login_attempts(account TEXT NOT NULL, address TEXT NOT NULL, failures INTEGER NOT NULL, next_at REAL NOT NULL,
    PRIMARY KEY(account, address));
"""


def quoted(text: str, limit: int = 60) -> str:
    """A name from outside (a command line, a URL) as people read it: in 「」, control characters removed, cut short."""
    clean = "".join(c for c in text if c.isprintable())
    return f"「{clean[:limit]}{'…' if len(clean) > limit else ''}」"


def now() -> str:
    """The bureau's clock, in UTC: receipt order never depends on a unit's clock."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Receipt:
    id: int
    sha256: str
    name: str  # the file's own name as handed in (shown to people, never used as a path)
    received_at: str
    note: str
    by: str
    unit_code: str  # "" when the file named no unit
    form: str
    errors: int
    warnings: int
    unexplained: int  # warnings without a 说明
    summary: str  # the first error, or why the file could not be read


@dataclass(frozen=True)
class Action:
    id: int
    unit_code: str
    kind: str  # return / accept
    at: str
    by: str
    text: str
    receipt: int | None
    letter: str


CORE_TABLES = frozenset({"meta", "units", "blobs", "runs", "checks", "receipts", "actions"})  # a ledger without one is damaged


def schema_tables() -> set[str]:
    return set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA))


def ledger_problem(exc: sqlite3.Error, path: Path | str = LEDGER) -> CampaignError:
    """What a failing ledger means to the bureau, and what to do (SQLite's own words only as a last resort)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text or "malformed" in text:
        return damaged(path, "不是完整的 SQLite 数据库")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return CampaignError(f"台账 {path} 正被其他程序长时间占用（如正在运行的 xlkit serve 或 receive），请稍后再试")
    if name.startswith(("SQLITE_FULL", "SQLITE_TOOBIG")) or "is full" in text:
        return CampaignError(f"台账 {path} 无法写入：磁盘已满或超过文件大小限制；台账保持原样")
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return CampaignError(f"台账 {path} 无法写入：所在位置只读或没有写权限；只读的位置只能查看（status、history、verify、archive）")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in text:
        return CampaignError(f"无法打开台账 {path}：文件或所在目录只读或没有读写权限；只读的位置只能查看（status、history、verify、archive）")
    if name.startswith("SQLITE_IOERR") or "disk I/O" in text:
        return CampaignError(f"读写台账 {path} 时出错（磁盘已满、超过文件大小限制或磁盘故障）；台账保持原样（写入是整笔的），请检查后再试")
    return CampaignError(f"台账 {path} 无法读写（SQLite 报告：{text}）")


def damaged(path: Path | str, why: str) -> CampaignError:
    return CampaignError(f"台账 {path} 已损坏（{why}）；请停止使用该报送任务，从备份恢复 {LEDGER}"
                         "（archive/ 中收到的文件不受影响，xlkit campaign verify 可核对）")


class Ledger:
    """A connection to one campaign's ledger. Writers take the database lock up front (BEGIN IMMEDIATE) and wait
    for each other, so several `receive` processes at once serialise instead of failing.

    `readonly`: for commands that only look (status, history, verify, archive): nothing in the folder is written,
    so a campaign on read-only media (a CD, a write-protected share) can be read. Such a connection reads through
    the WAL when it can (a normal connection with queries only, which leaves no -wal/-shm behind; `mode=ro` when a
    writer's WAL is already there), and opens the file as immutable where no WAL can be made at all."""

    def __init__(self, folder: str | Path, create: bool = False, readonly: bool = False):
        self.folder = Path(folder)
        path = self.folder / LEDGER
        if not create and not path.is_file():
            raise CampaignError(f"{self.folder} 不是报送任务目录（没有 {LEDGER}）；请先运行 xlkit campaign init")
        try:
            self.db = _open_readonly(path) if readonly else sqlite3.connect(path, timeout=60, isolation_level=None)
            tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not create and not tables >= CORE_TABLES:  # checked before anything is written: an empty file stays empty
                self.db.close()
                raise damaged(path, "文件为空或缺少台账的数据表" if not tables else "缺少台账的数据表")
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
                self.db.execute("PRAGMA foreign_keys=ON")
                if not schema_tables() <= tables:  # a ledger made before a table was added gets it (nothing else changes)
                    self.db.executescript(SCHEMA)
                    tables |= schema_tables()
            self.explained = "explanations" in tables  # a read-only ledger made before the web intake has none
        except sqlite3.Error as exc:
            raise ledger_problem(exc, path) from None
        if not create and self.meta("schema") != SCHEMA_VERSION:
            raise CampaignError(f"{path} 的台账版本为 {self.meta('schema') or '未知'}，本程序支持 {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is recorded or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -------------------------------------------------------------- settings
    def meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) if k in ("specs", "require_explanations") else v
                for k, v in self.db.execute("SELECT key, value FROM meta")}

    # -------------------------------------------------------------- reading
    def units(self) -> list[sqlite3.Row]:
        return self._rows().execute("SELECT * FROM units ORDER BY position").fetchall()

    def unit(self, code: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._rows().execute("SELECT * FROM units WHERE code = ?", (code,)).fetchone()
        return row

    def _rows(self) -> sqlite3.Cursor:
        """A cursor whose rows are read by column name."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor

    def receipts(self, unit_code: str | None = None) -> list[Receipt]:
        """Unexplained warnings count those the unit explained afterwards on the web page as explained."""
        explained = "(SELECT COUNT(DISTINCT issue) FROM explanations e WHERE e.receipt = receipts.id)" if self.explained else "0"
        columns = f"id, sha256, name, received_at, note, by, unit_code, form, errors, warnings, MAX(0, unexplained - {explained}), summary"
        if unit_code is None:
            rows = self.db.execute(f"SELECT {columns} FROM receipts ORDER BY id")
        else:
            rows = self.db.execute(f"SELECT {columns} FROM receipts WHERE unit_code = ? ORDER BY id", (unit_code,))
        return [Receipt(*row) for row in rows]

    def actions(self, unit_code: str | None = None) -> list[Action]:
        columns = "id, unit_code, kind, at, by, text, receipt, letter"
        if unit_code is None:
            rows = self.db.execute(f"SELECT {columns} FROM actions ORDER BY id")
        else:
            rows = self.db.execute(f"SELECT {columns} FROM actions WHERE unit_code = ? ORDER BY id", (unit_code,))
        return [Action(*row) for row in rows]

    def explanations(self, receipt: int) -> dict[int, str]:
        """The 说明 given on the web for a receipt's warnings, by the issue's index in its report (the latest each)."""
        if not self.explained:
            return {}
        return dict(self.db.execute("SELECT issue, text FROM explanations WHERE receipt = ? ORDER BY id", (receipt,)).fetchall())

    def cached_report(self, sha256: str, spec_key: str, version: str) -> bytes | None:
        row = self.db.execute("SELECT report FROM checks WHERE sha256 = ? AND spec_key = ? AND version = ?",
                              (sha256, spec_key, version)).fetchone()
        return row[0] if row else None

    def blob_rows(self) -> list[tuple[str, int]]:
        return self.db.execute("SELECT sha256, size FROM blobs ORDER BY sha256").fetchall()


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (see `Ledger`)."""
    folder_writable = os.access(path.parent, os.W_OK) and os.access(path, os.W_OK)
    wal = path.with_name(path.name + "-wal")
    if folder_writable and not wal.exists():
        db = sqlite3.connect(path, timeout=60, isolation_level=None)  # the last connection to close removes its -wal/-shm
        db.execute("PRAGMA query_only=ON")
        return db
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60, isolation_level=None)
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        if folder_writable:
            raise
    # read-only media and no WAL there: nothing can write this file, so it is read as it stands
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
