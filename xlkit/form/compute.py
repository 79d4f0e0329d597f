"""Recompute every formula field of a layout from its input values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from ..errors import SpecError
from .formula import Compiled, Value, compile_formula, parse, references
from .layout import Layout
from .values import date_serial

Cell = tuple[str, int, int]


def formula_order(layout: Layout) -> list[str]:
    """Formula fields in an order where each comes after everything it reads; a cycle is a SpecError with its path."""
    by_cell = layout.by_cell
    deps: dict[str, list[str]] = {}
    for slot in layout.formulas():
        assert slot.formula is not None
        node = parse(slot.formula)
        deps[slot.id] = sorted({by_cell[cell] for ref in references(node) for cell in ref.cells(slot.sheet) if cell in by_cell})
    order: list[str] = []
    done: set[str] = set()
    for root in deps:
        if root in done:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]  # iterative: a long chain of totals must not hit the recursion limit
        path: list[str] = [root]
        on_path = {root}
        while stack:
            field_id, index = stack[-1]
            children = deps[field_id]
            if index < len(children):
                stack[-1] = (field_id, index + 1)
                child = children[index]
                if child in done or child not in deps:
                    continue
                if child in on_path:
                    cycle = [*path[path.index(child):], child]
                    where = layout.fields[child].spec_path
                    raise SpecError(f"{where}: circular reference: {' → '.join(cycle)}")
                stack.append((child, 0))
                path.append(child)
                on_path.add(child)
            else:
                stack.pop()
                path.pop()
                on_path.discard(field_id)
                done.add(field_id)
                order.append(field_id)
    return order


@lru_cache(maxsize=256)
def formula_inputs(layout: Layout) -> dict[str, frozenset[str]]:
    """The input fields each formula field depends on, directly or through other formulas."""
    by_cell = layout.by_cell
    inputs: dict[str, frozenset[str]] = {}
    for field_id in formula_order(layout):  # dependencies first, so each lookup below is complete
        slot = layout.fields[field_id]
        assert slot.formula is not None
        found: set[str] = set()
        for ref in references(parse(slot.formula)):
            for cell in ref.cells(slot.sheet):
                dep = by_cell.get(cell)
                if dep is None:
                    continue
                found |= inputs.get(dep, frozenset({dep}))
        inputs[field_id] = frozenset(found)
    return inputs


@lru_cache(maxsize=256)
def formula_sources(layout: Layout) -> dict[str, frozenset[str]]:
    """The formula fields each formula field depends on, directly or through others (its upstream formulas)."""
    by_cell = layout.by_cell
    sources: dict[str, frozenset[str]] = {}
    for field_id in formula_order(layout):
        slot = layout.fields[field_id]
        assert slot.formula is not None
        found: set[str] = set()
        for ref in references(parse(slot.formula)):
            for cell in ref.cells(slot.sheet):
                dep = by_cell.get(cell)
                if dep in sources:
                    found |= sources[dep] | {dep}
        sources[field_id] = frozenset(found)
    return sources


class Calculator:
    """Formulas parsed and ordered once per layout; `compute` is then cheap per unit."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.cell_of: dict[str, Cell] = {s.id: (s.sheet, s.row, s.col) for s in layout.fields.values()}
        self.order: list[tuple[str, Cell, Compiled]] = []
        for field_id in formula_order(layout):
            slot = layout.fields[field_id]
            assert slot.formula is not None
            self.order.append((field_id, self.cell_of[field_id], compile_formula(parse(slot.formula), slot.sheet)))

    def compute(self, inputs: Mapping[str, Any]) -> dict[str, Value]:
        """Inputs keyed by field id (missing = blank); returns inputs and formula results."""
        cells: dict[Cell, Value] = {}
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


@lru_cache(maxsize=256)
def calculator(layout: Layout) -> Calculator:
    """One per layout (layouts are shared by every unit of one shape, and hash by identity)."""
    return Calculator(layout)
