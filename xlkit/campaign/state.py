"""Where each unit stands, derived from the ledger's history alone (receipts and the bureau's actions, in the order
the bureau's clock recorded them): nothing about a unit's state is stored apart from what happened to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..bureau.clock import local_time
from ..errors import CampaignError
from .ledger import Action, AuditEntry, Ledger, Receipt, quoted

STATUS_LABELS = {
    "not-sent": "未报送",
    "received": "已接收",
    "received-warnings": "已接收（有警告）",
    "failed": "审核不通过",
    "returned": "已退回",
    "resubmitted": "已再报",
    "passed": "主管部门初审通过",
    "confirmed": "已确认",
}
TWO_LEVEL = "two-level"  # the `review` setting: 主管部门初审, then 财政确认; "" or "one-level": the bureau alone
HOLDERS = {"unit": "单位", "department": "主管部门", "bureau": "财政部门", "": ""}
NOT_NAMED = "（无法识别单位）"


@dataclass
class UnitState:
    code: str
    name: str
    department: str
    contact: str
    phone: str
    status: str  # a key of STATUS_LABELS
    receipts: list[Receipt] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    in_roster: bool = True
    holder: str = ""  # who has to act next: unit / department / bureau; "" when confirmed
    trail: list[AuditEntry] = field(default_factory=list)  # who did what on this unit (schema 3 onwards)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def step(self) -> str:
        """The step the unit is at and who holds it, as people read it."""
        if self.holder == "unit":
            return "待单位报送" if self.status == "not-sent" else "待单位修改再报"
        if self.holder == "department":
            return f"待主管部门初审（{self.department}）"
        return "待财政部门确认" if self.holder == "bureau" else "已办结"

    @property
    def current(self) -> Receipt | None:
        """The receipt that counts: the unit's latest, by receipt order (never by the file's own save time)."""
        return self.receipts[-1] if self.receipts else None

    def to_dict(self, zone: Any, deadline: date | None, today: date) -> dict[str, Any]:
        current = self.current
        return {
            "unit_code": self.code, "unit_name": self.name, "department": self.department, "contact": self.contact,
            "phone": self.phone, "status": self.status, "label": self.label, "in_roster": self.in_roster,
            "receipts": len(self.receipts), "last_file": current.name if current else None,
            "last_receipt": current.id if current else None, "last_sha256": current.sha256 if current else None,
            "last_received": local_time(current.received_at, zone) if current else None,
            "errors": current.errors if current else None, "warnings": current.warnings if current else None,
            "unexplained": current.unexplained if current else None,
            "days_to_deadline": (deadline - today).days if deadline else None, "holder": self.holder or None, "step": self.step,
        }


def status_of(receipts: list[Receipt], actions: list[Action]) -> str:
    """未报送 → 已接收 / 已接收（有警告）/ 审核不通过 → 已退回 → 已再报 → (主管部门初审通过 →) 已确认; a new receipt after a decision
    reopens the unit (the decision was about another file). A decision counts for the receipt it names, whatever the
    clocks say (one without a receipt: for the receipt before it)."""
    current = receipts[-1] if receipts else None
    if current is None:
        return "not-sent"
    decided = [a for a in actions if a.receipt == current.id or (a.receipt is None and a.at > current.received_at)]
    if decided:
        return {"return": "returned", "pass": "passed"}.get(decided[-1].kind, "confirmed")
    if current.errors:
        return "failed"
    if any(a.kind == "return" for a in actions):
        return "resubmitted"
    return "received-warnings" if current.warnings else "received"


def unit_states(ledger: Ledger) -> list[UnitState]:
    """One entry per roster unit in roster order; then units from outside the roster; then each file no unit could
    be named for."""
    receipts: dict[str, list[Receipt]] = {}
    for receipt in ledger.receipts():
        receipts.setdefault(receipt.unit_code, []).append(receipt)
    actions: dict[str, list[Action]] = {}
    for action in ledger.actions():
        actions.setdefault(action.unit_code, []).append(action)
    trail: dict[str, list[AuditEntry]] = {}
    for entry in ledger.audit():
        trail.setdefault(entry.unit_code, []).append(entry)
    out = []
    held = Holders(ledger)
    for unit in ledger.units():
        mine, done = receipts.pop(unit.code, []), actions.get(unit.code, [])
        status = status_of(mine, done)
        out.append(UnitState(unit.code, unit.name, unit.department, unit.contact, unit.phone, status, mine, done,
                             holder=held(status, unit.department), trail=trail.get(unit.code, [])))
    unnamed = receipts.pop("", [])
    for code, mine in receipts.items():
        done = actions.get(code, [])
        status = status_of(mine, done)
        out.append(UnitState(code, "", "", "", "", status, mine, done, in_roster=False, holder=held(status, ""), trail=trail.get(code, [])))
    for receipt in unnamed:
        out.append(UnitState("", NOT_NAMED, "", "", "", status_of([receipt], []), [receipt], [], in_roster=False, holder="bureau"))
    return out


class Holders:
    """Who holds a unit at each status: with two levels, a department with a live officer account checks first."""

    def __init__(self, ledger: Ledger):
        self.two_level = ledger.meta("review") == TWO_LEVEL
        self.reviewed = ledger.reviewed_departments() if self.two_level else set()

    def __call__(self, status: str, department: str) -> str:
        if status in ("not-sent", "failed", "returned"):
            return "unit"
        if status == "confirmed":
            return ""
        if status != "passed" and self.two_level and department in self.reviewed:
            return "department"
        return "bureau"


def state_of(ledger: Ledger, code: str) -> UnitState:
    """One unit's state from its own rows only (the web pages ask this on every request)."""
    unit = ledger.unit(code) if code else None
    mine, done = (ledger.receipts(code), ledger.actions(code)) if code else ([], [])
    status, trail, held = status_of(mine, done), ledger.audit(code) if code else [], Holders(ledger)
    if unit is not None:
        return UnitState(unit.code, unit.name, unit.department, unit.contact, unit.phone, status, mine, done,
                         holder=held(status, unit.department), trail=trail)
    if mine:
        return UnitState(code, "", "", "", "", status, mine, done, in_roster=False, holder=held(status, ""), trail=trail)
    raise CampaignError(f"报送任务中没有单位{quoted(code)}（不在名单中，也没有收到过它的文件）")


def parse_deadline(text: str) -> date | None:
    return datetime.strptime(text, "%Y-%m-%d").date() if text else None
