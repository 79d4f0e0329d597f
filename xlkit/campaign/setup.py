"""`campaign init`: a campaign folder with its ledger, the roster as given, and the units' workbooks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from ..bureau.distribute import Distributed, distribute
from ..bureau.roster import Roster, load_roster, unit_params
from ..errors import CampaignError
from ..form.functions import Value
from ..form.registry import registry_for
from .checks import latest_report
from .ledger import LEDGER, SETTINGS, Ledger, Location, Unit, is_campaign, now, quoted
from .ledger.location import write_location
from .state import unit_states

DISTRIBUTED = "distributed"
LETTERS = "letters"


def init_campaign(folder: str | Path, roster_path: str | Path, year: int, spec_paths: tuple[str, ...] = (),
                  deadline: str | None = None, previous: str | Path | None = None, require_explanations: bool = False,
                  password: str | None = None, issuer: str | None = None,
                  progress: Callable[[Distributed], None] | None = None,
                  notice: Callable[[str], None] | None = None, where: Location | None = None) -> list[Distributed]:
    """Refuses a folder that already holds a campaign: a ledger is never replaced. `notice`: told of the roster's
    columns the form does not use. `where`: the ledger in a PostgreSQL database (recorded in the folder's
    ledger.json) instead of the folder's SQLite file."""
    folder = Path(folder)
    if is_campaign(folder):
        raise CampaignError(f"{folder} 已经是一个报送任务（有 {LEDGER if (folder / LEDGER).exists() else SETTINGS}），不会覆盖")
    if deadline:
        try:
            datetime.strptime(deadline, "%Y-%m-%d")
        except ValueError:
            raise CampaignError(f"截止日期应为 YYYY-MM-DD 格式（如 2020-03-31），得到{quoted(deadline)}") from None
    roster = load_roster(roster_path)
    specs = [str(Path(p).resolve()) for p in spec_paths]
    spec = registry_for(tuple(specs)).current
    unit_params(spec, roster)  # a roster that does not fit the form is refused before the folder is made
    last_year = previous_values(previous) if previous else {}
    folder.mkdir(parents=True, exist_ok=True)
    roster_copy = folder / ("roster" + Path(roster_path).suffix.lower())
    shutil.copyfile(roster_path, roster_copy)
    settings = {"year": str(year), "deadline": deadline or "", "created_at": now(),
                "specs": json.dumps(specs), "template": f"{spec.template.id} {spec.template.version}", "roster": roster_copy.name,
                "previous": str(Path(previous).resolve()) if previous else "", "require_explanations": json.dumps(require_explanations)}
    with Ledger(folder, create=True, where=where) as ledger:
        ledger.create(settings, [Unit(u.code, k, u.name, u.department, u.contact_name, u.contact_phone) for k, u in enumerate(roster.units)])
        ledger.put_unit_emails((u.code, u.email) for u in roster.units if u.email)
    if where is not None:
        write_location(folder, where)
    return distribute(spec, roster, year, folder / DISTRIBUTED, password, progress=progress, issuer=issuer, previous=last_year,
                      notice=notice)


def campaign_roster(ledger: Ledger) -> Roster:
    return load_roster(ledger.folder / ledger.meta("roster"))


def previous_values(folder: str | Path) -> dict[str, Mapping[str, Value]]:
    """Last year's figures of each unit: the values of its current file in that campaign, when the file had no
    error and was not sent back."""
    out: dict[str, Mapping[str, Value]] = {}
    with Ledger(folder, readonly=True) as ledger:
        for state in unit_states(ledger):
            current = state.current
            if current is None or not state.code or state.status in ("failed", "returned"):
                continue
            out[state.code] = latest_report(ledger, current.sha256).values
    return out
