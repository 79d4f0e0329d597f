"""Checking uploads from a threaded web server: a checker process, started before the server's threads, forks the
bounded reader processes (as `consolidate` does) from a process with a single thread; the server's threads hand it
files one request at a time."""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..bureau.isolate import die_with_parent, messages
from ..campaign.checks import Bounds, read_bounded
from ..form.registry import registry_for
from ..intake.report import FileReport


def _serve(conn: Connection, spec_paths: tuple[str, ...], timeout: float, memory_mb: int | None, parent: int) -> None:
    die_with_parent(parent)
    registry_for(spec_paths)  # loaded once, inherited by every reader it forks
    bounds = Bounds(jobs=1, timeout=timeout, memory_mb=memory_mb)
    for paths, specs in messages(conn):
        try:
            conn.send(read_bounded([Path(p) for p in paths], specs, bounds))
        except Exception as exc:
            conn.send(exc)


class Checker:
    """`reader` for `Bounds`: the same reports `read_all` gives, read by the checker process's readers."""

    def __init__(self, spec_paths: tuple[str, ...] = (), timeout: float = 120.0, memory_mb: int | None = 2048):
        context: Any = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        # not a daemon: it starts reader processes of its own; it ends with the server (EOF, or its parent's death)
        self.process = context.Process(target=_serve, args=(child, spec_paths, timeout, memory_mb, os.getpid()))
        self.process.start()
        child.close()
        self.lock = threading.Lock()

    def __call__(self, paths: list[Path], spec_paths: tuple[str, ...], bounds: Bounds) -> list[FileReport]:
        with self.lock:
            self.conn.send(([str(p) for p in paths], spec_paths))
            answer = self.conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return list(answer)

    def close(self) -> None:
        try:
            with self.lock:
                self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
