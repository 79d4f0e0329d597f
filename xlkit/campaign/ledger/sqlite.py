"""The SQLite backend: one file in the campaign folder (standard library, WAL, synchronous=FULL). Writers take the
database lock up front (BEGIN IMMEDIATE) and wait for each other for up to a minute, so several processes at once
serialise instead of failing. SQLite's failures reach people as `ledger_problem`'s Chinese sentences.

Read-only (status, history, verify, archive): nothing in the folder is written, so a campaign on read-only media
(a CD, a write-protected share) can be read. Such a connection reads through the WAL when it can (a normal
connection with queries only, which leaves no -wal/-shm behind; `mode=ro` when a writer's WAL is already there),
and opens the file as immutable where no WAL can be made at all."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from ...errors import CampaignError
from .backend import Backend, LedgerError, Params
from .schema import CORE_TABLES, SCHEMA_VERSION, SQLITE_STEPS, statements

LEDGER = "ledger.sqlite"
T = TypeVar("T")


def ledger_problem(exc: sqlite3.Error, path: Path | str = LEDGER) -> LedgerError:
    """What a failing ledger means to the bureau, and what to do (SQLite's own words only as a last resort)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "not a database" in text or "malformed" in text:
        return damaged(path, "不是完整的 SQLite 数据库")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return LedgerError(f"台账 {path} 正被其他程序长时间占用（如正在运行的 xlkit serve 或 receive），请稍后再试")
    if name.startswith(("SQLITE_FULL", "SQLITE_TOOBIG")) or "is full" in text:
        return LedgerError(f"台账 {path} 无法写入：磁盘已满或超过文件大小限制；台账保持原样")
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return LedgerError(f"台账 {path} 无法写入：所在位置只读或没有写权限；只读的位置只能查看（status、history、verify、archive）")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in text:
        return LedgerError(f"无法打开台账 {path}：文件或所在目录只读或没有读写权限；只读的位置只能查看（status、history、verify、archive）")
    if name.startswith("SQLITE_IOERR") or "disk I/O" in text:
        return LedgerError(f"读写台账 {path} 时出错（磁盘已满、超过文件大小限制或磁盘故障）；台账保持原样（写入是整笔的），请检查后再试")
    return LedgerError(f"台账 {path} 无法读写（SQLite 报告：{text}）")


def damaged(path: Path | str, why: str) -> LedgerError:
    return LedgerError(f"台账 {path} 已损坏（{why}）；请停止使用该报送任务，从备份恢复 {LEDGER}"
                         "（archive/ 中收到的文件不受影响，xlkit campaign verify 可核对）")


class SQLiteBackend(Backend):
    def __init__(self, folder: Path, create: bool = False, readonly: bool = False):
        path = folder / LEDGER
        if not create and not path.is_file():
            raise CampaignError(f"{folder} 不是报送任务目录（没有 {LEDGER}）；请先运行 xlkit campaign init")
        self.path, self.where, self.readonly, self._depth = path, str(path), readonly, 0
        self._db = self._call(lambda: _open_readonly(path) if readonly else sqlite3.connect(path, timeout=60, isolation_level=None))
        self.file = _identity(path)  # the file opened (see `keepable`)
        tables = self.tables()
        if not create and not tables >= CORE_TABLES:  # checked before anything is written: an empty file stays empty
            self._db.close()
            raise damaged(path, "文件为空或缺少台账的数据表" if not tables else "缺少台账的数据表")
        if not readonly:
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                self.run(f"PRAGMA {pragma}")
        self.schema_version = self._schema_version()

    def _call(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except sqlite3.Error as exc:
            raise ledger_problem(exc, self.path) from None

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._call(lambda: self._db.execute(sql, params).fetchall())

    def run(self, sql: str, params: Params = ()) -> int:
        return self._call(lambda: self._db.execute(sql, params).rowcount)

    def run_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._call(lambda: self._db.executemany(sql, rows))

    def _begin(self, durable: bool) -> None:
        if not durable:  # the safety level cannot change inside a transaction; _commit and _rollback restore it
            self.run("PRAGMA synchronous=NORMAL")
        self._call(lambda: self._db.execute("BEGIN IMMEDIATE"))

    def _commit(self) -> None:
        self._call(lambda: self._db.execute("COMMIT"))
        self._restore()

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._restore()
        except sqlite3.Error:
            pass  # the failure that brought us here is the one to tell

    def _restore(self) -> None:
        if not self._durable:
            self._db.execute("PRAGMA synchronous=FULL")

    def tables(self) -> set[str]:
        return {row[0] for row in self.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def schema_tables(self) -> set[str]:
        return set(_SCHEMA_TABLES)

    def migrate(self, version: int) -> None:
        for step in range(max(1, version), SCHEMA_VERSION + 1):  # step 1 again: it completes ledgers of the early releases
            for statement in statements(SQLITE_STEPS[step]):
                self.run(statement)
        self.schema_version = self._schema_version()  # changed by this connection, not by another process

    def close(self) -> None:
        self._db.close()

    def keepable(self) -> bool:
        """Whether this connection may stay open for later work: writable, outside any transaction, on the file that
        is still under the ledger's name (not one restored from a backup, nor renamed away by a move to a database
        server), whose schema no other process has changed since (a later release migrating it)."""
        return (not self.readonly and not self._depth and not self._db.in_transaction and _identity(self.path) == self.file
                and self._schema_version() == self.schema_version)

    def _schema_version(self) -> int:
        return int(self.rows("PRAGMA schema_version")[0][0])

    def checkpoint(self) -> None:
        """The log folded into the file and emptied when no reader holds it (a reader's snapshot leaves it for the
        next time): the file alone is then the whole ledger, for a backup that copies it or a restore over it."""
        self.rows("PRAGMA wal_checkpoint(TRUNCATE)")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


_SCHEMA_TABLES = frozenset(s.split()[5].split("(")[0] for step in SQLITE_STEPS.values() for s in statements(step)
                           if s.startswith("CREATE TABLE"))  # parsed once: a server opens the ledger at each request


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write (see the module's docstring)."""
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
