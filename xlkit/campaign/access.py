"""Who may reach a campaign over the web: each unit's personal link token and the bureau's password.

Tokens are 256 random bits, shown once (in the links file) and stored only as their sha256; a unit's link can be
revoked or issued anew, which revokes the old one. The password is stored as an scrypt hash (standard library)."""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import CampaignError
from ..files import atomic_path
from .ledger import Ledger, now

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8


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


def check_password(ledger: Ledger, password: str) -> bool:
    stored = ledger.meta("admin_password")
    if not stored or len(password) > 1024:
        return False
    _scheme, salt, key = stored.split("$")
    given = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, **SCRYPT)
    return hmac.compare_digest(given.hex(), key)
