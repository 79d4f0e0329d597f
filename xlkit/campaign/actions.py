"""The decisions on a unit (主管部门初审通过, 退回 with a letter, 确认), each recorded with its time and who took it
(an action, and a line of the audit trail with login, name and address), and the unit's history as people read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from ..bureau.clock import bureau_zone, local_time
from ..bureau.consolidate import FileStatus
from ..bureau.distribute import UNSAFE_FILENAME
from ..bureau.letters import write_letter
from ..bureau.status import UnitStatus
from ..errors import CampaignError
from .accounts import KINDS, SHOWN_ROLES, Actor, cli_actor
from .checks import latest_report, registry_of
from .ledger import AuditEntry, Ledger, Receipt, now
from .mail import queue_decision
from .review import may_decide
from .setup import LETTERS
from .state import STATUS_LABELS, UnitState, state_of


@dataclass
class Decision:
    unit: UnitState  # as it stands after the decision
    letter: Path | None = None
    receipt: Receipt | None = None  # the receipt decided on


def return_unit(folder: str | Path, code: str, reason: str, by: str = "", zone: str = "Asia/Shanghai", contact: str = "",
                issuer: str | None = None, receipt: int | None = None, actor: Actor | None = None) -> Decision:
    """退回 (by the bureau, or by the unit's 主管部门 at its 初审): the unit's current file is sent back with a reason
    and a 审核意见 letter; it leaves the totals until the unit sends again. `receipt`: the receipt the officer looked
    at; refused when another has come since. `actor`: who decides (default: the command line, named `by`)."""
    actor = actor or cli_actor(by)
    reason = reason.strip()
    if not reason:
        raise CampaignError("退回须写明原因")
    local = bureau_zone(zone)
    with Ledger(folder) as ledger:
        spec = registry_of(ledger).current  # the spec is loaded before the lock is taken
        title = f"{ledger.meta('year')}年度{spec.template.title}"
        letters = ledger.folder / LETTERS
        letters.mkdir(exist_ok=True)
        with ledger.writing():  # the state is read under the write lock: a receipt cannot slip in between
            state = state_of(ledger, code)
            current = _decidable(state, "退回", receipt, local)
            may_decide(ledger, state, actor, "return")
            report = latest_report(ledger, current.sha256)
            files = [FileStatus(current.name, "accepted-errors" if current.errors else "accepted", saved_at=report.saved_at)]
            unit = UnitStatus(state.code, state.name, state.department, state.contact, state.phone, STATUS_LABELS["returned"], files, True)
            action = ledger.add_action(code, "return", now(), by or actor.name, reason, current.id)
            ledger.add_audit(actor.entry("return", code, current.id, action, reason))
            letter = letters / (UNSAFE_FILENAME.sub("_", f"{code}_{state.name}_退回_{action}") + ".xlsx")
            issued_by = actor.department if actor.role == "department" else issuer or spec.template.issuer
            write_letter(letter, title, unit, report.issues, (issued_by, contact), local, reason)
            ledger.set_letter(action, str(letter.relative_to(ledger.folder)))
        decision = Decision(state_of(ledger, code), letter, current)
        _notify(ledger, decision, "return", reason)
        return decision


def accept_unit(folder: str | Path, code: str, by: str = "", require_explanations: bool | None = None,
                receipt: int | None = None, zone: str = "Asia/Shanghai", actor: Actor | None = None) -> Decision:
    """确认: the bureau accepts the unit's current file with its warnings; refused while it has errors, and, where
    the campaign (or the call) requires it, while a warning has no 说明; with two levels, refused before the unit's
    主管部门 has passed it (unless that department has no officer). `receipt` and `actor` as for `return_unit`."""
    return _approve(folder, code, "accept", actor or cli_actor(by), by, require_explanations, receipt, zone)


def pass_unit(folder: str | Path, code: str, actor: Actor, receipt: int | None = None, zone: str = "Asia/Shanghai",
              require_explanations: bool | None = None) -> Decision:
    """初审通过: the unit's 主管部门 forwards its current file to the bureau (two levels only); refused as 确认 is."""
    return _approve(folder, code, "pass", actor, "", require_explanations, receipt, zone)


def _approve(folder: str | Path, code: str, kind: str, actor: Actor, by: str, require_explanations: bool | None,
             receipt: int | None, zone: str) -> Decision:
    local = bureau_zone(zone)
    what = "确认" if kind == "accept" else "初审通过"
    with Ledger(folder) as ledger:
        with ledger.writing():  # read and decided in one transaction
            state = state_of(ledger, code)
            current = _decidable(state, what, receipt, local)
            note = may_decide(ledger, state, actor, kind)
            who = state.name or state.code
            if current.errors:
                raise CampaignError(f"{who} 的当前文件（{current.name}）有 {current.errors} 个错误，不能{what}；请退回")
            required = ledger.settings().get("require_explanations", False) if require_explanations is None else require_explanations
            if required and current.unexplained:
                raise CampaignError(f"{who} 的当前文件有 {current.unexplained} 个警告没有填写说明；本次任务要求说明后才能{what}")
            action = ledger.add_action(code, kind, now(), by or actor.name, note, current.id)
            ledger.add_audit(actor.entry(kind, code, current.id, action, note))
        return Decision(state_of(ledger, code), None, current)


def describe(receipt: Receipt, zone: tzinfo) -> str:
    """A receipt as an officer recognises it: 收件 7，a.xlsx，2020-03-01 10:32 收到."""
    return f"收件 {receipt.id}，{receipt.name}，{local_time(receipt.received_at, zone)} 收到"


def history(folder: str | Path, code: str, zone: str = "Asia/Shanghai") -> tuple[UnitState, list[str]]:
    """Every receipt and decision of a unit, oldest first, in the bureau's local time."""
    local = bureau_zone(zone)
    with Ledger(folder, readonly=True) as ledger:
        state = state_of(ledger, code)
    return state, [f"{local_time(at, local)}  {text}" for at, text in events(state, full=True)]


def events(state: UnitState, full: bool = False, traced: bool = True) -> list[tuple[str, str]]:
    """(UTC time, what happened) for each receipt and decision of a unit, oldest first; `full`: each file's whole
    sha256 (what `xlkit archive` takes), else its first 12 characters. `traced`: with the account and address of
    each (the bureau's view; a unit's page shows names only)."""
    out: list[tuple[str, str]] = []
    _trace = _traced if traced else _untraced
    received = {e.receipt: e for e in state.trail if e.kind == "receipt"}
    for r in state.receipts:
        result = (f"{r.errors} 个错误" if r.errors else "无错误") + (f"，{r.warnings} 个警告" if r.warnings else "")
        if r.warnings:
            result += f"（{r.unexplained} 个未说明）" if r.unexplained else "（均已说明）"
        who = f"，经办 {r.by}" if r.by else ""
        note = f"，附言：{r.note}" if r.note else ""
        digest = r.sha256 if full else f"{r.sha256[:12]}…"
        out.append((r.received_at, f"收到文件 {r.name}（收件 {r.id}，sha256 {digest}{who}{note}）：{result}"
                    + (f"；{r.summary}" if r.summary else "") + _trace(received.get(r.id))))
    decided = {e.action: e for e in state.trail if e.action is not None}
    for a in state.actions:
        entry = decided.get(a.id)
        who = f"（{a.by or (entry.name if entry else '')}）" if a.by or entry else ""
        if a.kind == "return":
            level = "主管部门" if entry and entry.role == "department" else ""
            out.append((a.at, f"{level}退回{who}：{a.text}；审核意见 {a.letter}{_trace(entry)}"))
        elif a.kind == "pass":
            out.append((a.at, f"主管部门初审通过{who}：收件 {a.receipt}{_trace(entry)}"))
        else:
            out.append((a.at, f"确认{who}：收件 {a.receipt}" + (f"（{a.text}）" if a.text else "") + _trace(entry)))
    for e in state.trail:
        if e.kind == "explain":
            out.append((e.at, f"{KINDS[e.kind]}（{e.name}）：收件 {e.receipt}，{e.text}{_trace(e)}"))
    return sorted(out)


def _untraced(_entry: AuditEntry | None) -> str:
    return ""


def _traced(entry: AuditEntry | None) -> str:
    """Who did it, as the trail recorded: 账号 zhangsan（主管部门 一局），10.0.0.7."""
    if entry is None:
        return ""
    role = SHOWN_ROLES.get(entry.role, entry.role)
    return f"；{'账号 ' + entry.login + '（' + role + '）' if entry.login else role}，{entry.address or '地址不详'}"


def _notify(ledger: Ledger, decision: Decision, kind: str, reason: str) -> None:
    """The unit told by e-mail; never a reason for the decision to fail (`mail` logs what it cannot queue)."""
    queue_decision(ledger, decision.unit, kind, reason, decision.letter)


def _decidable(state: UnitState, what: str, receipt: int | None, zone: tzinfo) -> Receipt:
    current = state.current
    who = state.name or state.code
    if current is None:
        raise CampaignError(f"{who} 还没有报送文件，无法{what}")
    if receipt is not None and receipt != current.id:
        if all(r.id != receipt for r in state.receipts):
            raise CampaignError(f"收件 {receipt} 不是 {who} 的文件；其当前文件为（{describe(current, zone)}）")
        raise CampaignError(f"该单位已有更新的文件（{describe(current, zone)}），本次决定针对的是收件 {receipt}；"
                            "请查看新文件后再决定")
    if state.status == "returned":
        raise CampaignError(f"{who} 已退回，正等待再报；收到新文件后才能再{what}")
    if state.status == "confirmed" and what == "确认":
        raise CampaignError(f"{who} 已确认")
    return current
