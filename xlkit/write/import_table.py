"""`spec import`: a table block and the 校验 rules as YAML. A column's formula is the one every detail row shares;
a row that differs says so in its own `formulas`, and a total row keeps what the placer would write (SUM of the
column) unless the workbook shows otherwise."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Protocol

from .import_blocks import RulesRows, SheetBlocks, TableBlock
from .import_ids import Namer
from .import_read import Cell, Grid
from .import_types import Types, flow, q


class Importer(Protocol):
    """What the table writer needs of `importer.Importer`."""

    types: Types
    names: Namer
    sheets: list[SheetBlocks]

    def slug(self, text: str) -> str: ...
    def guess(self, why: str) -> str: ...
    def problem(self, grid: Grid, cell: Cell | None, what: str) -> None: ...
    def formula(self, grid: Grid, cell: Cell, table: str | None = None, row_key: str | None = None) -> str: ...
    def type_of(self, cell: Cell, label: str, formula: bool) -> str: ...

RESULT_IF = re.compile(r'^IF\((.*),"([^"]*)","([^"]*)"\)$', re.DOTALL)
REQUIRED_BLANKS = re.compile(r"^0\+.*LEN\(")


def table_lines(imp: Importer, sheet: SheetBlocks, table: TableBlock) -> list[str]:
    grid = sheet.grid
    out = ["      - table:", f"          id: {table.id}"]
    if table.caption:
        out.append(f"          caption: {q(table.caption)}")
    if table.label_columns > 1:
        out.append(f"          label_columns: {table.label_columns}")
    out.append("          header:")
    last = table.row + table.header_rows - 1
    for cells in table.header:
        parts = []
        for c in cells:
            rows, cols = min(c.last_row, last) - c.row + 1, c.span
            spec: dict[str, Any] = {"text": c.text or ""}
            if rows > 1:
                spec["rows"] = rows
            if cols > 1:
                spec["cols"] = cols
            parts.append(flow(spec) if len(spec) > 1 else q(c.text or ""))
        out.append(f"            - [{', '.join(parts)}]")
    columns: list[dict[str, Any]] = []
    row_formulas: list[dict[str, str]] = [{} for _ in table.rows]
    column_notes: list[str] = []
    for k, ckey in enumerate(table.column_keys):
        column, note = _column(imp, sheet, table, k, ckey, row_formulas)
        columns.append(column)
        column_notes.append(note)
    out.append("          rows:")
    for n, (trow, key) in enumerate(zip(table.rows, table.row_keys, strict=True)):
        labels = trow.labels
        entry: dict[str, Any] = {"key": key, "label": labels[0] if len(labels) == 1 or len(set(labels)) == 0 else labels}
        if table.label_columns > 1 and len(labels) > 1 and grid.at(trow.row, 0) is grid.at(trow.row, table.label_columns - 1):
            entry["label"] = labels[0]
        if trow.total:
            entry["total"] = True
        if row_formulas[n]:
            entry["formulas"] = row_formulas[n]
        why = "; ".join(trow.guessed.values()) if trow.guessed else ""
        if trow.total and not (grid.at(trow.row, 0) and grid.at(trow.row, 0).bold):  # type: ignore[union-attr]
            why = (why + "; " if why else "") + "合计行（标签或SUM公式）"
        out.append(f"            - {flow(entry)}" + imp.guess(f"input, 表格 {table.id} 中的空白单元格" if trow.guessed else
                                                              (why and f"total row, {why}")))
    out.append("          columns:")
    for column, note in zip(columns, column_notes, strict=True):
        out.append(f"            - {flow(column)}" + imp.guess(note))
    return out


def _column(imp: Importer, sheet: SheetBlocks, table: TableBlock, k: int, ckey: str, row_formulas: list[dict[str, str]]
            ) -> tuple[dict[str, Any], str]:
    grid = sheet.grid
    label = table.column_header(k)
    column: dict[str, Any] = {"key": ckey, "label": label.replace("\n", "") or ckey}
    if k in table.blank_columns:
        column["blank"] = True
        if table.spans[k] > 1:
            column["span"] = table.spans[k]
        return column, ""
    cells = [(t, key, t.cells[k]) for t, key in zip(table.rows, table.row_keys, strict=True)]
    inputs = [c for _, _, c in cells if c is not None and c.formula is None]
    formulas = [c for _, _, c in cells if c is not None and c.formula is not None]
    hint = " ".join(filter(None, [label, table.caption or "", table.context, table.header[0][0].text or ""]))
    first = inputs[0] if inputs else (formulas[0] if formulas else None)
    base = "text"
    if first is not None:
        column["type"] = imp.type_of(first, hint if first.number_format == "General" else label, first.formula is not None)
        base = imp.types.defs[column["type"]].base
    else:
        column["type"] = imp.type_of(Cell(0, 0, 0, 0, None, None, "", False, 11, False, "General", True), "", False)
    if table.spans[k] > 1:
        column["span"] = table.spans[k]
    texts: dict[int, str] = {}
    for n, (trow, key, cell) in enumerate(cells):
        if cell is not None and cell.formula is not None:
            texts[n] = imp.formula(grid, cell, table.id, key)
        elif k in trow.statics:
            texts[n] = '"' + trow.statics[k].replace('"', '""') + '"'
            imp.problem(grid, None, f"{table.id} 第 {trow.row + 1} 行的固定文字“{trow.statics[k]}”写成公式，请复核")
    detail = [n for n, (t, _, _) in enumerate(cells) if not t.total]
    shared = Counter(texts[n] for n in detail if n in texts)
    formula = None
    if detail and all(n in texts for n in detail) and shared:
        formula = shared.most_common(1)[0][0]
        column["formula"] = formula
    for n in detail:
        if n in texts and texts[n] != formula:
            row_formulas[n][ckey] = texts[n]
    for n, (trow, _, cell) in enumerate(cells):
        if not trow.total:
            continue
        if cell is None:
            if formula is not None or base != "text":
                column["total"] = "none"
        elif cell.formula is None:
            column["total"] = "input"
            if formula is not None:
                imp.problem(grid, cell, "合计行是要填的单元格，而该列其余各行是公式，生成时合计行将是公式")
        else:
            expected = formula if formula is not None else (f"SUM({{{table.id}.*.{ckey}}})" if base != "text" else None)
            if texts.get(n) != expected:
                row_formulas[n][ckey] = texts[n]
    required = [c is not None and c.required for t, _, c in cells if not t.total and (c is None or c.formula is None)]
    if required and all(required):
        column["required"] = "all"
    elif required and required[0]:
        column["required"] = "first"
    conditions = set()
    for t, key, c in cells:
        if c is not None and not t.total and c.formula is None:
            fake = Cell(c.row, c.col, c.row, c.col, None, c.required_if, "", False, 11, False, "", True)
            conditions.add(imp.formula(grid, fake, table.id, key) if c.required_if else None)
    if len(conditions) == 1 and None not in conditions:
        column["required_if"] = conditions.pop()
    note = "input, 表格中的空白单元格" if any(k in t.guessed for t in table.rows) else ""
    return column, note


def rules_lines(imp: Importer, sheet: SheetBlocks, block: RulesRows, rules: list[str]) -> list[str]:
    """The 校验 table: each row a rule of its own (a `for` rule comes back as one rule per row); the rows counting
    blank required fields per sheet come back as one `required_blanks` rule."""
    grid = sheet.grid
    header = block.header
    pass_text, fail_text = "通过", "不通过"
    severity_text = {"error": "错误", "warning": "警告"}
    pending_blanks: list[str] = []
    at = 0
    names = imp.names.__class__()
    for n, cells in enumerate(block.rows, start=1):
        name = (cells[1].text if len(cells) > 1 and cells[1] else "") or f"校验{n}"
        left = cells[3] if len(cells) > 3 else None
        right = cells[4] if len(cells) > 4 else None
        result = cells[6] if len(cells) > 6 else None
        if left is None or right is None or left.formula is None or right.formula is None:
            imp.problem(grid, cells[0], f"校验行“{name}”没有本表数和比较数公式，未导入")
            continue
        severity = "error"
        level = cells[2].text if len(cells) > 2 and cells[2] and cells[2].text else ""
        note = cells[7] if len(cells) > 7 else None
        if level in ("警告", "提示") or (level not in ("错误",) and note is not None and note.input):
            severity = "warning"
        if level:
            severity_text[severity] = level
        match = RESULT_IF.match(result.formula or "") if result is not None and result.formula else None
        test = match.group(1) if match else ""
        if match:
            pass_text, fail_text = match.group(2), match.group(3)
        if REQUIRED_BLANKS.match(left.formula) and right.formula.strip() == "0":
            template = name
            for other in sorted((s.grid.name for s in imp.sheets), key=len, reverse=True):
                if other in name:
                    template = name.replace(other, "{sheet}", 1)
                    break
            if not pending_blanks:  # one rule, placed where its first row was
                at = len(rules)
                rules.append("")
            pending_blanks.append(template)
            continue
        entry: dict[str, Any] = {"id": names.name(imp.slug(name), f"rule{n}"), "name": name.replace("\n", "")}
        if severity == "warning":
            entry["severity"] = "warning"
        op = "<=" if test.endswith("<=0") else ">=" if test.endswith(">=0") else "=="
        if op != "==":
            entry["op"] = op
        diff = cells[5] if len(cells) > 5 else None
        if diff is None or diff.formula is None:
            entry["type"] = "text"
        entry["left"] = imp.formula(grid, left)
        entry["right"] = imp.formula(grid, right)
        rules.append(f"  - {flow(entry)}")
    if pending_blanks:
        rules[at] = ("  - " + flow({"id": names.name("required", "required"), "name": pending_blanks[0], "required_blanks": True,
                                    "for_sheets": True}))
    spec: dict[str, Any] = {"header": [h.replace("\n", "") for h in header], "pass_text": pass_text, "fail_text": fail_text,
                            "severity_text": severity_text}
    explained = [c[7] for c in block.rows if len(c) > 7 and c[7] is not None and c[7].input]
    if len(header) > 7 and explained:
        spec["explanation_type"] = imp.type_of(explained[0], header[7], False)
    return [f"      - rules: {flow(spec)}"]
