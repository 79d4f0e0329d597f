"""The campaign ledger: one SQLite file (standard library, WAL) that remembers every file received, every check,
every 退回 and 确认. Rows are only ever added (a check cached for a new spec is the one exception: a new row)."""

from __future__ import annotations

import json
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


class Ledger:
    """A connection to one campaign's ledger. Writers take the database lock up front (BEGIN IMMEDIATE) and wait
    for each other, so several `receive` processes at once serialise instead of failing."""

    def __init__(self, folder: str | Path, create: bool = False):
        self.folder = Path(folder)
        path = self.folder / LEDGER
        if not create and not path.is_file():
            raise CampaignError(f"{self.folder} 不是报送任务目录（没有 {LEDGER}）；请先运行 xlkit campaign init")
        try:
            self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            if create or self._missing_tables():
                self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CampaignError(f"无法打开台账 {path}：{exc}") from None
        if not create and self.meta("schema") != SCHEMA_VERSION:
            raise CampaignError(f"{path} 的台账版本为 {self.meta('schema') or '未知'}，本程序支持 {SCHEMA_VERSION}")

    def _missing_tables(self) -> bool:
        """A ledger made before the web intake lacks its tables: they are added (nothing else changes)."""
        names = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return bool({"meta", "receipts"} <= names and not {"tokens", "explanations"} <= names)

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
        columns = ("id, sha256, name, received_at, note, by, unit_code, form, errors, warnings, "
                   "MAX(0, unexplained - (SELECT COUNT(DISTINCT issue) FROM explanations e WHERE e.receipt = receipts.id)), summary")
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
        return dict(self.db.execute("SELECT issue, text FROM explanations WHERE receipt = ? ORDER BY id", (receipt,)).fetchall())

    def cached_report(self, sha256: str, spec_key: str, version: str) -> bytes | None:
        row = self.db.execute("SELECT report FROM checks WHERE sha256 = ? AND spec_key = ? AND version = ?",
                              (sha256, spec_key, version)).fetchone()
        return row[0] if row else None

    def blob_rows(self) -> list[tuple[str, int]]:
        return self.db.execute("SELECT sha256, size FROM blobs ORDER BY sha256").fetchall()
