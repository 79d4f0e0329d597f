"""Who may reach a campaign over the web: each unit's personal link token and the bureau's password.

Tokens are 256 random bits, shown once (in the links file) and stored only as their sha256; a unit's link can be
revoked or issued anew, which revokes the old one. The password is stored as an scrypt hash (standard library).

The bureau's logins are server-side sessions: the cookie holds a random id, the ledger its digest with when it began,
when it was last used and the password's generation, so a logout, a new password or an idle hour ends it on the
server. Login attempts are counted in the ledger before the password is checked (in one write transaction), per
account and address and per account overall, and wait longer after each failure rather than lock anyone out."""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import CampaignError
from ..files import atomic_path
from .ledger import Ledger, now

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8
ANY_ADDRESS = "*"  # the key of an account's attempts from everywhere
FORGET = 3600.0  # seconds after its last wait ended that a key's failures are forgotten


@dataclass(frozen=True)
class Backoff:
    """Failures allowed at once, then a wait that doubles every `every` failures up to a cap (seconds)."""
    free: int
    first: float
    every: int
    cap: float

    def delay(self, failures: int) -> float:
        return 0.0 if failures < self.free else min(self.cap, self.first * 2 ** ((failures - self.free) // self.every))


PER_ADDRESS = Backoff(free=5, first=15.0, every=1, cap=300.0)
PER_ACCOUNT = Backoff(free=20, first=2.0, every=2, cap=120.0)  # grows slower: it is everyone's wait


@dataclass(frozen=True)
class Link:
    unit_code: str
    unit_name: str
    token: str

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/u/{self.token}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_links(ledger: Ledger, codes: list[str] | None = None) -> list[Link]:
    """A new token for each roster unit named (default: all); each unit's earlier tokens stop working."""
    units = {row["code"]: row["name"] for row in ledger.units()}
    wanted = list(units) if codes is None else codes
    unknown = [c for c in wanted if c not in units]
    if unknown:
        raise CampaignError(f"名单中没有单位：{', '.join(unknown)}")
    links = [Link(code, units[code], secrets.token_urlsafe(32)) for code in wanted]
    with ledger.writing() as db:
        stamp = now()
        for link in links:
            db.execute("UPDATE tokens SET revoked_at = ? WHERE unit_code = ? AND revoked_at IS NULL", (stamp, link.unit_code))
            db.execute("INSERT INTO tokens(unit_code, digest, issued_at) VALUES (?, ?, ?)", (link.unit_code, _digest(link.token), stamp))
    return links


def write_links(links: list[Link], base_url: str, target: Path) -> None:
    """The links file the bureau sends from: 单位编码, 单位名称, 报送链接 (UTF-8 with BOM, for Excel)."""
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["单位编码", "单位名称", "报送链接"])
        writer.writerows([[link.unit_code, link.unit_name, link.url(base_url)] for link in links])


def revoke_links(ledger: Ledger, codes: list[str]) -> int:
    with ledger.writing() as db:
        cursor = db.execute(f"UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND unit_code IN ({','.join('?' * len(codes))})",
                            (now(), *codes))
        return cursor.rowcount


def unit_for_token(ledger: Ledger, token: str) -> str | None:
    """The unit a live token belongs to, else None. The digest is looked up by its index and then compared in
    constant time: a wrong token costs the same however close it is."""
    if not token or len(token) > 128:
        return None
    digest = _digest(token)
    row = ledger.db.execute("SELECT unit_code, digest FROM tokens WHERE digest = ? AND revoked_at IS NULL", (digest,)).fetchone()
    if row is None or not hmac.compare_digest(row[1], digest):
        return None
    return str(row[0])


def set_password(ledger: Ledger, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise CampaignError(f"管理密码至少 {MIN_PASSWORD} 个字符")
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    with ledger.writing() as db:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('admin_password', ?)", (f"scrypt${salt.hex()}${key.hex()}",))
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('password_generation', ?)", (str(_generation(db) + 1),))
        db.execute("UPDATE sessions SET ended = ?, ended_why = 'password' WHERE ended IS NULL", (time.time(),))


def check_password(ledger: Ledger, password: str) -> bool:
    stored = ledger.meta("admin_password")
    if not stored or len(password) > 1024:
        return False
    _scheme, salt, key = stored.split("$")
    given = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, **SCRYPT)
    return hmac.compare_digest(given.hex(), key)


def _generation(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'password_generation'").fetchone()
    return int(row[0]) if row else 0


def reserve_login(ledger: Ledger, address: str, account: str = "admin", at: float | None = None) -> float:
    """0 when this attempt may check a password, else the seconds to wait. The attempt is counted as a failure
    before the check (a success clears it), so attempts in parallel, in threads or processes, cannot all pass."""
    stamp = time.time() if at is None else at
    keys = ((address, PER_ADDRESS), (ANY_ADDRESS, PER_ACCOUNT))
    with ledger.writing() as db:
        counts: list[int] = []
        wait = 0.0
        for key, _rule in keys:
            row = db.execute("SELECT failures, next_at FROM login_attempts WHERE account = ? AND address = ?", (account, key)).fetchone()
            failures, next_at = row or (0, 0.0)
            counts.append(0 if stamp >= next_at + FORGET else failures)
            wait = max(wait, next_at - stamp)
        if wait > 0:
            return wait
        db.executemany("INSERT INTO login_attempts(account, address, failures, next_at) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT(account, address) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at",
                       [(account, key, n + 1, stamp + rule.delay(n + 1)) for (key, rule), n in zip(keys, counts, strict=True)])
    return 0.0


def login_succeeded(ledger: Ledger, address: str, account: str = "admin") -> None:
    """The address starts afresh; the account's overall count only loses this attempt (others may be guessing)."""
    with ledger.writing() as db:
        db.execute("DELETE FROM login_attempts WHERE account = ? AND address = ?", (account, address))
        db.execute("UPDATE login_attempts SET failures = MAX(0, failures - 1) WHERE account = ? AND address = ?", (account, ANY_ADDRESS))


def open_session(ledger: Ledger, address: str, account: str = "admin") -> str:
    """A new session's id (256 random bits), for the cookie only: the ledger keeps its digest."""
    token = secrets.token_urlsafe(32)
    stamp = time.time()
    with ledger.writing() as db:
        db.execute("INSERT INTO sessions(digest, account, address, generation, created, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                   (_digest(token), account, address, _generation(db), stamp, stamp))
    return token


def session_account(ledger: Ledger, token: str, idle: float) -> tuple[str | None, str]:
    """(account, "") for a live session, its idle clock restarted; else (None, why): "" for an unknown id, or why
    it ended: logout, password (changed since), idle (unused for `idle` seconds; ended now)."""
    if not token or len(token) > 128:
        return None, ""
    digest = _digest(token)
    stamp = time.time()
    with ledger.writing() as db:
        row = db.execute("SELECT account, generation, last_seen, ended, ended_why FROM sessions WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            return None, ""
        if row[3] is not None:
            return None, str(row[4])
        why = "password" if row[1] != _generation(db) else "idle" if stamp - row[2] > idle else ""
        db.execute("UPDATE sessions SET last_seen = ?, ended = ?, ended_why = ? WHERE digest = ?",
                   (stamp if not why else row[2], stamp if why else None, why, digest))
    return (None, why) if why else (str(row[0]), "")


def end_session(ledger: Ledger, token: str, why: str = "logout") -> None:
    with ledger.writing() as db:
        db.execute("UPDATE sessions SET ended = ?, ended_why = ? WHERE digest = ? AND ended IS NULL", (time.time(), why, _digest(token)))
