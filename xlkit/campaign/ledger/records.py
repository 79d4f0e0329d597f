"""What the ledger hands out: plain frozen records, never a driver's row, so a backend can change under them."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone


def now() -> str:
    """The bureau's clock, in UTC: receipt order never depends on a unit's clock."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def quoted(text: str, limit: int = 60) -> str:
    """A name from outside (a command line, a URL) as people read it: in 「」, control characters removed, cut short."""
    clean = "".join(c for c in text if c.isprintable())
    return f"「{clean[:limit]}{'…' if len(clean) > limit else ''}」"


@dataclass(frozen=True)
class Unit:
    code: str
    position: int
    name: str
    department: str
    contact: str
    phone: str


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


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


@dataclass(frozen=True)
class NewReceipt:
    """A receipt as `receive` decides it, before the ledger numbers it."""

    sha256: str
    name: str
    received_at: str
    note: str
    by: str
    unit_code: str
    form: str
    errors: int
    warnings: int
    unexplained: int
    summary: str


@dataclass(frozen=True)
class OpenRun:
    """A receive run not finished: its files, how many have their receipt, and whether a live process holds it."""

    id: int
    started_at: str
    files: int
    recorded: int
    held: bool


@dataclass(frozen=True)
class Attempts:
    failures: int
    next_at: float


@dataclass(frozen=True)
class Session:
    account: str
    generation: int
    last_seen: float
    ended: float | None
    ended_why: str


@dataclass(frozen=True)
class Owner:
    """Who holds a claim (a run, a unit's upload slot): this host, process and its start, and until when. On its own
    host a claim lives exactly as long as its process (a reused pid has another start time); from another host, until
    its lease runs out unless renewed."""

    host: str
    pid: int
    since: str
    expires: float

    @staticmethod
    def me(lease: float) -> Owner:
        return Owner(socket.gethostname(), os.getpid(), process_start(os.getpid()), time.time() + lease)

    def alive(self) -> bool:
        if self.host != socket.gethostname():
            return self.expires > time.time()
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: alive
            pass
        return process_start(self.pid) == self.since


def process_start(pid: int) -> str:
    """The process's start in clock ticks since boot (Linux); "" where that cannot be read or the process is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return ""
    try:
        return "" if fields[0] == "Z" else fields[19]  # a zombie is dead, only not yet reaped
    except IndexError:
        return ""


@dataclass(frozen=True)
class Account:
    """An officer: login, name, role (admin / reviewer / department) and, for a department's officer, its name."""

    login: str
    name: str
    role: str
    department: str
    generation: int  # moves on with each new password: sessions of an older one end
    disabled: bool
    created_at: str


@dataclass(frozen=True)
class AuditEntry:
    """One line of the trail: who (login, name, role, address) did what, when; never changed afterwards."""

    id: int
    at: str
    kind: str  # receipt / pass / return / accept / explain / account-add / account-passwd / account-disable / setting / mail-failed
    login: str
    name: str
    role: str
    address: str
    unit_code: str
    receipt: int | None
    action: int | None
    text: str


@dataclass(frozen=True)
class Mail:
    """A message queued for a unit: sent by the server or `xlkit mail send`, retried with backoff on failure."""

    id: int
    created_at: str
    kind: str  # receipt / return / remind
    unit_code: str
    recipient: str
    subject: str
    body: str
    attachments: tuple[str, ...]  # paths relative to the campaign folder
    attempts: int
    next_at: float
    sent_at: str | None
    outcome: str  # "" while pending; sent / outbox / given-up
