"""One opening of the ledger for each request that needs it, shared by the hooks and the view that serve the
request; and, on SQLite, kept by the serving thread for its next request.

An upload went through five openings (its link, its slot, its unit, its receipt, its slot given back), and a new
SQLite connection reads the ledger's schema before its first statement: together a tenth of what a server spent
on an upload. A thread's SQLite opening is kept only if its request ended cleanly, outside any transaction; one
that saw a failure is closed, and the next request opens afresh. A server database's connections are pooled by
its backend already (`ledger.postgres`), so its openings are given back at the end of each request."""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from flask import Flask, g, has_request_context

from ..campaign.ledger import Ledger

logger = logging.getLogger("xlkit.web")
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
    """At the end of the request's application context: after every teardown of the request, which may use its
    ledger, and even when one of them failed."""

    @app.teardown_appcontext
    def close(error: BaseException | None) -> None:
        found: Ledger | None = g.pop("ledger", None)
        if found is None:
            return
        if error is None and not g.pop("ledger_failed", False) and found.reusable:
            _KEPT.__dict__.setdefault("ledgers", {})[found.folder] = found
        else:
            found.close()


class Checkpoints:
    """While the kept openings are idle SQLite keeps recent commits in its log beside the file: every `every`
    seconds, and when the server stops, they are folded into the file (`Ledger.checkpoint`), so that the file alone
    is the whole ledger for a backup that copies it."""

    def __init__(self, folder: Path, every: float = 30.0):
        self.folder, self.every = folder, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="xlkit-checkpoints", daemon=True)

    def start(self) -> Checkpoints:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        self._once()

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            self._once()

    def _once(self) -> None:
        try:
            with Ledger(self.folder) as ledger:
                ledger.checkpoint()
        except Exception as exc:  # a busy or absent ledger: the next time, or SQLite's own when the log grows
            logger.warning("台账检查点未完成：%s", exc)
