"""A small Excel formula engine for the subset the form specs use.

Why our own: the formulas of a template are recomputed for every returned file
(thousands per campaign); parsing once and evaluating compiled closures is
~100x cheaper than a general engine. The `formulas` package remains the oracle
the tests compare against.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..caches import memo
from ..errors import FormulaSyntaxError
from .a1 import MAX_COLS, MAX_ROWS, AddressError, Ref, SpanGetter, parse_ref
from .criteria import CRITERIA_USAGE, count_ifs, criteria_roles, list_hint, shape, sum_ifs
from .functions import CELL_AGGREGATES, FUNCTIONS, VALUE_ERR, Value, XlError, arith, compare, excel_round, to_bool, to_number, to_text

# ---------------------------------------------------------------- tokens

TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>"(?:[^"]|"")*")
  | (?P<ref>(?:'(?:[^']|'')+'!|[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff.]*!)?\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?(?![\w(]))
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<bool>(?:TRUE|FALSE)(?![\w(.]))
  | (?P<func>[A-Za-z][A-Za-z0-9.]*(?=\())
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),:])
    )""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaSyntaxError(f"第 {pos + 1} 个字符起无法识别：{text[pos:pos + 15]!r}")
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


# ---------------------------------------------------------------- AST

@dataclass(frozen=True)
class Node:
    kind: str  # num str bool ref unary binary call percent
    value: Any = None
    args: tuple[Node, ...] = ()


BINARY_PRECEDENCE = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3, "*": 4, "/": 4, "^": 5}


class Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text[1:] if text.startswith("=") else text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FormulaSyntaxError("公式不完整（提前结束）")
        self.pos += 1
        return tok

    def expect(self, op: str) -> None:
        tok = self.take()
        if tok != ("op", op):
            raise FormulaSyntaxError(f"此处应为 {op!r}，实际为 {tok[1]!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise FormulaSyntaxError("公式为空")
        node = self.expression(0)
        if self.peek() is not None:
            raise FormulaSyntaxError(f"多余的 {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def expression(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "op" or tok[1] not in BINARY_PRECEDENCE:
                return left
            prec = BINARY_PRECEDENCE[tok[1]]
            if prec < min_prec:
                return left
            self.take()
            right = self.expression(prec + 1)  # every Excel operator is left-associative
            left = Node("binary", tok[1], (left, right))

    def unary(self) -> Node:
        tok = self.peek()
        if tok in (("op", "-"), ("op", "+")):
            self.take()
            operand = self.unary()
            return operand if tok == ("op", "+") else Node("unary", "-", (operand,))
        node = self.primary()
        while self.peek() == ("op", "%"):
            self.take()
            node = Node("percent", None, (node,))
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return Node("num", float(text))
        if kind == "string":
            return Node("str", text[1:-1].replace('""', '"'))
        if kind == "bool":
            return Node("bool", text == "TRUE")
        if kind == "ref":
            try:
                return Node("ref", parse_ref(text))
            except AddressError as exc:
                raise FormulaSyntaxError(str(exc)) from None
        if kind == "func":
            name = text.upper()
            self.expect("(")
            args: list[Node] = []
            if self.peek() != ("op", ")"):
                while True:
                    args.append(self.expression(0))
                    if self.peek() == ("op", ","):
                        self.take()
                        continue
                    break
            self.expect(")")
            if name not in FUNCTIONS:
                raise FormulaSyntaxError(f"不支持的函数 {name}")
            return Node("call", name, checked_arguments(name, tuple(args)))
        if (kind, text) == ("op", "("):
            node = self.expression(0)
            self.expect(")")
            return node
        raise FormulaSyntaxError(f"此处不能出现 {text!r}")


def checked_arguments(name: str, args: tuple[Node, ...]) -> tuple[Node, ...]:
    """The arguments of a counting function as Excel accepts them, else a FormulaSyntaxError: ranges where ranges go,
    criteria ranges the size of the others. SUMIF's sum range takes the shape of its range from its top-left cell, as
    in Excel, so that the cells it reads are the ones the formula is known to depend on."""
    single_cells = [a.kind == "ref" and not a.value.is_range for a in args]
    if name == "COUNTBLANK" and (len(args) != 1 or args[0].kind != "ref"):
        raise FormulaSyntaxError("COUNTBLANK 只接受一个区域" + list_hint(single_cells))
    if name == "COUNTA" and not args:
        raise FormulaSyntaxError("COUNTA 至少要有一个参数")
    if name not in CRITERIA_USAGE:
        return args
    roles = criteria_roles(name, len(args))
    if roles is None:
        raise FormulaSyntaxError(f"{name} 的写法是 {CRITERIA_USAGE[name]}，不是 {len(args)} 个参数" + list_hint(single_cells))
    for k, (role, arg) in enumerate(zip(roles, args, strict=True)):
        if role != "c" and arg.kind != "ref":
            raise FormulaSyntaxError(f"{name}：第 {k + 1} 个参数应为单元格区域，如 {CRITERIA_USAGE[name]}")
        if role == "c" and arg.kind == "ref" and arg.value.is_range:
            raise FormulaSyntaxError(f"{name}：第 {k + 1} 个参数应为一个条件，不能是区域")
    size = shape(args[roles.index("r")].value)
    if roles == "rcs":
        top = args[2].value
        if top.row + size[0] > MAX_ROWS or top.col + size[1] > MAX_COLS:
            raise FormulaSyntaxError(f"{name}：求和区域超出了工作表")
        return (*args[:2], Node("ref", Ref(top.sheet, top.row, top.col, top.row + size[0] - 1, top.col + size[1] - 1)))
    if any(shape(arg.value) != size for role, arg in zip(roles, args, strict=True) if role != "c"):
        raise FormulaSyntaxError(f"{name}：各区域应与第一个区域一样大（{size[0]} × {size[1]}）")
    return args


def rewrite_tokens(text: str, rewrite: dict[str, Callable[[str], str]]) -> str:
    """Formula text re-joined from its tokens, each token of a kind in `rewrite` passed through its function.

    The one way xlkit walks formula text: shifting shared formulas, canonical forms, relocating references.
    """
    return "".join(rewrite[kind](token) if kind in rewrite else token for kind, token in tokenize(text))


@memo(16384)  # the same formula text recurs in every layout of a spec; a Node is immutable
def parse(text: str) -> Node:
    return Parser(text).parse()


def references(node: Node) -> Iterable[Ref]:
    if node.kind == "ref":
        yield node.value
    for arg in node.args:
        yield from references(arg)


# ---------------------------------------------------------------- compile

Getter = Callable[[tuple[str, int, int]], Value]

Compiled = Callable[[Getter], Value]
ArgCompiled = Callable[[Getter], list[tuple[Value, bool]]]
COMPARISONS = ("=", "<>", "<", ">", "<=", ">=")


def compile_formula(node: Node, own_sheet: str) -> Compiled:
    """Turn an AST into closures over a cell getter; references are bound once, values flow as scalars."""
    return _zero_if_blank(node, _scalar(node, own_sheet))


def _zero_if_blank(node: Node, function: Compiled) -> Compiled:
    """A formula (or IF branch) that is just a reference to a blank cell gives 0, as in Excel."""
    if node.kind != "ref":
        return function

    def zero(get: Getter) -> Value:
        value = function(get)
        return 0.0 if value is None else value
    return zero


def _scalar(node: Node, own_sheet: str) -> Compiled:
    kind = node.kind
    if kind in ("num", "str", "bool"):
        constant = node.value
        return lambda get: constant
    if kind == "ref":
        cells = node.value.cells(own_sheet)
        if len(cells) != 1:
            return lambda get: VALUE_ERR  # a range where one value is wanted
        key = cells[0]
        return lambda get: get(key)
    if kind == "unary":
        inner = _scalar(node.args[0], own_sheet)
        return lambda get: arith("-", 0.0, inner(get))
    if kind == "percent":
        inner = _scalar(node.args[0], own_sheet)
        return lambda get: arith("/", inner(get), 100.0)
    if kind == "binary":
        op = node.value
        left = _scalar(node.args[0], own_sheet)
        right = _scalar(node.args[1], own_sheet)
        if op in COMPARISONS:
            test = FLOAT_COMPARE[op]

            def comparison(get: Getter) -> Value:
                a, b = left(get), right(get)
                if type(a) is float and type(b) is float:  # the common case, as compare() would decide it
                    return test(a, b)
                return compare(op, a, b)
            return comparison
        if op == "&":
            return lambda get: concat(left(get), right(get))
        return _arithmetic(op, left, right)
    if kind == "call":
        return _call(node, own_sheet)
    raise FormulaSyntaxError(f"cannot compile {kind}")


def concat(a: Value, b: Value) -> Value:
    for v in (a, b):
        if isinstance(v, XlError):
            return v
    return to_text(a) + to_text(b)


def round_number(value: Value, digits: int) -> Value:
    """ROUND with constant digits."""
    x = to_number(value)
    return x if isinstance(x, XlError) else excel_round(x, digits)


FLOAT_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq, "<>": operator.ne, "<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
FLOAT_ARITHMETIC: dict[str, Callable[[float, float], float]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}


def _quick(op: str, fast: Callable[[float, float], float]) -> Callable[[Value, Value], Value]:
    def quick(a: Value, b: Value) -> Value:
        if type(a) is float and type(b) is float:
            result = fast(a, b)
            if result - result == 0.0:  # finite
                return result
        return arith(op, a, b)
    return quick


# Two numbers are added, subtracted or multiplied directly; anything else (blanks, text, errors, an overflow,
# division, powers) goes through arith(), which holds Excel's rules.
OPERATIONS: dict[str, Callable[[Value, Value], Value]] = {
    op: _quick(op, FLOAT_ARITHMETIC[op]) if op in FLOAT_ARITHMETIC else partial(arith, op) for op in ("+", "-", "*", "/", "^")}


def _arithmetic(op: str, left: Compiled, right: Compiled) -> Compiled:
    operation = OPERATIONS[op]
    return lambda get: operation(left(get), right(get))


def _cell_aggregate(aggregate: Callable[[list[Value]], Value], refs: list[Ref], own_sheet: str) -> Compiled:
    """SUM, COUNT … of cells. A `SpanGetter` is asked for each range whole, the fast path; any other getter cell by
    cell, the plain path (a checker's; the keys are made once, at its first use)."""
    spans = [(ref.sheet or own_sheet, ref.row, ref.col, ref.row2, ref.col2) for ref in refs]
    keys: tuple[tuple[str, int, int], ...] | None = None

    def cells(get: Getter) -> Value:
        nonlocal keys
        if isinstance(get, SpanGetter):
            return aggregate([value for where in spans for value in get.span(*where)])
        if keys is None:
            keys = tuple(cell for ref in refs for cell in ref.cells(own_sheet))
        return aggregate([get(key) for key in keys])
    return cells


def _call(node: Node, own_sheet: str) -> Compiled:
    name = node.value
    if name in CELL_AGGREGATES and node.args and all(a.kind == "ref" for a in node.args):
        return _cell_aggregate(CELL_AGGREGATES[name], [a.value for a in node.args], own_sheet)
    if name in CRITERIA_USAGE:
        total, ranges, criteria = criteria_parts(node, own_sheet)
        tests = [_scalar(c, own_sheet) for c in criteria]
        if total is None:
            return lambda get: count_ifs([[get(key) for key in keys] for keys in ranges], [test(get) for test in tests])
        return lambda get: sum_ifs([get(key) for key in total], [[get(key) for key in keys] for keys in ranges],
                                   [test(get) for test in tests])
    if name == "ROUND" and len(node.args) == 2 and node.args[1].kind == "num":
        number, digits = _scalar(node.args[0], own_sheet), int(node.args[1].value)
        return lambda get: round_number(number(get), digits)
    if name == "IF":
        if not 1 < len(node.args) < 4:
            raise FormulaSyntaxError("IF 要有 2 或 3 个参数")
        cond = _scalar(node.args[0], own_sheet)
        then = _zero_if_blank(node.args[1], _scalar(node.args[1], own_sheet))
        other = _zero_if_blank(node.args[2], _scalar(node.args[2], own_sheet)) if len(node.args) == 3 else None

        def if_(get: Getter) -> Value:
            flag = to_bool(cond(get))
            if isinstance(flag, XlError):
                return flag
            if flag:
                return then(get)
            return other(get) if other else False
        return if_
    if name == "IFERROR":
        if len(node.args) != 2:
            raise FormulaSyntaxError("IFERROR 要有 2 个参数")
        value_fn = _zero_if_blank(node.args[0], _scalar(node.args[0], own_sheet))
        fallback = _zero_if_blank(node.args[1], _scalar(node.args[1], own_sheet))

        def iferror(get: Getter) -> Value:
            value = value_fn(get)
            return fallback(get) if isinstance(value, XlError) else value
        return iferror
    function = FUNCTIONS[name]
    assert function is not None
    arguments = [_argument(a, own_sheet) for a in node.args]
    return lambda get: function([a(get) for a in arguments])


Cell = tuple[str, int, int]


def criteria_parts(node: Node, own_sheet: str) -> tuple[list[Cell] | None, list[list[Cell]], list[Node]]:
    """A criteria call as count_ifs/sum_ifs take it: the cells summed (None to count), each criteria range's cells,
    each criterion; SUMIF without a sum range adds its range."""
    roles = criteria_roles(node.value, len(node.args))
    assert roles is not None  # checked_arguments() let it through
    cells = [arg.value.cells(own_sheet) if role != "c" else [] for role, arg in zip(roles, node.args, strict=True)]
    ranges = [cells[k] for k, role in enumerate(roles) if role == "r"]
    criteria = [arg for role, arg in zip(roles, node.args, strict=True) if role == "c"]
    total = cells[roles.index("s")] if "s" in roles else ranges[0] if node.value == "SUMIF" else None
    return total, ranges, criteria


def _argument(node: Node, own_sheet: str) -> ArgCompiled:
    """A function argument: its values, and whether they came from cells (SUM ignores text in cells)."""
    if node.kind == "ref":
        cells = node.value.cells(own_sheet)
        if len(cells) == 1:
            key = cells[0]
            return lambda get: [(get(key), True)]
        return lambda get: [(get(c), True) for c in cells]
    inner = _scalar(node, own_sheet)
    return lambda get: [(inner(get), False)]
