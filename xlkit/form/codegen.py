"""A layout's formulas compiled into one Python function: the closures of `formula.py`, unrolled.

Why: a unit's workbook holds a few hundred formulas, recomputed for every returned file. The closures pay a call
and a lookup for every reference and operator. The generated function keeps each cell in a local variable and
does each operation with the same helpers and the same quick paths as the closures, in the same order, so a
formula means the same in both (`tests/test_formula.py` holds them to the same results over random cells). What
it cannot compile (nothing the specs hold) is left to the closures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .criteria import CRITERIA_USAGE, count_ifs, sum_ifs
from .formula import COMPARISONS, OPERATIONS, Node, concat, criteria_parts, round_number
from .functions import CELL_AGGREGATES, FUNCTIONS, VALUE_ERR, Value, XlError, arith, compare, to_bool

Cell = tuple[str, int, int]
Program = Callable[[Callable[[Cell], Value]], tuple[Value, ...]]
PYTHON_COMPARE = {"=": "==", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


class Generated(NamedTuple):
    """A layout's generated function, with its Python text kept for a maintainer to read (`Calculator.source`)."""

    source: str
    namespace: dict[str, Any]  # the constants and helpers the text names

    def compile(self) -> Program:
        namespace = dict(self.namespace)
        exec(compile(self.source, "<xlkit formulas>", "exec"), namespace)  # our own text: no cell value is in it
        program: Program = namespace["program"]
        return program


def generate_program(formulas: Sequence[tuple[Cell, Node, str]]) -> Generated:
    """The function for formulas in dependency order, each (its cell, its AST, its sheet), as text: given the getter
    of the input cells, it returns every formula's value, in order. ValueError for what the closures alone run."""
    writer = _Writer()
    results = []
    for cell, node, sheet in formulas:
        value = writer.zero_if_blank(node, writer.scalar(node, sheet))
        writer.computed[cell] = value
        results.append(value)
    loads = [f"    {name} = get({writer.constant(cell)})" for cell, name in writer.loaded.items()]
    source = "\n".join(["def program(get):", *loads, *writer.lines, f"    return ({', '.join(results)}{',' if results else ''})"])
    return Generated(source, dict(writer.constants, arith=arith, compare=compare, to_bool=to_bool, concat=concat,
                                  XlError=XlError, round_number=round_number, count_ifs=count_ifs, sum_ifs=sum_ifs))


