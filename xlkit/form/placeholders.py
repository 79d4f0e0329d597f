"""Spec formulas to Excel formulas: placeholders ({column}, {table.#.col}, {table.*.col}, {field.id}) become the
A1 references of the placed fields, and GRADE(x) the nested IFs of the spec's grade bands."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from ..errors import FormulaSyntaxError, SpecError
from .formula import parse
from .layout import FieldSlot, RowInstance
from .spec import Spec, Table

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
CONSTANT_PREFIX = "const."
ONE_RANGE = frozenset({"COUNTIF", "COUNTIFS", "SUMIF", "SUMIFS", "COUNTBLANK"})  # a list of cells is no range to them
COUNTING = ONE_RANGE | {"COUNT", "COUNTA", "AVERAGE"}  # of a stand-in 0 they give 1 (or 0, not #DIV/0!): wrong
FUNCTION_BEFORE = re.compile(r"([A-Z][A-Z0-9.]*)\s*$")


def enclosing_function(text: str, position: int) -> str | None:
    """The name of the innermost function call whose parentheses hold `position` (None at the top level)."""
    depth = 0
    for i in range(position - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            if depth == 0:
                match = FUNCTION_BEFORE.search(text, 0, i)
                return match.group(1).upper() if match else None
            depth -= 1
    return None
GRADE_CALL = re.compile(r"GRADE\(([^()]*)\)")


def fill_in(text: str, **values: Any) -> str:
    """Replace {key} by its value for each key given; other braces stay."""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


class Resolver:
    def __init__(self, spec: Spec, fields: dict[str, FieldSlot], table_rows: dict[str, list[RowInstance]],
                 constants: dict[str, float] | None = None):
        self.spec = spec
        self.fields = fields
        self.table_rows = table_rows
        self.constants = constants or {}

    def resolve(self, text: str, sheet: str, table: str | None, row_key: str | None, path: str) -> str:
        columns = {c.key for c in self.table_spec(table).columns} if table else set()

        def ref(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith(CONSTANT_PREFIX):
                return self.constant(name[len(CONSTANT_PREFIX):], path)
            if table and name in columns:
                name = f"{table}.{row_key}.{name}"
            if row_key is not None:
                name = name.replace("#", row_key)
            if "*" in name:
                return self.wildcard(name, sheet, path, enclosing_function(text, match.start()))
            slot = self.fields.get(name)
            if slot is None:
                raise SpecError(f"{path}: 未知的字段 {{{match.group(1)}}}（解析为 {name!r}）")
            return slot.ref(sheet)

        resolved = PLACEHOLDER.sub(ref, text)
        if GRADE_CALL.search(resolved) and not self.spec.grades:
            raise SpecError(f"{path}: GRADE() 需要表式的 grades:（等次划分），本表式没有")
        resolved = GRADE_CALL.sub(lambda m: self.grade_formula(m.group(1)), resolved)
        try:
            parse(resolved)
        except FormulaSyntaxError as exc:
            raise SpecError(f"{path}: 公式 {text!r} 有误：{exc}") from None
        return resolved

    def constant(self, name: str, path: str) -> str:
        """A constant is written into the formula as its number (the value this copy was built with)."""
        if name not in self.constants:
            known = ", ".join(self.constants) or "无"
            raise SpecError(f"{path}: 未知的常量 {{{CONSTANT_PREFIX}{name}}}（已定义：{known}）")
        value = self.constants[name]
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else format(value, ".15g")

    def table_spec(self, table_id: str) -> Table:
        for sheet in self.spec.sheets:
            for block in sheet.blocks:
                if block.table is not None and block.table.id == table_id:
                    return block.table
        raise SpecError(f"未知的表格 {table_id!r}")

    def wildcard(self, name: str, sheet: str, path: str, function: str | None = None) -> str:
        """The cells of a table's detail rows as one range where they are adjacent, else a list; "0" for no rows
        (a SUM of nothing). A counting function cannot take either stand-in: that is a SpecError, not a wrong count."""
        parts = name.split(".")
        if len(parts) != 3 or "*" not in parts[1] or parts[0] not in self.table_rows:
            raise SpecError(f"{path}: {{{name}}} 应写作 TABLE.*.COLUMN（或 TABLE.<行>*.COLUMN，如 quantity*），TABLE 为已定义的表格")
        slots = []
        for instance in self.table_rows[parts[0]]:
            if instance.total or not fnmatchcase(instance.key, parts[1]):  # * = every detail row; quantity* = those rows
                continue
            slot = self.fields.get(f"{parts[0]}.{instance.key}.{parts[2]}")
            if slot is None:
                raise SpecError(f"{path}: 表格 {parts[0]!r} 没有列 {parts[2]!r}")
            slots.append(slot)
        if not slots:
            if function in COUNTING:
                raise SpecError(f"{path}: {{{name}}} 在这些行数下没有行，而 Excel 写不出空的 {function}()；"
                                "请把参数的 min 设为至少 1，或换一种方式计数")
            return "0"
        rows = [s.row for s in slots]
        if all(s.col == slots[0].col and s.sheet == slots[0].sheet for s in slots) and rows == list(range(rows[0], rows[0] + len(rows))):
            first = slots[0].ref(sheet)
            return first if len(slots) == 1 else f"{first}:{slots[-1].address}"
        if function in ONE_RANGE:
            raise SpecError(f"{path}: {{{name}}} 不是一块相邻的单元格（其行之间隔着合计行），而 {function}() 只接受一个区域；"
                            f"请用行模式指明这些行，如 {{table.quantity*.col}}")
        return ",".join(s.ref(sheet) for s in slots)

    def grade_formula(self, argument: str) -> str:
        bands = self.spec.grades
        inner = f'"{bands[-1].label}"'
        for band in reversed(bands[:-1]):
            minimum = int(band.min) if float(band.min).is_integer() else band.min
            inner = f'IF({argument}>={minimum},"{band.label}",{inner})'
        return f'IF(ISNUMBER({argument}),{inner},"")'
