"""The campaign ledger: it remembers every file received, every check, every 退回 and 确认, and is the only place
the campaign's SQL is written. Callers use named operations that return the records of `records`; the connection is
the backend's (`backend.Backend`; SQLite by default, `sqlite`). Rows are only ever added, but for the cache of checks
(a new row per spec), the claims that coordinate processes, and the access rows (tokens revoked, sessions ended)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...errors import CampaignError
from .access import META_UPSERT, AccessOps
from .backend import Backend
from .blobdata import BlobDataOps
from .location import SETTINGS, Location, is_campaign, location
from .opening import open_backend
from .people import PeopleOps
from .records import Account, Action, Attempts, AuditEntry, Blob, Mail, NewReceipt, OpenRun, Owner, Receipt, Session, Unit, now, quoted
from .runs import LEASE, RunOps
from .schema import SCHEMA_VERSION
from .sqlite import LEDGER, SQLiteBackend, damaged, ledger_problem
from .unavailable import LedgerUnavailable

__all__ = ["LEASE", "LEDGER", "SCHEMA_VERSION", "SETTINGS", "Account", "Action", "Attempts", "AuditEntry", "Blob", "Ledger", "LedgerUnavailable",
           "Location", "Mail", "NewReceipt", "OpenRun", "Owner", "Receipt", "Session", "Unit", "damaged", "is_campaign", "ledger_problem",
           "location", "now", "quoted"]
RECEIPT = "id, sha256, name, received_at, note, by, unit_code, form, errors, warnings, {unexplained}, summary"
ACTION = "id, unit_code, kind, at, by, text, receipt, letter"


class Ledger(RunOps, AccessOps, PeopleOps, BlobDataOps):
    """One campaign's ledger, open. `readonly`: for commands that only look (status, history, verify, archive):
    nothing is written, not even a migration, so a campaign on read-only media can be read. Opened for writing, a
    ledger of an earlier schema is brought up to date first (`schema`)."""

    def __init__(self, folder: str | Path, create: bool = False, readonly: bool = False, where: Location | None = None):
        self.folder = Path(folder)
        self._db: Backend = open_backend(self.folder, create, readonly, where)  # `where`: a new campaign's database
        try:
            self._open(create, readonly)
        except BaseException:
            self._db.close()
            raise

    def _open(self, create: bool, readonly: bool) -> None:
        self._tables = self._db.tables()
        stored = "" if create else self.meta("schema")
        version = 0 if create else int(stored) if stored.isdigit() else -1
        if not 0 <= version <= SCHEMA_VERSION or (version == 0 and not create):
            raise CampaignError(f"{self._db.where} 的台账版本为 {stored or '未知'}，本程序支持 {SCHEMA_VERSION} 及以前的版本")
        if not readonly and (version < SCHEMA_VERSION or not self._db.schema_tables() <= self._tables):
            with self._db.transaction():  # a ledger lacking a table of its own version gets every step again
                self._db.migrate(version if version < SCHEMA_VERSION else 0)
                if not create:
                    self._db.run(META_UPSERT, ("schema", str(SCHEMA_VERSION)))
            self._tables = self._db.tables()
        self.explained = "explanations" in self._tables  # a read-only ledger made before the web intake has none

    def close(self) -> None:
        self._db.close()

    @property
    def reusable(self) -> bool:
        """Whether this opening may stay open for later work of the same thread (a web server's next request): a
        SQLite connection `keepable` says is fit, while the folder has not moved to a database server
        (`ledger.json`). A server database's connections come from its backend's pool, never kept."""
        try:
            return isinstance(self._db, SQLiteBackend) and self._db.keepable() and not (self.folder / SETTINGS).exists()
        except (OSError, CampaignError):
            return False  # whatever fails to tell is not kept

    def checkpoint(self) -> None:
        """The database's own file made complete (`Backend.checkpoint`): a server that keeps connections open does
        this while idle and when it stops."""
        self._db.checkpoint()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One transaction around several operations (a rule that reads, then writes): all of it or none of it, and
        no other writer in between. Operations called inside join it."""
        with self._db.transaction():
            yield

    # -------------------------------------------------------------- settings
    def meta(self, key: str, default: str = "") -> str:
        return str(self._db.value("SELECT value FROM meta WHERE key = ?", (key,), default))

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) if k in ("specs", "require_explanations") else v for k, v in self._db.rows("SELECT key, value FROM meta")}

    def create(self, settings: dict[str, str], units: Iterable[Unit]) -> None:
        """A new campaign's settings and roster, at the current schema."""
        with self._db.transaction():
            self._db.run_many("INSERT INTO meta(key, value) VALUES (?, ?)", [("schema", str(SCHEMA_VERSION)), *settings.items()])
            self._db.run_many("INSERT INTO units(code, position, name, department, contact, phone) VALUES (?, ?, ?, ?, ?, ?)",
                              [(u.code, u.position, u.name, u.department, u.contact, u.phone) for u in units])

    def web_secret(self, candidate: str) -> str:
        """The web app's signing secret: the first server's `candidate`, kept for every server after."""
        with self._db.transaction():
            self._db.run("INSERT INTO meta(key, value) VALUES ('web_secret', ?) ON CONFLICT DO NOTHING", (candidate,))
        return self.meta("web_secret")

    # -------------------------------------------------------------- reading
    def units(self) -> list[Unit]:
        return [Unit(*row) for row in self._db.rows("SELECT code, position, name, department, contact, phone FROM units ORDER BY position")]

    def known_units(self, codes: Iterable[str]) -> set[str]:
        """Which of these codes are roster units: a web upload asks about one or two, not the whole roster."""
        wanted, known = sorted(set(codes)), set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            known |= {str(c) for (c,) in self._db.rows(f"SELECT code FROM units WHERE code IN ({', '.join('?' * len(chunk))})", chunk)}
        return known

    def unit(self, code: str) -> Unit | None:
        row = self._db.row("SELECT code, position, name, department, contact, phone FROM units WHERE code = ?", (code,))
        return Unit(*row) if row else None

    def receipts(self, unit_code: str | None = None) -> list[Receipt]:
        """Unexplained warnings count those the unit explained afterwards on the web page as explained."""
        return self._receipts("WHERE unit_code = ?" if unit_code is not None else "", () if unit_code is None else (unit_code,))

    def receipt(self, receipt_id: int) -> Receipt | None:
        found = self._receipts("WHERE id = ?", (receipt_id,))
        return found[0] if found else None

    def _receipts(self, where: str, params: tuple[Any, ...]) -> list[Receipt]:
        explained = "(SELECT COUNT(DISTINCT issue) FROM explanations e WHERE e.receipt = receipts.id)" if self.explained else "0"
        left = f"CASE WHEN unexplained > {explained} THEN unexplained - {explained} ELSE 0 END"
        return [Receipt(*row) for row in self._db.rows(f"SELECT {RECEIPT.format(unexplained=left)} FROM receipts {where} ORDER BY id", params)]

    def actions(self, unit_code: str | None = None) -> list[Action]:
        if unit_code is None:
            return [Action(*row) for row in self._db.rows(f"SELECT {ACTION} FROM actions ORDER BY id")]
        return [Action(*row) for row in self._db.rows(f"SELECT {ACTION} FROM actions WHERE unit_code = ? ORDER BY id", (unit_code,))]

    def explanations(self, receipt: int) -> dict[int, str]:
        """The 说明 given on the web for a receipt's warnings, by the issue's index in its report (the latest each)."""
        if not self.explained:
            return {}
        return {int(k): str(v) for k, v in self._db.rows("SELECT issue, text FROM explanations WHERE receipt = ? ORDER BY id", (receipt,))}

    def cached_report(self, sha256: str, spec_key: str, version: str) -> bytes | None:
        found = self._db.value("SELECT report FROM checks WHERE sha256 = ? AND spec_key = ? AND version = ?", (sha256, spec_key, version))
        return bytes(found) if found is not None else None

    def latest_report(self, sha256: str) -> bytes | None:
        """A blob's most recent check, whatever spec made it."""
        found = self._db.value("SELECT report FROM checks WHERE sha256 = ? ORDER BY id DESC LIMIT 1", (sha256,))
        return bytes(found) if found is not None else None

    def cache_size(self) -> tuple[int, int]:
        """(cached checks, their bytes), for the bench."""
        count, size = self._db.row("SELECT COUNT(*), SUM(LENGTH(report)) FROM checks") or (0, 0)
        return int(count), int(size or 0)

    def blobs(self) -> list[Blob]:
        return [Blob(str(sha), int(size)) for sha, size in self._db.rows("SELECT sha256, size FROM blobs ORDER BY sha256")]

    def blob(self, sha256: str) -> Blob | None:
        size = self._db.value("SELECT size FROM blobs WHERE sha256 = ?", (sha256,))
        return Blob(sha256, int(size)) if size is not None else None

    def received_blobs(self) -> set[str]:
        """The blobs some receipt refers to."""
        return {str(sha) for (sha,) in self._db.rows("SELECT DISTINCT sha256 FROM receipts")}

    # -------------------------------------------------------------- writing
    def cache_report(self, sha256: str, spec_key: str, version: str, report: bytes) -> None:
        with self._db.transaction(durable=False):  # a cache: lost, the file is checked again
            self._db.run("INSERT INTO checks(sha256, spec_key, version, report) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (sha256, spec_key, version, report))

    def add_action(self, unit_code: str, kind: str, at: str, by: str, text: str, receipt: int) -> int:
        """A decision (return / accept) on a receipt; its id names the 退回 letter."""
        with self._db.transaction():
            return self._db.insert("INSERT INTO actions(unit_code, kind, at, by, text, receipt) VALUES (?, ?, ?, ?, ?, ?)",
                                   (unit_code, kind, at, by, text, receipt))

    def set_letter(self, action: int, letter: str) -> None:
        with self._db.transaction():
            self._db.run("UPDATE actions SET letter = ? WHERE id = ?", (letter, action))

    def add_explanations(self, receipt: int, notes: list[tuple[int, str]], at: str) -> None:
        """说明 given on the web: (issue index, text) each."""
        with self._db.transaction():
            self._db.run_many("INSERT INTO explanations(receipt, issue, text, at) VALUES (?, ?, ?, ?)",
                              [(receipt, issue, text, at) for issue, text in notes])
