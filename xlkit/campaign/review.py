"""Two levels of review: with the `review: two-level` setting a unit's return goes received → 主管部门初审通过 or
退回 → 财政确认 or 退回. Who may decide what, at which step, is said here once for the command line and the web; the
decisions themselves are `actions`'s. A department with no live officer account leaves its units to the bureau
alone (the 确认 says so in the history). One level (the default): the bureau decides, as before."""

from __future__ import annotations

from ..errors import CampaignError
from .accounts import ROLES, Actor, cli_actor
from .ledger import Ledger
from .state import TWO_LEVEL, UnitState

REVIEWS = {"one-level": "一级审核（财政部门）", TWO_LEVEL: "两级审核（主管部门初审，财政部门确认）"}
WAITING_DEPARTMENT = ("received", "received-warnings", "resubmitted", "failed")
ALONE = "该主管部门没有审核账号，由财政部门直接确认"


def review_mode(ledger: Ledger) -> str:
    return TWO_LEVEL if ledger.meta("review") == TWO_LEVEL else "one-level"


def set_review(ledger: Ledger, mode: str, by: Actor | None = None) -> None:
    """A change of the review setting, recorded in the trail. Units already 初审通过 keep that step."""
    if mode not in REVIEWS:
        raise CampaignError(f"审核方式只能是 one-level 或 {TWO_LEVEL}，得到「{mode}」")
    actor = by or cli_actor()
    with ledger.writing():
        ledger.set_meta("review", mode)
        ledger.add_audit(actor.entry("setting", text=f"审核方式：{REVIEWS[mode]}"))


def may_decide(ledger: Ledger, state: UnitState, actor: Actor, kind: str) -> str:
    """Checks `actor` may take decision `kind` (pass / return / accept) on the unit now; returns the note the
    history keeps with it ("" or why the bureau decided alone). Refusals say why, in Chinese."""
    who = state.name or state.code
    two_level = review_mode(ledger) == TWO_LEVEL
    if actor.role == "department":
        if not actor.sees(state.department):
            raise CampaignError(f"{who} 不属于{actor.department}")
        if not two_level or kind == "accept":
            raise CampaignError(f"{ROLES['department']}的账号只在两级审核时初审（初审通过或退回），确认由财政部门作出")
        if state.status not in WAITING_DEPARTMENT:
            raise CampaignError(f"{who} 当前为“{state.label}”，不在主管部门初审这一步")
        return ""
    if not actor.bureau:
        raise CampaignError("只有审核员、管理员或主管部门的账号可以作出决定")
    if kind == "pass":
        raise CampaignError("初审通过由主管部门作出；财政部门请直接确认或退回")
    if kind == "accept" and two_level and state.status != "passed":
        if state.department in ledger.reviewed_departments():
            raise CampaignError(f"{who} 尚未经{state.department}初审通过，财政部门还不能确认（可以退回）")
        return ALONE
    return ""