def compile_program(formulas: Sequence[tuple[Cell, Node, str]]) -> Program:
    """`generate_program`, compiled."""
    return generate_program(formulas).compile()


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = "    "
        self.constants: dict[str, Any] = {}
        self.names: dict[tuple[type, Any], str] = {}  # each constant once
        self.computed: dict[Cell, str] = {}  # formula cells computed so far -> the local holding the value
        self.loaded: dict[Cell, str] = {}  # other cells read -> the local they are read into, before any formula
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, value: Any) -> str:
        key = (type(value), value)  # 1.0 and True are equal, yet not the same constant
        if key not in self.names:
            self.names[key] = self.name("k")
            self.constants[self.names[key]] = value
        return self.names[key]

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def assign(self, expression: str) -> str:
        temp = self.name("t")
        self.emit(f"{temp} = {expression}")
        return temp

    def cell(self, cell: Cell) -> str:
        """A cell's value as the closures' getter sees it here: a formula computed before, else what was given."""
        if cell in self.computed:
            return self.computed[cell]
        if cell not in self.loaded:
            self.loaded[cell] = self.name("c")
        return self.loaded[cell]

    def zero_if_blank(self, node: Node, value: str) -> str:
        """A formula (or branch) that is just a reference to a blank cell gives 0, as in Excel."""
        return self.assign(f"0.0 if {value} is None else {value}") if node.kind == "ref" else value

    def scalar(self, node: Node, sheet: str) -> str:
        """Statements computing the node; the local (or constant) that holds its value."""
        kind = node.kind
        if kind in ("num", "str", "bool"):
            return self.constant(node.value)
        if kind == "ref":
            cells = node.value.cells(sheet)
            return self.cell(cells[0]) if len(cells) == 1 else self.constant(VALUE_ERR)
        if kind == "unary":
            return self.assign(f"arith('-', 0.0, {self.scalar(node.args[0], sheet)})")
        if kind == "percent":
            return self.assign(f"arith('/', {self.scalar(node.args[0], sheet)}, 100.0)")
        if kind == "binary":
            return self.binary(node, sheet)
        if kind == "call":
            return self.call(node, sheet)
        raise ValueError(f"cannot compile {kind}")

    def binary(self, node: Node, sheet: str) -> str:
        op = node.value
        a, b = self.scalar(node.args[0], sheet), self.scalar(node.args[1], sheet)
        both_numbers = f"type({a}) is float and type({b}) is float"
        if op in COMPARISONS:
            return self.assign(f"{a} {PYTHON_COMPARE[op]} {b} if {both_numbers} else compare({op!r}, {a}, {b})")
        if op == "&":
            return self.assign(f"concat({a}, {b})")
        if op in "+-*":  # as OPERATIONS' quick path does: two floats and a finite result, else Excel's rules
            result = self.name("t")
            self.emit(f"if not ({both_numbers} and ({result} := {a} {op} {b}) - {result} == 0.0):")
            self.emit(f"    {result} = {self.constant(OPERATIONS[op])}({a}, {b})")
            return result
        return self.assign(f"{self.constant(OPERATIONS[op])}({a}, {b})")

    def call(self, node: Node, sheet: str) -> str:
        name, args = node.value, node.args
        if name in CELL_AGGREGATES and args and all(a.kind == "ref" for a in args):
            cells = [self.cell(cell) for a in args for cell in a.value.cells(sheet)]
            return self.assign(f"{self.constant(CELL_AGGREGATES[name])}([{', '.join(cells)}])")
        if name in CRITERIA_USAGE:  # the closures' helpers, over the cells' locals
            total, ranges, criteria = criteria_parts(node, sheet)
            tests = ", ".join(self.scalar(c, sheet) for c in criteria)
            lists = ", ".join(self.cells(keys) for keys in ranges)
            if total is None:
                return self.assign(f"count_ifs([{lists}], [{tests}])")
            return self.assign(f"sum_ifs({self.cells(total)}, [{lists}], [{tests}])")
        if name == "ROUND" and len(args) == 2 and args[1].kind == "num":
            return self.assign(f"round_number({self.scalar(args[0], sheet)}, {int(args[1].value)})")
        if name == "IF" and 1 < len(args) < 4:
            return self.if_(args, sheet)
        if name == "IFERROR" and len(args) == 2:
            value = self.zero_if_blank(args[0], self.scalar(args[0], sheet))
            return self.branch(f"isinstance({value}, XlError)", lambda: self.zero_if_blank(args[1], self.scalar(args[1], sheet)),
                               lambda: value)
        function = FUNCTIONS[name]
        if function is None:
            raise ValueError(f"{name} takes other arguments")
        parts = [self.argument(a, sheet) for a in args]
        return self.assign(f"{self.constant(function)}([{', '.join(parts)}])")

    def cells(self, keys: Sequence[Cell]) -> str:
        return "[" + ", ".join(self.cell(key) for key in keys) + "]"

    def if_(self, args: Sequence[Node], sheet: str) -> str:
        condition = self.scalar(args[0], sheet)
        flag = self.assign(f"{condition} if type({condition}) is bool else to_bool({condition})")  # True, False or an error
        then = args[1]
        other = args[2] if len(args) == 3 else None
        result = self.name("t")
        self.emit(f"if {flag} is True:")
        self.nested(result, lambda: self.zero_if_blank(then, self.scalar(then, sheet)))
        self.emit(f"elif {flag} is False:")
        self.nested(result, (lambda: self.zero_if_blank(other, self.scalar(other, sheet))) if other else lambda: "False")
        self.emit("else:")
        self.emit(f"    {result} = {flag}")
        return result

    def branch(self, test: str, when: Callable[[], str], otherwise: Callable[[], str]) -> str:
        result = self.name("t")
        self.emit(f"if {test}:")
        self.nested(result, when)
        self.emit("else:")
        self.nested(result, otherwise)
        return result

    def nested(self, result: str, body: Callable[[], str]) -> None:
        """A branch's statements, one level in (the cells it reads are read before any formula, like all others)."""
        outer = self.indent
        self.indent += "    "
        self.emit(f"{result} = {body()}")
        self.indent = outer

    def argument(self, node: Node, sheet: str) -> str:
        """A function's argument: its values, and whether they came from cells (SUM ignores text in cells)."""
        if node.kind == "ref":
            return "[" + ", ".join(f"({self.cell(cell)}, True)" for cell in node.value.cells(sheet)) + "]"
        return f"[({self.scalar(node, sheet)}, False)]"
