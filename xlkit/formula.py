"""A small Excel formula engine for the subset the form specs use.

Why our own: the formulas of a template are recomputed for every returned file
(thousands per campaign); parsing once and evaluating compiled closures is
~100x cheaper than a general engine. The `formulas` package remains the oracle
the tests compare against.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Union

Value = Union[None, float, str, bool, "XlError"]


class XlError(str):
    """An Excel error value such as #VALUE! (a str subclass so it prints as itself)."""


VALUE_ERR = XlError("#VALUE!")
DIV0_ERR = XlError("#DIV/0!")
NUM_ERR = XlError("#NUM!")


class FormulaSyntaxError(ValueError):
    pass


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


@dataclass(frozen=True)
class Ref:
    """A cell or rectangular range, 0-based; sheet None means the formula's own sheet."""

    sheet: str | None
    row: int
    col: int
    row2: int
    col2: int

    @property
    def is_range(self) -> bool:
        return (self.row, self.col) != (self.row2, self.col2)

    def cells(self, own_sheet: str) -> list[tuple[str, int, int]]:
        sheet = self.sheet or own_sheet
        return [(sheet, r, c) for r in range(self.row, self.row2 + 1) for c in range(self.col, self.col2 + 1)]


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def col_letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_name(row: int, col: int, absolute: bool = False) -> str:
    d = "$" if absolute else ""
    return f"{d}{col_letters(col)}{d}{row + 1}"


def quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


CELL = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")


def parse_ref(text: str) -> Ref:
    sheet = None
    if "!" in text:
        sheet_part, text = text.rsplit("!", 1)
        sheet = sheet_part[1:-1].replace("''", "'") if sheet_part.startswith("'") else sheet_part
    parts = text.split(":")
    m1 = CELL.fullmatch(parts[0])
    m2 = CELL.fullmatch(parts[-1])
    assert m1 and m2
    r1, c1 = int(m1.group(2)) - 1, col_index(m1.group(1))
    r2, c2 = int(m2.group(2)) - 1, col_index(m2.group(1))
    return Ref(sheet, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FormulaSyntaxError(f"unexpected text at position {pos + 1}: {text[pos:pos + 15]!r}")
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
            raise FormulaSyntaxError("formula ends too early")
        self.pos += 1
        return tok

    def expect(self, op: str) -> None:
        tok = self.take()
        if tok != ("op", op):
            raise FormulaSyntaxError(f"expected {op!r}, found {tok[1]!r}")

    def parse(self) -> Node:
        if not self.tokens:
            raise FormulaSyntaxError("empty formula")
        node = self.expression(0)
        if self.peek() is not None:
            raise FormulaSyntaxError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
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
            return operand if tok[1] == "+" else Node("unary", "-", (operand,))  # type: ignore[index]
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
            return Node("ref", parse_ref(text))
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
                raise FormulaSyntaxError(f"unsupported function {name}")
            return Node("call", name, tuple(args))
        if (kind, text) == ("op", "("):
            node = self.expression(0)
            self.expect(")")
            return node
        raise FormulaSyntaxError(f"unexpected {text!r}")


def parse(text: str) -> Node:
    return Parser(text).parse()


def references(node: Node) -> Iterable[Ref]:
    if node.kind == "ref":
        yield node.value
    for arg in node.args:
        yield from references(arg)


# ---------------------------------------------------------------- semantics

def to_number(value: Value) -> float | XlError:
    if value is None:
        return 0.0
    if isinstance(value, XlError):
        return value
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value.strip()) if value.strip() else VALUE_ERR
    except ValueError:
        return VALUE_ERR


def to_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.15g}"
    return str(value)


def to_bool(value: Value) -> bool | XlError:
    if isinstance(value, XlError):
        return value
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    upper = value.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    return VALUE_ERR


def excel_round(x: float, digits: int) -> float:
    """Half away from zero on the decimal shown, as Excel does (2.675 -> 2.68)."""
    if math.isinf(x) or math.isnan(x):
        return x
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(x)).quantize(quantum, rounding=ROUND_HALF_UP))


def _type_rank(value: Value) -> int:
    return 0 if isinstance(value, (int, float)) and not isinstance(value, bool) else 1 if isinstance(value, str) else 2


def compare(op: str, a: Value, b: Value) -> bool | XlError:
    if isinstance(a, XlError):
        return a
    if isinstance(b, XlError):
        return b
    if a is None and b is None:
        a = b = 0.0
    elif a is None:
        a = "" if isinstance(b, str) else False if isinstance(b, bool) else 0.0
    elif b is None:
        b = "" if isinstance(a, str) else False if isinstance(a, bool) else 0.0
    ra, rb = _type_rank(a), _type_rank(b)
    if ra != rb:
        ka: Any = ra
        kb: Any = rb
    elif ra == 1:
        ka, kb = str(a).lower(), str(b).lower()
    else:
        ka, kb = float(a), float(b)  # type: ignore[arg-type]
    if op == "=":
        return ka == kb
    if op == "<>":
        return ka != kb
    if op == "<":
        return ka < kb
    if op == ">":
        return ka > kb
    if op == "<=":
        return ka <= kb
    return ka >= kb


