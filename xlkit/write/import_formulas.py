"""`spec import`, step 3: a workbook's formulas in the spec's placeholders. Each A1 reference becomes the field at that
cell (`{column}` on the same table row, else `{field.id}`), and a range becomes `{table.*.column}` (or
`{table.group*.column}`) when it is exactly what the placer would write for it, so a build writes the formula again."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..form.a1 import col_index

STRING = re.compile(r'"(?:[^"]|"")*"')
REF = re.compile(r"(?<![\w.$!:'\"])(?:('(?:[^']|'')+'|[^\W\d][\w.]*)!)?(\$?[A-Z]{1,3}\$?[0-9]+)(?::(\$?[A-Z]{1,3}\$?[0-9]+))?(?![\w(!:])")
PART = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]+)")
SUM_ONLY = re.compile(r"^\s*SUM\(([A-Z0-9$:,\s]+)\)\s*$", re.IGNORECASE)
MAX_LISTED = 60  # a range wider than a column is written out cell by cell up to this many


@dataclass(frozen=True)
class Target:
    id: str
    table: str | None = None
    row_key: str | None = None
    col_key: str | None = None


Cellpos = tuple[str, int, int]  # sheet, row, col (0-based)


def position(text: str) -> tuple[int, int]:
    match = PART.fullmatch(text)
    assert match is not None
    return int(match.group(2)) - 1, col_index(match.group(1))


def cells_of_sum(formula: str) -> list[tuple[int, int]] | None:
    """The cells of a plain `SUM(A1:A4,B2)` on its own sheet, or None."""
    match = SUM_ONLY.match(formula)
    if not match:
        return None
    out: list[tuple[int, int]] = []
    for part in match.group(1).split(","):
        ends = [position(p.strip().upper()) for p in part.split(":")]
        if len(ends) == 1:
            out.append(ends[0])
        elif len(ends) == 2:
            (r1, c1), (r2, c2) = ends
            if (r2 - r1 + 1) * (c2 - c1 + 1) > 100_000:
                return None
            out += [(r, c) for r in range(min(r1, r2), max(r1, r2) + 1) for c in range(min(c1, c2), max(c1, c2) + 1)]
        else:
            return None
    return out


def quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


class Translator:
    def __init__(self, fields: dict[Cellpos, Target], sheets: list[str]):
        self.fields = fields
        self.sheets = set(sheets)
        self.ranges: dict[tuple[str, int, int, int], str] = {}  # sheet, col, first row, last row -> placeholder
        self.lists: list[tuple[str, list[Cellpos], str]] = []  # sheet, cells, placeholder (rows not adjacent)

    def wildcard(self, placeholder: str, cells: list[Cellpos]) -> None:
        """What the placer writes for `placeholder`: one range, or (rows not adjacent) every cell, comma separated."""
        if len(cells) < 2:
            return
        sheet, row, col = cells[0]
        rows = [r for _, r, _ in cells]
        if all(c == col and s == sheet for s, _, c in cells) and rows == list(range(row, row + len(rows))):
            self.ranges.setdefault((sheet, col, row, rows[-1]), placeholder)
        else:
            self.lists.append((sheet, cells, placeholder))

    def translate(self, formula: str, sheet: str, table: str | None = None, row_key: str | None = None) -> tuple[str, str | None]:
        """The formula with placeholders, and what could not be translated (None: all of it)."""
        problem: list[str] = []
        pieces: list[str] = []
        last = 0
        for match in STRING.finditer(formula):
            pieces.append(self._code(formula[last:match.start()], sheet, table, row_key, problem))
            pieces.append(match.group(0))
            last = match.end()
        pieces.append(self._code(formula[last:], sheet, table, row_key, problem))
        if problem:
            return formula, problem[0]
        return "".join(pieces), None

    def _code(self, code: str, sheet: str, table: str | None, row_key: str | None, problem: list[str]) -> str:
        if "[" in code:
            problem.append("引用了其他工作簿（外部链接）")
            return code
        for _, cells, placeholder in sorted(self.lists, key=lambda x: -len(x[1])):
            text = ",".join(self._ref(s, r, c, sheet) for s, r, c in cells)
            code = re.sub(r"(?<![\w$:!'])" + re.escape(text) + r"(?![\w:(])", placeholder.replace("\\", "\\\\"), code)

        def ref(match: re.Match[str]) -> str:
            name = match.group(1)
            target_sheet = sheet if name is None else (name[1:-1].replace("''", "'") if name.startswith("'") else name)
            if target_sheet not in self.sheets:
                problem.append(f"引用了未导入的工作表 {target_sheet}")
                return match.group(0)
            r1, c1 = position(match.group(2))
            if match.group(3) is None:
                return self._one(target_sheet, r1, c1, table, row_key, problem)
            r2, c2 = position(match.group(3))
            r1, r2, c1, c2 = min(r1, r2), max(r1, r2), min(c1, c2), max(c1, c2)
            if c1 == c2 and (target_sheet, c1, r1, r2) in self.ranges:
                return self.ranges[(target_sheet, c1, r1, r2)]
            if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_LISTED:
                problem.append(f"区域 {match.group(0)} 不是一个表格的一整列")
                return match.group(0)
            listed = [self._one(target_sheet, r, c, table, row_key, problem) for r in range(r1, r2 + 1)
                      for c in range(c1, c2 + 1) if (target_sheet, r, c) in self.fields]
            if not listed:
                problem.append(f"区域 {match.group(0)} 中没有要填或计算的单元格")
            return ",".join(listed)

        return REF.sub(ref, code)

    def _one(self, sheet: str, row: int, col: int, table: str | None, row_key: str | None, problem: list[str]) -> str:
        target = self.fields.get((sheet, row, col))
        if target is None:
            from ..form.a1 import cell_name

            problem.append(f"引用的 {sheet}!{cell_name(row, col)} 不是要填或计算的单元格")
            return cell_name(row, col)
        if table is not None and target.table == table and target.row_key == row_key:
            return "{" + str(target.col_key) + "}"
        if table is not None and target.table is not None and target.row_key == row_key:  # the same row of another table
            return "{" + f"{target.table}.#.{target.col_key}" + "}"
        return "{" + target.id + "}"

    @staticmethod
    def _ref(target_sheet: str, row: int, col: int, sheet: str) -> str:
        from ..form.a1 import cell_name

        address = cell_name(row, col)
        return address if target_sheet == sheet else f"{quote(target_sheet)}!{address}"
