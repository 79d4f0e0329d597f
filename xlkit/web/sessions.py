"""The officers' login on the web: server-side sessions (rows of the ledger; the cookie holds only a random id) bound
to an account, and attempts reserved in the ledger, per account and address, before a password is checked. A new
unit link made on the board is kept in the ledger, sealed with the session's id, until the session's next page (on
any server) shows it once: never in the cookie, which the browser can read. Nothing lives in this process's memory,
so several servers behind a load balancer need no stickiness."""

from __future__ import annotations

import math
from pathlib import Path

from flask import session

from ..campaign.access import end_session, keep_link, login_succeeded, open_session, reserve_login, session_account, take_link
from ..campaign.accounts import verify_login
from ..campaign.ledger import Account, Ledger

ENDED = {"idle": "长时间未操作，已自动退出登录；请重新登录。", "password": "管理密码已更改，请用新密码重新登录。",
         "disabled": "账号已停用；如有疑问请联系管理员。"}
WRONG_PASSWORD = "账号或密码不正确，请重新输入。"
DEFAULT_LOGIN = "admin"  # the login form without a login: the first 管理员 (the shared password of earlier releases)


def wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"尝试次数过多：请 {whole} 秒后再试。" if whole < 120 else f"尝试次数过多：请约 {math.ceil(whole / 60)} 分钟后再试。"


class Guard:
    def __init__(self, folder: Path, idle_minutes: float):
        self.folder = folder
        self.idle = idle_minutes * 60

    def admin(self) -> tuple[Account | None, str]:
        """The account of this request's live session (its idle clock restarted), else None and why it ended."""
        token = str(session.get("sid", ""))
        if not token:
            return None, ""
        with Ledger(self.folder) as ledger:
            login, why = session_account(ledger, token, self.idle)
            account = ledger.account(login) if login is not None else None
        if account is None:
            session.pop("sid", None)
            return None, ENDED.get(why, "")
        return account, ""

    def login(self, login: str, password: str, address: str) -> tuple[bool, str, float]:
        """(logged in, what to tell, seconds to wait). The session starts anew: a fresh id and CSRF token."""
        login = login.strip()[:40] or DEFAULT_LOGIN
        with Ledger(self.folder) as ledger:
            wait = reserve_login(ledger, address, login)
            if wait > 0:
                return False, wait_text(wait), wait
            if verify_login(ledger, login, password) is None:
                return False, WRONG_PASSWORD, 0.0
            login_succeeded(ledger, address, login)
            token = open_session(ledger, address, login)
        session.clear()
        session["sid"] = token
        return True, "", 0.0

    def logout(self) -> None:
        token = str(session.get("sid", ""))
        if token:
            with Ledger(self.folder) as ledger:
                end_session(ledger, token)  # a link still waiting goes with it
        session.clear()

    def keep_link(self, url: str) -> None:
        token = str(session.get("sid", ""))
        if token:
            with Ledger(self.folder) as ledger:
                keep_link(ledger, token, url)

    def take_link(self) -> str:
        token = str(session.get("sid", ""))
        if not token:
            return ""
        with Ledger(self.folder) as ledger:
            return take_link(ledger, token)
