"""Recompute every formula field of a layout from its input values."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from ..caches import memo
from ..errors import SpecError
from .codegen import Program, generate_program
from .formula import Compiled, Node, compile_formula, parse, references
from .functions import Value, to_bool
from .layout import Layout
from .values import date_serial

Cell = tuple[str, int, int]
log = logging.getLogger(__name__)


def formula_dependencies(layout: Layout) -> dict[str, list[str]]:
    """The fields (inputs and formulas) each formula field reads directly, in a stable order."""
    by_cell = layout.by_cell
    deps: dict[str, list[str]] = {}
    for slot in layout.formulas():
        assert slot.formula is not None
        node = parse(slot.formula)
        deps[slot.id] = sorted({by_cell[cell] for ref in references(node) for cell in ref.cells(slot.sheet) if cell in by_cell})
    return deps


def formula_order(layout: Layout) -> list[str]:
    """Formula fields in an order where each comes after everything it reads; a cycle is a SpecError with its path."""
    deps = formula_dependencies(layout)
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
                    raise SpecError(f"{where}: 循环引用：{' → '.join(cycle)}")
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


@memo(256)
def _upstream(layout: Layout) -> tuple[Mapping[str, frozenset[str]], Mapping[str, frozenset[str]]]:
    """For each formula field: the input fields and the formula fields it depends on, directly or not."""
    deps = formula_dependencies(layout)
    inputs: dict[str, frozenset[str]] = {}
    sources: dict[str, frozenset[str]] = {}
    for field_id in formula_order(layout):  # dependencies first, so each lookup below is complete
        found_inputs: set[str] = set()
        found_sources: set[str] = set()
        for dep in deps[field_id]:
            if dep in sources:
                found_inputs |= inputs[dep]
                found_sources |= sources[dep] | {dep}
            else:
                found_inputs.add(dep)
        inputs[field_id], sources[field_id] = frozenset(found_inputs), frozenset(found_sources)
    return MappingProxyType(inputs), MappingProxyType(sources)  # shared by every caller: read-only


def formula_inputs(layout: Layout) -> Mapping[str, frozenset[str]]:
    """The input fields each formula field depends on, directly or through other formulas."""
    return _upstream(layout)[0]


def formula_sources(layout: Layout) -> Mapping[str, frozenset[str]]:
    """The formula fields each formula field depends on, directly or through others (its upstream formulas)."""
    return _upstream(layout)[1]


class Calculator:
    """Formulas parsed and ordered once per layout; `compute` is then cheap per unit.

    A layout's formulas first run as closures. Once a layout has been computed HOT times, they are generated into
    one Python function (`codegen.py`), about twice as fast: compiling it costs as much as some fifty units, so a
    layout only a few units share never pays for it.
    """

    HOT = 64

    def __init__(self, layout: Layout):
        self.layout = layout
        self.cell_of: dict[str, Cell] = {s.id: (s.sheet, s.row, s.col) for s in layout.fields.values()}
        self.order: list[tuple[str, Cell, Compiled]] = []
        self.formulas: list[tuple[Cell, Node, str]] = []
        for field_id in formula_order(layout):
            slot = layout.fields[field_id]
            assert slot.formula is not None
            node = parse(slot.formula)
            self.order.append((field_id, self.cell_of[field_id], compile_formula(node, slot.sheet)))
            self.formulas.append((self.cell_of[field_id], node, slot.sheet))
        self.ids = [field_id for field_id, _cell, _function in self.order]
        self.program: Program | None = None
        self.source: str | None = None  # the generated function's Python text, once generated
        self.fallback: str | None = None  # why the closures stay, once generation was tried and given up
        self.uses = 0
        self.conditions = [(s.id, compile_formula(parse(s.required_if), s.sheet)) for s in layout.inputs() if s.required_if]

    def generate(self) -> Program | None:
        """The generated function, made on the first call. Its text stays in `source` for a maintainer to read;
        where the closures stay instead, `fallback` says why (and the log, once): beyond what the generator
        writes or Python compiles, two formulas in one cell (which layouts never have), or no formulas at all.
        MemoryError goes through: the reader process reports it, as for any other file."""
        formulas, self.formulas = self.formulas, []  # kept only until generated
        if self.program is not None or self.fallback is not None:
            return self.program
        if not formulas:
            self.fallback = "no formulas"
        elif len({cell for cell, _node, _sheet in formulas}) != len(formulas):
            self.fallback = "two formulas in one cell"
        else:
            try:
                generated = generate_program(formulas)
                self.source = generated.source
                self.program = generated.compile()
            except (ValueError, SyntaxError, RecursionError) as exc:  # MemoryError is not caught
                self.fallback = f"{type(exc).__name__}: {exc}"
        if self.fallback is not None and formulas:
            log.info("formulas of a %s layout stay as closures: %s", self.layout.spec.template.id, self.fallback[:200])
        return self.program

    def _cells(self, values: Mapping[str, Any]) -> dict[Cell, Value]:
        cells: dict[Cell, Value] = {}
        for field_id, value in values.items():
            cell = self.cell_of.get(field_id)
            if cell is not None and value is not None and value != "":
                if isinstance(value, date):
                    value = date_serial(value)  # formulas see dates as Excel serial numbers
                cells[cell] = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
        return cells

    def required_now(self, results: Mapping[str, Any]) -> list[str]:
        """The inputs whose `required_if` holds with these values (inputs and recomputed formulas)."""
        if not self.conditions:
            return []
        get = self._cells(results).get
        return [field_id for field_id, condition in self.conditions if to_bool(condition(get)) is True]

    def compute(self, inputs: Mapping[str, Any]) -> dict[str, Value]:
        """Inputs keyed by field id (missing = blank); returns inputs and formula results."""
        cells = self._cells(inputs)
        get = cells.get
        results: dict[str, Value] = {k: v for k, v in inputs.items() if k in self.cell_of}
        self.uses += 1
        program = self.program or (self.generate() if self.uses == self.HOT else None)
        if program is not None:
            results.update(zip(self.ids, program(get), strict=True))
            return results
        for field_id, cell, function in self.order:
            value = function(get)
            cells[cell] = value
            results[field_id] = value
        return results


@memo(256)
def calculator(layout: Layout) -> Calculator:
    """One per layout (layouts are shared by every unit of one shape, and hash by identity)."""
    return Calculator(layout)
