"""One opening of the ledger for each request that needs it, shared by the hooks and the view that serve the
request; and, on SQLite, kept by the serving thread for its next request.

An upload went through five openings (its link, its slot, its unit, its receipt, its slot given back), and a new
SQLite connection reads the ledger's schema before its first statement: together a tenth of what a server spent
on an upload. A thread's SQLite opening is kept only if its request ended cleanly, outside any transaction; one
that saw a failure is closed, and the next request opens afresh. A server database's connections are pooled by
its backend already (`ledger.postgres`), so its openings are given back at the end of each request."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from flask import Flask, g, has_request_context

from ..campaign.ledger import Ledger

_KEPT = threading.local()  # this thread's SQLite opening, by folder (a SQLite connection belongs to its thread)


def request_ledger(folder: Path) -> AbstractContextManager[Ledger]:
    """The request's ledger, opened at its first use (or the one this thread kept); used as `with
    request_ledger(folder) as ledger:` like an opening of its own, but left open for the rest of the request.
    Outside a request, an opening of its own."""
    if not has_request_context():
        return Ledger(folder)
    found = g.get("ledger")
    if found is None:
        kept: dict[Path, Ledger] = _KEPT.__dict__.setdefault("ledgers", {})
        found = kept.pop(folder, None)
        if found is not None and not found.reusable:  # its file was replaced or moved since the last request
            found.close()
            found = None
        found = g.ledger = found or Ledger(folder)
    return nullcontext(found)


def ledger_failed() -> None:
    """Said by an error handler: the request's opening saw a failure and is not kept."""
    g.ledger_failed = True


def close_request_ledgers(app: Flask) -> None:
    """Registered before every other teardown that uses the request's ledger, so that it runs after them."""

    @app.teardown_request
    def close(error: BaseException | None) -> None:
        found: Ledger | None = g.pop("ledger", None)
        if found is None:
            return
        if error is None and not g.pop("ledger_failed", False) and found.reusable:
            _KEPT.__dict__.setdefault("ledgers", {})[found.folder] = found
        else:
            found.close()
