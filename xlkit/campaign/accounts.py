"""The bureau's officers: accounts with a role, who did what (`Actor`, written to the audit trail), and the rules of
each role. 管理员 manages accounts and settings and may do what an 审核员 does; 审核员 sees every unit and decides
退回 or 确认; a 主管部门 officer sees only its department's units and, with two levels of review, decides 初审通过 or
退回 on them. The command line acts as the bureau, named by the system's user and `--by`."""

from __future__ import annotations

import csv
import getpass
import hashlib
import hmac
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import CampaignError
from ..files import atomic_path
from .ledger import Account, AuditEntry, Ledger, now, quoted

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8
ROLES = {"admin": "管理员", "reviewer": "审核员", "department": "主管部门"}
BUREAU = ("admin", "reviewer", "cli")  # who decides for the bureau (财政部门)
SHOWN_ROLES = {**ROLES, "cli": "命令行", "unit": "单位", "system": "系统"}
LOGIN = re.compile(r"[A-Za-z0-9._-]{1,40}")
AUDIT_COLUMNS = ["序号", "时间（UTC）", "事项", "账号", "姓名", "角色", "地址", "单位编码", "收件", "决定", "内容"]
KINDS = {"receipt": "收件", "pass": "主管部门初审通过", "return": "退回", "accept": "财政确认", "explain": "填写说明",
         "account-add": "新增账号", "account-passwd": "更改密码", "account-disable": "停用账号", "setting": "更改设置",
         "mail-failed": "邮件发送失败"}


@dataclass(frozen=True)
class Actor:
    """Who acts: an officer's account, a unit through its link, or the command line; and from where."""

    login: str
    name: str
    role: str  # a key of SHOWN_ROLES
    department: str = ""
    address: str = ""

    @property
    def bureau(self) -> bool:
        return self.role in BUREAU

    @property
    def shown(self) -> str:
        """As the history says it: 张三（zhangsan，主管部门 一局）."""
        role = SHOWN_ROLES.get(self.role, self.role) + (f" {self.department}" if self.department else "")
        return f"{self.name}（{self.login + '，' if self.login else ''}{role}）"

    def entry(self, kind: str, unit_code: str = "", receipt: int | None = None, action: int | None = None, text: str = "") -> AuditEntry:
        return AuditEntry(0, now(), kind, self.login, self.name, self.role, self.address, unit_code, receipt, action, text)

    def sees(self, department: str) -> bool:
        """Whether this actor may see a unit of `department` (a department's officer: its own only)."""
        return self.role != "department" or department == self.department


def cli_actor(by: str = "") -> Actor:
    """The command line: the system's user, named as `--by` says."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = ""
    return Actor(login, by or login or "命令行", "cli", "", f"命令行（{socket.gethostname()}）")


def officer(account: Account, address: str) -> Actor:
    return Actor(account.login, account.name, account.role, account.department, address)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise CampaignError(f"密码至少 {MIN_PASSWORD} 个字符")
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${salt.hex()}${key.hex()}"


def password_matches(stored: str, password: str) -> bool:
    if not stored or len(password) > 1024:
        return False
    _scheme, salt, key = stored.split("$")
    given = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, **SCRYPT)
    return hmac.compare_digest(given.hex(), key)


def add_account(ledger: Ledger, login: str, name: str, role: str, password: str, department: str = "", by: Actor | None = None) -> Account:
    """A new officer. A department's officer names a 主管部门 of the roster; others name none."""
    if not LOGIN.fullmatch(login):
        raise CampaignError(f"账号{quoted(login)}只能由字母、数字和 . _ - 组成（至多 40 个）")
    if role not in ROLES:
        raise CampaignError(f"角色{quoted(role)}不对：应为 admin（管理员）、reviewer（审核员）或 department（主管部门）")
    name, department = name.strip(), department.strip()
    if not name:
        raise CampaignError("请写明姓名（--name）")
    if role == "department":
        known = sorted({u.department for u in ledger.units()})
        if department not in known:
            raise CampaignError(f"名单中没有主管部门{quoted(department)}；名单中的主管部门：{'、'.join(known) or '（无）'}")
    elif department:
        raise CampaignError("只有主管部门的账号才写 --department")
    account = Account(login, name, role, department, 0, False, now())
    actor = by or cli_actor()
    text = f"{name}，{ROLES[role]}" + (f"（{department}）" if department else "")
    if not ledger.add_account(account, hash_password(password), actor.entry("account-add", text=f"{login}：{text}")):
        raise CampaignError(f"账号{quoted(login)}已存在；改密码用 user passwd，停用用 user disable")
    return account


def _existing(ledger: Ledger, login: str) -> Account:
    found = ledger.account(login)
    if found is None:
        raise CampaignError(f"没有账号{quoted(login)}")
    return found


def change_password(ledger: Ledger, login: str, password: str, by: Actor | None = None) -> None:
    """A new password (a disabled account is enabled again): the account's sessions end."""
    _existing(ledger, login)
    actor = by or cli_actor()
    ledger.set_account_password(login, hash_password(password), time.time(), actor.entry("account-passwd", text=login))


def disable_account(ledger: Ledger, login: str, by: Actor | None = None) -> None:
    if _existing(ledger, login).disabled:
        raise CampaignError(f"账号{quoted(login)}已停用")
    actor = by or cli_actor()
    ledger.disable_account(login, time.time(), actor.entry("account-disable", text=login))


def verify_login(ledger: Ledger, login: str, password: str) -> Account | None:
    """The live account these credentials open, else None (an unknown login costs as much as a wrong password)."""
    stored = ledger.account_hash(login)
    ok = password_matches(stored or _DUMMY, password)
    account = ledger.account(login) if ok and stored else None
    return account if account is not None and not account.disabled else None


_DUMMY = "scrypt$" + "00" * 16 + "$" + "00" * 32


def write_audit(ledger: Ledger, target: Path) -> int:
    """The whole trail as CSV (UTF-8 with BOM, for Excel): one row per record, oldest first; returns how many."""
    entries = ledger.audit()
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(AUDIT_COLUMNS)
        for e in entries:
            writer.writerow([e.id, e.at, KINDS.get(e.kind, e.kind), e.login, _safe(e.name), SHOWN_ROLES.get(e.role, e.role), e.address,
                             e.unit_code, e.receipt or "", e.action or "", _safe(e.text)])
    return len(entries)


def _safe(text: str) -> str:
    """A cell Excel will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
