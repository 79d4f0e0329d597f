"""`xlkit demo`: the bundled samples end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .build import build_template
from .fill import fill_workbook

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run_demo(directory: Path, echo: Callable[[str], None] = print) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    blank = directory / "template.xlsx"
    build_template(blank)
    echo(f"blank template:        {blank}")
    seed = json.loads((SAMPLES / "seed_2019.json").read_text(encoding="utf-8"))
    unit = directory / "seed_unit_template.xlsx"
    build_template(unit, unit_code="430600301", unit_name=seed["unit.name"], year=seed["year"])
    echo(f"seed unit's template:  {unit}")
    filled = directory / "seed_unit_filled.xlsx"
    values = fill_workbook(unit, seed, filled)
    echo(f"seed unit filled:      {filled}")
    for field_id in ("income.all.total", "expense.all.total", "expense.all.basic", "expense.all.balance_year",
                     "expense.all.balance_cum", "sangong.all.total", "projects.total.spent", "score", "grade"):
        echo(f"  {field_id:<26} {values[field_id]}")
    return {"template": blank, "unit": unit, "filled": filled}
