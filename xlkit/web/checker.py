"""Checking uploads from a threaded web server: a checker process, started before the server's threads, forks the
bounded reader processes (as `consolidate` does) from a process with a single thread; the server's threads hand it
files one request at a time. If it dies it is started again (spawned: a fresh interpreter, never a fork of the
threaded server) and the file is handed over once more; the board says how often that happened."""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..bureau.clock import local_time
from ..bureau.consolidate import check_one, read_all
from ..bureau.isolate import Workers, die_with_parent, messages
from ..campaign.checks import Bounds
from ..campaign.ledger import now
from ..form.registry import registry_for
from ..intake.report import FileReport

logger = logging.getLogger("xlkit.web")
CHECKER_NOTICE = """{% if notice %}<p class="flash" role="status">{{ notice }}</p>{% endif %}"""


def _serve(conn: Connection, spec_paths: tuple[str, ...], timeout: float, memory_mb: int | None, parent: int) -> None:
    die_with_parent(parent)
    registry_for(spec_paths)  # loaded once, inherited by every reader it forks
    workers = Workers(check_one, os.cpu_count() or 1, timeout, memory_mb)  # kept warm from one upload to the next
    try:
        for paths, specs in messages(conn):
            try:
                conn.send(read_all([Path(p) for p in paths], specs, whole=True, workers=workers))
            except Exception as exc:
                conn.send(exc)
    finally:
        workers.close()


@dataclass
class _Request:
    paths: list[str]
    spec_paths: tuple[str, ...]
    answer: Any = None
    done: bool = False


class Checker:
    """`reader` for `Bounds`: the same reports `read_all` gives, read by the checker process's readers."""

    def __init__(self, spec_paths: tuple[str, ...] = (), timeout: float = 120.0, memory_mb: int | None = 2048):
        self.args = (spec_paths, timeout, memory_mb)
        self.lock = threading.Lock()  # one batch at a time through the pipe
        self.waiting_lock = threading.Lock()
        self.waiting: list[_Request] = []
        self.restarts = 0
        self.last_restart = ""  # when, ISO 8601 UTC
        self._start("fork")

    def _start(self, method: str) -> None:
        context: Any = multiprocessing.get_context(method)
        self.conn, child = context.Pipe()
        # not a daemon: it starts reader processes of its own; it ends with the server (EOF, or its parent's death)
        self.process = context.Process(target=_serve, args=(child, *self.args, os.getpid()))
        self.process.start()
        child.close()

    def __call__(self, paths: list[Path], spec_paths: tuple[str, ...], bounds: Bounds) -> list[FileReport]:
        """Uploads that arrive while the checker is busy wait together and are handed over as one batch when it is
        free (the first waiting thread carries it): 50 units at once cost one round trip, checked on every core."""
        request = _Request([str(p) for p in paths], spec_paths)
        with self.waiting_lock:
            self.waiting.append(request)
        with self.lock:
            if not request.done:
                with self.waiting_lock:
                    batch = [r for r in self.waiting if r.spec_paths == spec_paths]
                    self.waiting = [r for r in self.waiting if r.spec_paths != spec_paths]
                self._check(batch)
        if isinstance(request.answer, Exception):
            raise request.answer
        return list(request.answer)

    def _check(self, batch: list[_Request]) -> None:
        message = ([p for r in batch for p in r.paths], batch[0].spec_paths)
        try:
            answer = self._ask(message)
        except (OSError, EOFError):  # the checker died (killed, out of memory): once more with a new one
            self._restart()
            answer = self._ask(message)
        start = 0
        for request in batch:  # exactly one report per path, in order
            request.answer = answer if isinstance(answer, Exception) else answer[start:start + len(request.paths)]
            start += len(request.paths)
            request.done = True

    def _ask(self, message: Any) -> Any:
        self.conn.send(message)
        return self.conn.recv()

    def _restart(self) -> None:
        logger.error("the checking process (pid %s) ended with %s; starting a new one", self.process.pid, self.process.exitcode)
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self._start("spawn")  # this process has threads now: no fork
        self.restarts += 1
        self.last_restart = now()

    def close(self) -> None:
        try:
            with self.lock:
                self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()


def checker_notice(reader: Any, zone: Any) -> str:
    """The board's line on the checker: nothing while it never had to be restarted."""
    restarts = getattr(reader, "restarts", 0)
    if not restarts:
        return ""
    return (f"审核进程曾意外退出，已自动重新启动 {restarts} 次（最近一次：{local_time(reader.last_restart, zone)}），"
            "其间的上传已重新审核。如反复出现，请检查服务器的内存和日志。")
