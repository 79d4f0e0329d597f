"""The seam under the ledger: what a database must offer for `Ledger`'s named operations to run on it.

The operations write their SQL once, portable: `?` placeholders (a backend with another style rewrites them in
`prepare`), `INSERT … ON CONFLICT … DO NOTHING / DO UPDATE SET x = excluded.x`, `RETURNING id`, `CASE` instead of
two-argument MAX. A backend brings the connection, its DDL and migrations, the translation of its errors into the
bureau's words, and `transaction()`, which must serialise writers of one ledger (SQLite: BEGIN IMMEDIATE; a server
database: a transaction-scoped lock on the campaign), so that what an operation reads inside it still holds when it
writes. Coordination between processes (run claims, upload slots, login counts, sessions) is rows written in such
transactions: nothing lives in one process's memory or in files beside the database."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ...errors import CampaignError

Params = Sequence[Any]


class LedgerError(CampaignError):
    """The ledger's database failed an operation (locked too long, unwritable, full, damaged, its server gone): that
    operation recorded nothing. What `receive` tells apart from a problem of the files."""


class Backend(ABC):
    readonly: bool
    _depth: int = 0  # nesting of transaction(): only the outermost begins and commits
    _durable: bool = True  # the open transaction's commit waits for the disk
    where: str  # the ledger as people name it in messages (a file, a server)

    @abstractmethod
    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """All rows of a query."""

    @abstractmethod
    def run(self, sql: str, params: Params = ()) -> int:
        """A statement; returns how many rows it changed."""

    @abstractmethod
    def run_many(self, sql: str, rows: Iterable[Params]) -> None: ...

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[None]:
        """One write transaction, all or nothing, writers serialised; nested calls join the open one.

        `durable=False`: coordination whose loss in a power failure loses nothing anyone was told (upload slots, run
        claims and ends, cached checks). Its commit is in the operating system's hands, as safe from a killed process
        as any, but not waited onto the disk: the next durable commit, a receipt, flushes it with its own (one log,
        written in order). At 50 uploads at once the waits for the disk under the writers' lock were most of the
        time; now a receipt is the one wait of an upload."""
        if self._depth:
            if durable and not self._durable:
                raise RuntimeError("a durable write cannot join a transaction opened as not durable")
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth, self._durable = 1, durable
        try:
            self._begin(durable)
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        try:
            self._commit()
        except CampaignError:
            self._rollback()
            raise

    @abstractmethod
    def _begin(self, durable: bool) -> None:
        """Open the transaction and wait until this writer is the campaign's only one."""

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None:
        """Undo, quietly: the failure that brought us here is the one to tell."""

    @abstractmethod
    def tables(self) -> set[str]: ...

    @abstractmethod
    def schema_tables(self) -> set[str]:
        """The tables of the current schema."""

    @abstractmethod
    def migrate(self, version: int) -> None:
        """Bring the schema from `version` to the current one (inside a transaction; the caller records it)."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def checkpoint(self) -> None:
        """Make the database's own file complete (SQLite: its write-ahead log folded in and emptied)."""

    def row(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def value(self, sql: str, params: Params = (), default: Any = None) -> Any:
        found = self.row(sql, params)
        return found[0] if found else default

    def insert(self, sql: str, params: Params = ()) -> int:
        """An INSERT's new id."""
        found = self.row(sql + " RETURNING id", params)
        assert found is not None
        return int(found[0])