def arith(op: str, a: Value, b: Value) -> Value:
    x, y = to_number(a), to_number(b)
    if isinstance(x, XlError):
        return x
    if isinstance(y, XlError):
        return y
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return DIV0_ERR if y == 0 else x / y
    try:
        result = x**y
    except (OverflowError, ZeroDivisionError):
        return NUM_ERR
    return NUM_ERR if isinstance(result, complex) else result


# An argument reaches a function as a list of (value, from_reference) pairs, so
# that SUM and friends can ignore text in cells but coerce text typed literally.
Args = list[list[tuple[Value, bool]]]


def _first(arg: list[tuple[Value, bool]]) -> Value:
    return arg[0][0] if len(arg) == 1 else VALUE_ERR


def _numbers(args: Args) -> list[float] | XlError:
    out: list[float] = []
    for arg in args:
        for value, from_ref in arg:
            if isinstance(value, XlError):
                return value
            if from_ref:
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    out.append(float(value))
            else:
                number = to_number(value)
                if isinstance(number, XlError):
                    return number
                out.append(number)
    return out


def fn_sum(args: Args) -> Value:
    nums = _numbers(args)
    if isinstance(nums, XlError):
        return nums
    total = 0.0
    for n in nums:  # left to right, as Excel adds
        total += n
    return total


def fn_min(args: Args) -> Value:
    nums = _numbers(args)
    return nums if isinstance(nums, XlError) else (min(nums) if nums else 0.0)


def fn_max(args: Args) -> Value:
    nums = _numbers(args)
    return nums if isinstance(nums, XlError) else (max(nums) if nums else 0.0)


def fn_round(args: Args) -> Value:
    if len(args) != 2:
        return VALUE_ERR
    x, d = to_number(_first(args[0])), to_number(_first(args[1]))
    if isinstance(x, XlError):
        return x
    if isinstance(d, XlError):
        return d
    return excel_round(x, int(d))


def _logic(args: Args, combine: Callable[[list[bool]], bool]) -> Value:
    flags: list[bool] = []
    for arg in args:
        for value, from_ref in arg:
            if from_ref and (value is None or (isinstance(value, str) and not isinstance(value, XlError))):
                continue
            flag = to_bool(value)
            if isinstance(flag, XlError):
                return flag
            flags.append(flag)
    return combine(flags) if flags else VALUE_ERR


def fn_abs(args: Args) -> Value:
    x = to_number(_first(args[0]))
    return x if isinstance(x, XlError) else abs(x)


def fn_not(args: Args) -> Value:
    flag = to_bool(_first(args[0]))
    return flag if isinstance(flag, XlError) else not flag


def fn_len(args: Args) -> Value:
    value = _first(args[0])
    return value if isinstance(value, XlError) else float(len(to_text(value)))


def fn_isnumber(args: Args) -> Value:
    value = _first(args[0])
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fn_isblank(args: Args) -> Value:
    return _first(args[0]) is None


def fn_istext(args: Args) -> Value:
    value = _first(args[0])
    return isinstance(value, str) and not isinstance(value, XlError)


def fn_iserror(args: Args) -> Value:
    return isinstance(_first(args[0]), XlError)


def fn_n(args: Args) -> Value:
    value = _first(args[0])
    if isinstance(value, XlError):
        return value
    return float(value) if isinstance(value, (int, float)) else 0.0


# IF and IFERROR are lazy; they are handled in compile().
FUNCTIONS: dict[str, Callable[[Args], Value] | None] = {
    "SUM": fn_sum,
    "MIN": fn_min,
    "MAX": fn_max,
    "ROUND": fn_round,
    "AND": lambda a: _logic(a, all),
    "OR": lambda a: _logic(a, any),
    "NOT": fn_not,
    "ABS": fn_abs,
    "LEN": fn_len,
    "ISNUMBER": fn_isnumber,
    "ISBLANK": fn_isblank,
    "ISTEXT": fn_istext,
    "ISERROR": fn_iserror,
    "N": fn_n,
    "IF": None,
    "IFERROR": None,
}

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
            return lambda get: compare(op, left(get), right(get))
        if op == "&":
            def concat(get: Getter) -> Value:
                a, b = left(get), right(get)
                for v in (a, b):
                    if isinstance(v, XlError):
                        return v
                return to_text(a) + to_text(b)
            return concat
        return lambda get: arith(op, left(get), right(get))
    if kind == "call":
        return _call(node, own_sheet)
    raise FormulaSyntaxError(f"cannot compile {kind}")


def _call(node: Node, own_sheet: str) -> Compiled:
    name = node.value
    if name == "IF":
        if not 1 < len(node.args) < 4:
            raise FormulaSyntaxError("IF takes 2 or 3 arguments")
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
            raise FormulaSyntaxError("IFERROR takes 2 arguments")
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
