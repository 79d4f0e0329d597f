"""Which backend opens a folder's ledger: the database its `ledger.json` names, else its SQLite file."""

from __future__ import annotations

from pathlib import Path

from .backend import Backend
from .location import Location, location
from .sqlite import SQLiteBackend


def open_backend(folder: Path, create: bool = False, readonly: bool = False, where: Location | None = None) -> Backend:
    """The folder's ledger: its database when `ledger.json` names one (or `where` does, for a new campaign), else
    its SQLite file."""
    found = where or location(folder)
    if found is None:
        return SQLiteBackend(folder, create, readonly)
    from .postgres import PostgresBackend  # psycopg only for those who use it

    return PostgresBackend(found, folder, create, readonly)
