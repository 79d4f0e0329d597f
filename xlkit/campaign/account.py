"""`consolidate --campaign`: the bureau's figures from each unit's current file in the ledger, checked once per
file and spec (the cache), with last year's figures beside them when the campaign names its previous one."""

from __future__ import annotations

from collections.abc import Callable

from ..bureau.consolidate import Consolidation, account
from ..intake.report import file_issue
from .checks import Bounds, registry_of, reports_for
from .ledger import Ledger
from .setup import campaign_roster, previous_values
from .state import unit_states


def consolidate_campaign(folder: str, bounds: Bounds | None = None, include_errors: bool = False,
                         progress: Callable[[], None] | None = None, department: str | None = None) -> tuple[Consolidation, int]:
    """The consolidation, and how many files had to be checked (the others came from the cache). `department`:
    that 主管部门's units only (its officer's summary)."""
    with Ledger(folder) as ledger:
        states = [s for s in unit_states(ledger) if s.current is not None and (department is None or s.department == department)]
        shas = [s.current.sha256 for s in states if s.current is not None]
        reports, checked = reports_for(ledger, shas, bounds or Bounds(), progress)
        chosen, labels = [], {}
        for state in states:
            current = state.current
            assert current is not None
            report = reports[current.sha256]
            report.path = f"收件{current.id}/{current.name}"  # unique per receipt; the name is what people see
            if state.status == "returned":  # sent back: out of the totals until the unit sends again
                reason = next(a.text for a in reversed(state.actions) if a.kind == "return")
                report.issues.insert(0, file_issue("returned", reason))
            chosen.append(report)
            labels[report.path] = f"台账：{state.label}，{state.step}（收件 {current.id}）"
        registry = registry_of(ledger)
        roster = campaign_roster(ledger)
        if department is not None:
            roster.units = [u for u in roster.units if u.department == department]
        result = account(chosen, registry.current, roster, ledger.meta("year"), include_errors=include_errors, forms=registry.forms())
        for status in result.all_files:  # 报送情况 and 校验问题 say where the unit stands in the campaign too
            if status.path in labels:
                status.reason = "；".join(filter(None, [labels[status.path], status.reason]))
        if ledger.meta("previous"):
            result.previous = previous_values(ledger.meta("previous"))
        return result, checked
