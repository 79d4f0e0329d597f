"""The bureau's login on the web: server-side sessions (rows of the ledger; the cookie holds only a random id) and
attempts reserved in the ledger before a password is checked. A new unit link made on the board is kept here, in
this process, until its page shows it once: never in the cookie, which the browser can read."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from pathlib import Path

from flask import session

from ..campaign.access import check_password, end_session, login_succeeded, open_session, reserve_login, session_account
from ..campaign.ledger import Ledger

ENDED = {"idle": "长时间未操作，已自动退出登录；请重新登录。", "password": "管理密码已更改，请用新密码重新登录。"}
WRONG_PASSWORD = "密码不正确，请重新输入。"
KEPT_LINKS = 64  # new links waiting to be shown, at most (one per officer's session)


def wait_text(seconds: float) -> str:
    whole = max(1, math.ceil(seconds))
    return f"尝试次数过多：请 {whole} 秒后再试。" if whole < 120 else f"尝试次数过多：请约 {math.ceil(whole / 60)} 分钟后再试。"


class Guard:
    def __init__(self, folder: Path, idle_minutes: float):
        self.folder = folder
        self.idle = idle_minutes * 60
        self._links: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def admin(self) -> tuple[bool, str]:
        """Whether this request's session is a live login (its idle clock restarted), else why it ended ("" if none)."""
        token = str(session.get("sid", ""))
        if not token:
            return False, ""
        with Ledger(self.folder) as ledger:
            account, why = session_account(ledger, token, self.idle)
        if account is None:
            session.pop("sid", None)
            return False, ENDED.get(why, "")
        return True, ""

    def login(self, password: str, address: str) -> tuple[bool, str, float]:
        """(logged in, what to tell, seconds to wait). The session starts anew: a fresh id and CSRF token."""
        with Ledger(self.folder) as ledger:
            wait = reserve_login(ledger, address)
            if wait > 0:
                return False, wait_text(wait), wait
            if not check_password(ledger, password):
                return False, WRONG_PASSWORD, 0.0
            login_succeeded(ledger, address)
            token = open_session(ledger, address)
        session.clear()
        session["sid"] = token
        return True, "", 0.0

    def logout(self) -> None:
        token = str(session.get("sid", ""))
        if token:
            with Ledger(self.folder) as ledger:
                end_session(ledger, token)
            with self._lock:
                self._links.pop(token, None)
        session.clear()

    def keep_link(self, url: str) -> None:
        with self._lock:
            self._links[str(session.get("sid", ""))] = url
            while len(self._links) > KEPT_LINKS:
                self._links.popitem(last=False)

    def take_link(self) -> str:
        with self._lock:
            return self._links.pop(str(session.get("sid", "")), "")
