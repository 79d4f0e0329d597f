"""Receive runs as people hear of them. A run is claimed in the ledger while it runs (`Ledger.start_run`: an owner
row naming host, process and its start, with a lease), and the claim goes when it ends. A receive killed outright
(kill -9, power loss) leaves its claim and an open run: the next receive drops claims whose process is dead (or,
from another host, whose lease ran out) and closes the dead runs that had recorded every file; a dead run that had
not stays open (the same command resumes it) and `status` and `verify` say so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from ..bureau.clock import local_time
from .ledger import Ledger


@dataclass(frozen=True)
class Unfinished:
    run: int
    started_at: str
    files: int
    recorded: int


def unfinished(ledger: Ledger) -> list[Unfinished]:
    """Runs whose process is gone before every file was recorded (read only: nothing is dropped or closed)."""
    return [Unfinished(r.id, r.started_at, r.files, r.recorded) for r in ledger.open_runs() if r.recorded < r.files and not r.held]


def describe(runs: list[Unfinished], zone: tzinfo) -> list[str]:
    return [f"收件批次 {u.run}（{local_time(u.started_at, zone)} 开始）中断未完成：{u.files} 个文件中已记录 {u.recorded} 个；"
            "用同样的命令（同样的文件、附言和经办人）再运行一次 xlkit receive 即可补全，网页上传中断的文件请单位重新上传"
            for u in runs]
