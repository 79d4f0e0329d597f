"""Who may reach a campaign over the web: each unit's personal link token and the officers' accounts (`accounts`).

Tokens are 256 random bits, shown once (in the links file) and stored only as their sha256; a unit's link can be
revoked or issued anew, which revokes the old one. Passwords are stored as scrypt hashes (standard library).

The bureau's logins are server-side sessions: the cookie holds a random id, the ledger its digest with when it began,
when it was last used and its account's password generation, so a logout, a new password, a disabled account or an
idle hour ends it on the server. Login attempts are counted in the ledger before the password is checked (in one
write transaction), per account and address, per account overall and per address over every login, and wait longer
after each failure rather than lock anyone out."""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import CampaignError
from ..files import atomic_path
from .accounts import MIN_PASSWORD as MIN_PASSWORD
from .accounts import add_account, change_password, verify_login
from .ledger import Attempts, Ledger, now

ANY_ADDRESS = "*"  # the key of an account's attempts from everywhere
ANY_ACCOUNT = "*"  # the account of an address's attempts at every login (guessing logins)
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
PER_ADDRESS_ANY = Backoff(free=10, first=5.0, every=1, cap=300.0)  # one address trying many logins


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
    units = {u.code: u.name for u in ledger.units()}
    wanted = list(units) if codes is None else codes
    unknown = [c for c in wanted if c not in units]
    if unknown:
        raise CampaignError(f"名单中没有单位：{', '.join(unknown)}")
    links = [Link(code, units[code], secrets.token_urlsafe(32)) for code in wanted]
    ledger.issue_tokens([(link.unit_code, _digest(link.token)) for link in links], now())
    return links


def write_links(links: list[Link], base_url: str, target: Path) -> None:
    """The links file the bureau sends from: 单位编码, 单位名称, 报送链接 (UTF-8 with BOM, for Excel)."""
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["单位编码", "单位名称", "报送链接"])
        writer.writerows([[link.unit_code, link.unit_name, link.url(base_url)] for link in links])


def revoke_links(ledger: Ledger, codes: list[str]) -> int:
    return ledger.revoke_tokens(codes, now())


def unit_for_token(ledger: Ledger, token: str) -> str | None:
    """The unit a live token belongs to, else None. The digest is looked up by its index and then compared in
    constant time: a wrong token costs the same however close it is."""
    if not token or len(token) > 128:
        return None
    digest = _digest(token)
    found = ledger.live_token(digest)
    if found is None or not hmac.compare_digest(found[1], digest):
        return None
    return found[0]


def set_password(ledger: Ledger, password: str, login: str = "admin") -> None:
    """The password of `login` (default: the first 管理员, `admin`, made when missing: the shared password of the
    releases before accounts)."""
    if len(password) < MIN_PASSWORD:
        raise CampaignError(f"管理密码至少 {MIN_PASSWORD} 个字符")
    if ledger.account(login) is None:
        add_account(ledger, login, "管理员", "admin", password)
    else:
        change_password(ledger, login, password)


def check_password(ledger: Ledger, password: str, login: str = "admin") -> bool:
    return verify_login(ledger, login, password) is not None


def reserve_login(ledger: Ledger, address: str, account: str = "admin", at: float | None = None) -> float:
    """0 when this attempt may check a password, else the seconds to wait. The attempt is counted as a failure
    before the check (a success clears it), so attempts in parallel, in threads or processes, cannot all pass."""
    stamp = time.time() if at is None else at
    keys = ((account, address, PER_ADDRESS), (account, ANY_ADDRESS, PER_ACCOUNT), (ANY_ACCOUNT, address, PER_ADDRESS_ANY))
    with ledger.writing():
        counts: list[int] = []
        wait = 0.0
        for who, key, _rule in keys:
            seen = ledger.login_attempts(who, key)
            counts.append(0 if stamp >= seen.next_at + FORGET else seen.failures)
            wait = max(wait, seen.next_at - stamp)
        if wait > 0:
            return wait
        for (who, key, rule), n in zip(keys, counts, strict=True):
            ledger.put_login_attempts(who, {key: Attempts(n + 1, stamp + rule.delay(n + 1))})
    return 0.0


def login_succeeded(ledger: Ledger, address: str, account: str = "admin") -> None:
    """The address starts afresh; the account's overall count, and the address's over every login, only lose this
    attempt (others may be guessing)."""
    ledger.forget_login(account, address, ANY_ADDRESS)
    ledger.forget_login(ANY_ACCOUNT, "", address)


def open_session(ledger: Ledger, address: str, account: str = "admin") -> str:
    """A new session's id (256 random bits), for the cookie only: the ledger keeps its digest."""
    token = secrets.token_urlsafe(32)
    stamp = time.time()
    ledger.add_officer_session(_digest(token), account, address, stamp)
    return token


def session_account(ledger: Ledger, token: str, idle: float) -> tuple[str | None, str]:
    """(account, "") for a live session, its idle clock restarted; else (None, why): "" for an unknown id, or why
    it ended: logout, password (changed since), disabled (the account), idle (unused for `idle` seconds; ended now)."""
    if not token or len(token) > 128:
        return None, ""
    digest = _digest(token)
    stamp = time.time()
    with ledger.writing():
        found = ledger.session(digest)
        if found is None:
            return None, ""
        if found.ended is not None:
            return None, found.ended_why
        officer = ledger.account(found.account)
        why = "disabled" if officer is None or officer.disabled else "password" if found.generation != officer.generation \
            else "idle" if stamp - found.last_seen > idle else ""
        ledger.mark_session(digest, stamp if not why else found.last_seen, stamp if why else None, why)
    return (None, why) if why else (found.account, "")


def end_session(ledger: Ledger, token: str, why: str = "logout") -> None:
    ledger.end_session(_digest(token), why, time.time())


def keep_link(ledger: Ledger, token: str, url: str) -> None:
    """A new unit link made on the board, kept for the session's next page, which any server may answer. The ledger
    gets it sealed with the session's id, which only the cookie holds (the ledger keeps the id's digest): neither the
    database nor the cookie alone shows the link."""
    nonce = secrets.token_bytes(16)
    data = url.encode()
    ledger.keep_session_link(_digest(token), nonce + bytes(a ^ b for a, b in zip(data, _pad(token, nonce, len(data)), strict=True)))


def take_link(ledger: Ledger, token: str) -> str:
    """The link kept for this session, once ('' when none)."""
    sealed = ledger.take_session_link(_digest(token)) if token else None
    if not sealed or len(sealed) < 16:
        return ""
    nonce, body = sealed[:16], sealed[16:]
    return bytes(a ^ b for a, b in zip(body, _pad(token, nonce, len(body)), strict=True)).decode("utf-8", "replace")


def _pad(token: str, nonce: bytes, size: int) -> bytes:
    return hashlib.shake_256(b"xlkit session link\0" + token.encode() + nonce).digest(size)
