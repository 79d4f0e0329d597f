"""The officers' own pages: changing one's password, the accounts (管理员 only), and which decisions a detail page
offers to whom. Whether a decision may be taken is the campaign layer's (`review.may_decide`): the page only leaves
out the buttons that would be refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, redirect, request, session

from ..bureau.clock import local_time
from ..campaign.accounts import ROLES, Actor, change_password, verify_login, write_audit
from ..campaign.ledger import Ledger
from ..campaign.review import WAITING_DEPARTMENT, review_mode
from ..campaign.state import TWO_LEVEL, UnitState
from ..errors import CampaignError
from . import pages


def decisions(ledger: Ledger, state: UnitState, actor: Actor) -> dict[str, bool]:
    """The decision forms the detail page shows this actor."""
    open_ = state.current is not None and state.status not in ("returned",)
    two_level = review_mode(ledger) == TWO_LEVEL
    if actor.role == "department":
        mine = two_level and open_ and state.status in WAITING_DEPARTMENT
        return {"pass": mine and state.status != "failed", "return": mine, "accept": False, "link": False}
    waits = two_level and state.status in WAITING_DEPARTMENT and state.department in ledger.reviewed_departments()
    return {"pass": False, "return": open_, "accept": open_ and state.status != "confirmed" and not waits, "link": actor.bureau,
            "waits": open_ and waits}


def write_trail(folder: Path, target: Path) -> int:
    with Ledger(folder) as ledger:
        return write_audit(ledger, target)


def register(app: Flask, folder: Path, page: Callable[..., tuple[str, int]], zone: Any) -> None:
    @app.route("/admin/password", methods=["GET", "POST"])
    def own_password() -> Any:
        actor: Actor = g.actor
        if request.method == "GET":
            return page("更改密码", pages.PASSWORD, actor=actor)
        current, new, again = (request.form.get(k, "") for k in ("current", "new", "again"))
        error = ""
        with Ledger(folder) as ledger:
            if verify_login(ledger, actor.login, current) is None:
                error = "当前密码不正确。"
            elif new != again:
                error = "两次输入的新密码不一致。"
            else:
                try:
                    change_password(ledger, actor.login, new, by=actor)
                except CampaignError as exc:
                    error = str(exc)
        if error:
            return page("更改密码", pages.PASSWORD, 400, actor=actor, error=error)
        session.clear()  # every session of the account has ended with the old password
        session["flash"] = "密码已更改，请用新密码重新登录。"
        return redirect("/admin/login", code=303)

    @app.get("/admin/accounts")
    def accounts() -> tuple[str, int]:
        actor: Actor = g.actor
        if actor.role != "admin":
            abort(403)
        with Ledger(folder) as ledger:
            listed = [{"login": a.login, "name": a.name, "role": ROLES.get(a.role, a.role), "department": a.department,
                       "state": "已停用" if a.disabled else "在用", "created": local_time(a.created_at, zone) if a.created_at else ""}
                      for a in ledger.accounts()]
            review = review_mode(ledger)
        return page("账号", pages.ACCOUNTS, accounts=listed, two_level=review == TWO_LEVEL, actor=actor)
