"""Receive runs and their lock files: a run holds `locks/run-N.lock` (flock) while it runs, and the file goes when it
ends. A receive killed outright (kill -9, power loss) leaves its lock file and an open run: the next receive removes
lock files no process holds and closes the dead runs that had recorded every file; a dead run that had not stays
open (the same command resumes it) and `status` and `verify` say so."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import IO

from ..bureau.clock import local_time
from .ledger import Ledger, now

LOCKS = "locks"  # one lock file per receive run while it runs


@dataclass(frozen=True)
class Unfinished:
    run: int
    started_at: str
    files: int
    recorded: int


def lock_path(folder: Path, run: int) -> Path:
    return folder / LOCKS / f"run-{run}.lock"


def try_lock(path: Path) -> IO[bytes] | None:
    """An exclusive lock the kernel drops when its process dies, however it dies; None while another holds it. A
    lock taken on a file its holder removed meanwhile is not a lock: the file at the path is tried again."""
    for _attempt in range(3):
        handle = path.open("a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()
    return None


def release(handle: IO[bytes]) -> None:
    """The run is over (finished or given up): its lock file goes, removed while still held."""
    try:
        Path(handle.name).unlink(missing_ok=True)
    finally:
        handle.close()


def tidy(db: sqlite3.Connection, folder: Path) -> None:
    """Inside the caller's write transaction (no run can start meanwhile): lock files no process holds are removed,
    and open runs without a lock file whose every file has its receipt are closed."""
    locks = folder / LOCKS
    for path in sorted(locks.glob("run-*.lock")) if locks.is_dir() else []:
        handle = try_lock(path)
        if handle is not None:
            release(handle)
    for run, files, recorded in _open_runs(db):
        if recorded >= files and not lock_path(folder, run).exists():
            db.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (now(), run))


def unfinished(ledger: Ledger) -> list[Unfinished]:
    """Runs whose process is gone before every file was recorded (read only: nothing is removed or closed)."""
    out = []
    for run, files, recorded in _open_runs(ledger.db):
        if recorded < files and not _held(lock_path(ledger.folder, run)):
            started = ledger.db.execute("SELECT started_at FROM runs WHERE id = ?", (run,)).fetchone()[0]
            out.append(Unfinished(run, started, files, recorded))
    return out


def describe(runs: list[Unfinished], zone: tzinfo) -> list[str]:
    return [f"收件批次 {u.run}（{local_time(u.started_at, zone)} 开始）中断未完成：{u.files} 个文件中已记录 {u.recorded} 个；"
            "用同样的命令（同样的文件、附言和经办人）再运行一次 xlkit receive 即可补全，网页上传中断的文件请单位重新上传"
            for u in runs]


def _open_runs(db: sqlite3.Connection) -> list[tuple[int, int, int]]:
    return db.execute("SELECT runs.id, runs.files, (SELECT COUNT(*) FROM receipts WHERE receipts.run = runs.id) FROM runs "
                      "WHERE finished_at IS NULL ORDER BY runs.id").fetchall()


def _held(path: Path) -> bool:
    """Whether a live process holds this lock, asked without writing anything (a shared lock on a read handle)."""
    try:
        handle = path.open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        return False
