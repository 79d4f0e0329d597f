"""The bureau's decisions on a unit (退回 with a letter, 确认), each recorded with its time and who took it, and the
unit's history as people read it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..bureau.clock import bureau_zone, local_time
from ..bureau.consolidate import FileStatus
from ..bureau.distribute import UNSAFE_FILENAME
from ..bureau.letters import write_letter
from ..bureau.status import UnitStatus
from ..errors import CampaignError
from .checks import latest_report, registry_of
from .ledger import Ledger, Receipt, now
from .setup import LETTERS
from .state import STATUS_LABELS, UnitState, state_of


@dataclass
class Decision:
    unit: UnitState  # as it stands after the decision
    letter: Path | None = None


def return_unit(folder: str | Path, code: str, reason: str, by: str = "", zone: str = "Asia/Shanghai", contact: str = "",
                issuer: str | None = None) -> Decision:
    """退回: the unit's current file is sent back with a reason and a 审核意见 letter; it leaves the totals until the
    unit sends again."""
    reason = reason.strip()
    if not reason:
        raise CampaignError("退回须写明原因（--reason）")
    with Ledger(folder) as ledger:
        state = state_of(ledger, code)
        current = _decidable(state, "退回")
        report = latest_report(ledger, current.sha256)
        spec = registry_of(ledger).current
        title = f"{ledger.meta('year')}年度{spec.template.title}"
        files = [FileStatus(current.name, "accepted-errors" if current.errors else "accepted", saved_at=report.saved_at)]
        unit = UnitStatus(state.code, state.name, state.department, state.contact, state.phone, STATUS_LABELS["returned"], files, True)
        letters = ledger.folder / LETTERS
        letters.mkdir(exist_ok=True)
        with ledger.writing() as db:
            action = db.execute("INSERT INTO actions(unit_code, kind, at, by, text, receipt) VALUES (?, 'return', ?, ?, ?, ?)",
                                (code, now(), by, reason, current.id)).lastrowid
            letter = letters / (UNSAFE_FILENAME.sub("_", f"{code}_{state.name}_退回_{action}") + ".xlsx")
            write_letter(letter, title, unit, report.issues, (issuer or spec.template.issuer, contact), bureau_zone(zone), reason)
            db.execute("UPDATE actions SET letter = ? WHERE id = ?", (str(letter.relative_to(ledger.folder)), action))
        return Decision(state_of(ledger, code), letter)


def accept_unit(folder: str | Path, code: str, by: str = "", require_explanations: bool | None = None) -> Decision:
    """确认: the bureau accepts the unit's current file with its warnings; refused while it has errors, and, where
    the campaign (or the call) requires it, while a warning has no 说明."""
    with Ledger(folder) as ledger:
        state = state_of(ledger, code)
        current = _decidable(state, "确认")
        if current.errors:
            raise CampaignError(f"{state.name or code} 的当前文件（{current.name}）有 {current.errors} 个错误，不能确认；请退回")
        required = ledger.settings().get("require_explanations", False) if require_explanations is None else require_explanations
        if required and current.unexplained:
            raise CampaignError(f"{state.name or code} 的当前文件有 {current.unexplained} 个警告没有填写说明；本次任务要求说明后才能确认")
        with ledger.writing() as db:
            db.execute("INSERT INTO actions(unit_code, kind, at, by, text, receipt) VALUES (?, 'accept', ?, ?, '', ?)",
                       (code, now(), by, current.id))
        return Decision(state_of(ledger, code))


def history(folder: str | Path, code: str, zone: str = "Asia/Shanghai") -> tuple[UnitState, list[str]]:
    """Every receipt and decision of a unit, oldest first, in the bureau's local time."""
    local = bureau_zone(zone)
    with Ledger(folder) as ledger:
        state = state_of(ledger, code)
    return state, [f"{local_time(at, local)}  {text}" for at, text in events(state)]


def events(state: UnitState) -> list[tuple[str, str]]:
    """(UTC time, what happened) for each receipt and decision of a unit, oldest first."""
    out: list[tuple[str, str]] = []
    for r in state.receipts:
        result = (f"{r.errors} 个错误" if r.errors else "无错误") + (f"，{r.warnings} 个警告" if r.warnings else "")
        if r.warnings:
            result += f"（{r.unexplained} 个未说明）" if r.unexplained else "（均已说明）"
        who = f"，经办 {r.by}" if r.by else ""
        note = f"，附言：{r.note}" if r.note else ""
        out.append((r.received_at, f"收到文件 {r.name}（收件 {r.id}，sha256 {r.sha256[:12]}…{who}{note}）：{result}"
                    + (f"；{r.summary}" if r.summary else "")))
    for a in state.actions:
        who = f"（{a.by}）" if a.by else ""
        if a.kind == "return":
            out.append((a.at, f"退回{who}：{a.text}；审核意见 {a.letter}"))
        else:
            out.append((a.at, f"确认{who}：收件 {a.receipt}"))
    return sorted(out)


def _decidable(state: UnitState, what: str) -> Receipt:
    current = state.current
    if current is None:
        raise CampaignError(f"{state.name or state.code} 还没有报送文件，无法{what}")
    if state.status == "returned":
        raise CampaignError(f"{state.name or state.code} 已退回，正等待再报；收到新文件后才能再{what}")
    if state.status == "confirmed" and what == "确认":
        raise CampaignError(f"{state.name or state.code} 已确认")
    return current
