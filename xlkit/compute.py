"""Recompute every formula field of a layout from its input values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .formula import Compiled, Value, compile_formula, parse, references
from .layout import Layout
from .values import date_serial


class Calculator:
    """Formulas parsed and ordered once per layout; `compute` is then cheap per unit."""

    def __init__(self, layout: Layout):
        self.layout = layout
        by_cell = layout.by_cell
        self.cell_of = {s.id: (s.sheet, s.row, s.col) for s in layout.fields.values()}
        compiled: dict[str, Compiled] = {}
        deps: dict[str, set[str]] = {}
        for slot in layout.formulas():
            assert slot.formula is not None
            node = parse(slot.formula)
            compiled[slot.id] = compile_formula(node, slot.sheet)
            deps[slot.id] = {
                by_cell[cell] for ref in references(node) for cell in ref.cells(slot.sheet) if cell in by_cell
            }
        self.order: list[tuple[str, tuple[str, int, int], Compiled]] = []
        done: set[str] = set()
        visiting: set[str] = set()

        def visit(field_id: str) -> None:
            if field_id in done or field_id not in compiled:
                return
            if field_id in visiting:
                raise ValueError(f"circular reference through {field_id}")
            visiting.add(field_id)
            for dep in sorted(deps[field_id]):
                visit(dep)
            visiting.discard(field_id)
            done.add(field_id)
            self.order.append((field_id, self.cell_of[field_id], compiled[field_id]))

        for field_id in compiled:
            visit(field_id)

    def compute(self, inputs: Mapping[str, Any]) -> dict[str, Value]:
        """Inputs keyed by field id (missing = blank); returns inputs and formula results."""
        cells: dict[tuple[str, int, int], Value] = {}
        for field_id, value in inputs.items():
            cell = self.cell_of.get(field_id)
            if cell is not None and value is not None and value != "":
                if isinstance(value, date):
                    value = date_serial(value)  # formulas see dates as Excel serial numbers
                cells[cell] = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
        get = cells.get
        results: dict[str, Value] = {k: v for k, v in inputs.items() if k in self.cell_of}
        for field_id, cell, function in self.order:
            value = function(get)
            cells[cell] = value
            results[field_id] = value
        return results


def calculator(layout: Layout) -> Calculator:
    cached = getattr(layout, "_calculator", None)
    if cached is None:
        cached = Calculator(layout)
        layout._calculator = cached  # type: ignore[attr-defined]
    return cached
