"""Place a spec on the grid: every field, label and formula gets its cell.

Fields are placed first; then the formulas' placeholders are resolved to the
A1 references written in the workbook (`placeholders`).
"""

from __future__ import annotations

import re

from ..caches import BoundedDict
from ..errors import SpecError
from ..kinds import FieldKind
from .compose import place_copies
from .layout import FieldSlot, Layout, RowInstance, RuleSlot, SheetLayout, Static
from .params import PREFILL_KEYS, PREVIOUS_PREFIX, BuildParams, is_prefill_key, make_params
from .placeholders import PLACEHOLDER, Resolver, fill_in
from .rule_placement import RulePlacement
from .spec import Block, FieldItem, ListBlock, Rule, Spec, Table

CELL_LIKE_NAME = re.compile(r"^([A-Za-z]{1,3}[0-9]+|[Rr][0-9]*[Cc]?[0-9]*)$")


class _Placer(RulePlacement):
    def __init__(self, spec: Spec, params: BuildParams):
        self.spec = spec
        self.params = params
        self.fields: dict[str, FieldSlot] = {}
        self.pending: list[tuple[FieldSlot, str, str | None, str | None]] = []  # slot, spec formula, table, row key
        self.table_rows: dict[str, list[RowInstance]] = {}
        self.rules: list[RuleSlot] = []
        self.extra_rules: list[Rule] = []  # the rules of composed copies (compose)

    # ------------------------------------------------------------ helpers
    def count(self, repeat: int | str | None, path: str) -> list[str]:
        if repeat is None:
            return [""]
        if isinstance(repeat, int):
            return [str(n + 1) for n in range(repeat)]
        if repeat not in self.params.items:
            raise SpecError(f"{path}: 指向未定义的参数 {repeat!r}（已定义：{', '.join(self.params.items) or '无'}）")
        return self.params.items[repeat]

    def type_of(self, name: str | None, path: str) -> str:
        if name is None:
            raise SpecError(f"{path}: 没有给出 type（在列上或表格上设置）")
        if name not in self.spec.types:
            raise SpecError(f"{path}: 未知的类型 {name!r}（已定义：{', '.join(self.spec.types)}）")
        vtype = self.spec.types[name]
        if vtype.choices and vtype.choices not in self.spec.lists:
            raise SpecError(f"types.{name}.choices: 未知的列表 {vtype.choices!r}（已定义：{', '.join(self.spec.lists) or '无'}）")
        return name

    def add(self, sheet: SheetLayout, slot: FieldSlot, spec_formula: str | None = None, table: str | None = None, row_key: str | None = None) -> None:
        if slot.id in self.fields:
            raise SpecError(f"{slot.spec_path}: 字段编号 {slot.id!r} 重复使用")
        if CELL_LIKE_NAME.match(slot.id):
            raise SpecError(f"{slot.spec_path}: 字段编号 {slot.id!r} 形如单元格地址，不能用作 Excel 的定义名称")
        self.fields[slot.id] = slot
        sheet.slots.append(slot)
        if spec_formula is not None:
            self.pending.append((slot, spec_formula, table, row_key))

    def in_full(self, text: str, table: Table, row_key: str) -> str:
        """A table cell's own expression with every placeholder named in full: {column} and # are this row's."""
        columns = {c.key for c in table.columns}

        def full(match: re.Match[str]) -> str:
            name = match.group(1).replace("#", row_key)
            return "{" + (f"{table.id}.{row_key}.{name}" if name in columns else name) + "}"
        return PLACEHOLDER.sub(full, text)

    def text(self, text: str) -> str:
        issuer = self.params.prefill.get("issuer")
        return fill_in(text, title=self.spec.template.title, issuer=issuer if isinstance(issuer, str) else self.spec.template.issuer)

    # ------------------------------------------------------------ blocks
    def place(self) -> Layout:
        sheets: list[SheetLayout] = []
        deferred: list[tuple[SheetLayout, int, Block, str]] = []
        names = [s.name for s in self.spec.sheets]
        for i, sheet_spec in enumerate(self.spec.sheets):
            if names.count(sheet_spec.name) > 1:
                raise SpecError(f"sheets[{i}].name: 工作表名 {sheet_spec.name!r} 重复出现")
            sheet = SheetLayout(sheet_spec)
            sheets.append(sheet)
            row = 0
            for j, block in enumerate(sheet_spec.blocks):
                path = f"sheets[{i}].blocks[{j}]"
                if block.page_break and row > 0:
                    sheet.page_breaks.append(row)
                if block.rules is not None:
                    if j != len(sheet_spec.blocks) - 1:
                        raise SpecError(f"{path}: rules 块须为所在工作表的最后一块")
                    deferred.append((sheet, row, block, path))
                    continue
                row = self.block(sheet, row, block, path)
            sheet.last_row = row - 1
        for k, entry in enumerate(self.spec.compose):
            copies = place_copies(self, entry, f"compose[{k}]", lambda spec, params: _Placer(spec, params).place())
            at = names.index(entry.after) + 1 if entry.after in names else len(sheets)
            sheets[at:at] = copies
            names[at:at] = [c.name for c in copies]
        if len(set(names)) < len(names):
            raise SpecError(f"compose: 副本的工作表名与本表已有的工作表重名：{', '.join(names)}")
        for sheet, row, block, path in deferred:
            sheet.last_row = self.place_rules(sheets, sheet, row, block, path) - 1
        resolver = Resolver(self.spec, self.fields, self.table_rows, self.params.constants)
        for slot, text, table, row_key in self.pending:
            slot.formula = resolver.resolve(text, slot.sheet, table, row_key, slot.spec_path)
        for slot in self.fields.values():
            if slot.condition is not None:
                slot.required_if = resolver.resolve(slot.condition, slot.sheet, None, None, f"{slot.spec_path}.required_if")
        return Layout(self.spec, self.params, sheets, self.fields, self.rules, self.table_rows)

    def block(self, sheet: SheetLayout, row: int, block: Block, path: str) -> int:
        width = sheet.width
        if block.title is not None:
            sheet.statics.append(Static(row, 0, self.text(block.title), "title", row, width - 1))
            sheet.heights[row] = block.height or 30
            sheet.title_rows = row + 1
            return row + 1
        if block.heading is not None:
            sheet.statics.append(Static(row, 0, self.text(block.heading), "heading", row, width - 1))
            sheet.heights[row] = block.height or 22
            return row + 1
        if block.note is not None:
            sheet.statics.append(Static(row, 0, self.text(block.note), "box" if block.box else "note", row, width - 1))
            if block.height:
                sheet.heights[row] = block.height
            return row + 1
        if block.fields is not None:
            return self.place_fields(sheet, row, block.fields, f"{path}.fields")
        if block.list_ is not None:
            return self.place_list(sheet, row, block.list_, f"{path}.list")
        assert block.table is not None
        return self.place_table(sheet, row, block.table, f"{path}.table")

    def place_fields(self, sheet: SheetLayout, row: int, rows: list[list[FieldItem]], path: str) -> int:
        for r, items in enumerate(rows):
            col = 0
            for k, item in enumerate(items):
                ipath = f"{path}[{r}][{k}]"
                if col + item.label_span + item.span > sheet.width:
                    raise SpecError(f"{ipath}: 这一行超出了工作表的 {sheet.width} 列宽")
                if item.label_span:
                    sheet.statics.append(Static(row, col, item.label, "label", row, col + item.label_span - 1))
                col += item.label_span
                locked = item.prefill is not None and self.params.value_of(item.prefill) is not None
                if item.prefill is not None and not is_prefill_key(item.prefill):
                    raise SpecError(f"{ipath}.prefill: 应为 {', '.join(PREFILL_KEYS)} 之一或 {PREVIOUS_PREFIX}<名称>")
                slot = FieldSlot(
                    item.id, sheet.name, row, col, "formula" if item.formula else "input", self.type_of(item.type, f"{ipath}.type"),
                    item.label, item.required and not item.formula, span=item.span, locked=locked, prefill=item.prefill,
                    spec_path=f"{ipath}.formula" if item.formula else ipath,
                    condition=None if item.formula else item.required_if,
                )
                self.add(sheet, slot, item.formula)
                col += item.span
                if item.height:
                    sheet.heights[row] = max(sheet.heights.get(row, 0), item.height)
            row += 1
        return row

    def place_list(self, sheet: SheetLayout, row: int, block: ListBlock, path: str) -> int:
        if 2 + block.span > sheet.width:
            raise SpecError(f"{path}.span: 超出了工作表的 {sheet.width} 列宽")
        numbers = self.count(block.repeat, f"{path}.repeat")
        vtype = self.type_of(block.type, f"{path}.type")
        if numbers:
            sheet.statics.append(Static(row, 0, block.label, "label", row + len(numbers) - 1, 0))
        for n in range(1, len(numbers) + 1):
            label = fill_in(block.item_label, n=n)
            sheet.statics.append(Static(row, 1, label, "rowlabel"))
            required = block.required == "all" or (block.required == "first" and n == 1)
            slot = FieldSlot(f"{block.id}.{n}", sheet.name, row, 2, "input", vtype, f"{block.label}{label}", required,
                             span=block.span, spec_path=path)
            self.add(sheet, slot)
            if block.height:
                sheet.heights[row] = block.height
            row += 1
        return row

    def expand_rows(self, table: Table, path: str) -> list[RowInstance]:
        rows: list[RowInstance] = []
        detail = 0
        for r, spec_row in enumerate(table.rows):
            names = self.count(spec_row.repeat, f"{path}.rows[{r}].repeat")
            for n, name in enumerate(names, start=1):
                if not spec_row.total:
                    detail += 1
                labels = [spec_row.label] if isinstance(spec_row.label, str) else list(spec_row.label)
                hints = [spec_row.hint] if isinstance(spec_row.hint, str) else list(spec_row.hint or [])
                if len(hints) > len(labels):
                    raise SpecError(f"{path}.rows[{r}].hint: 有 {len(hints)} 条提示，但只有 {len(labels)} 个标签")
                values = {"n": n, "i": detail, "name": name}
                item = (spec_row.repeat, n - 1) if isinstance(spec_row.repeat, str) else None
                unknown = set(spec_row.formulas) - {c.key for c in table.columns}
                if unknown:
                    raise SpecError(f"{path}.rows[{r}].formulas: 表格没有列 {', '.join(sorted(unknown))}")
                rows.append(RowInstance(fill_in(spec_row.key, **values), [fill_in(x, **values) for x in labels], spec_row.total,
                                        item, fill_in(labels[0], n=n, i=detail), hints + [""] * (len(labels) - len(hints)),
                                        spec_row.formulas))
        keys = [r.key for r in rows]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise SpecError(f"{path}.rows: 行键重复：{', '.join(sorted(dupes))}")
        return rows

    def place_table(self, sheet: SheetLayout, row: int, table: Table, path: str) -> int:
        width = table.label_columns + sum(c.span for c in table.columns)
        if width > sheet.width:
            raise SpecError(f"{path}.columns: 表格宽 {width} 列，工作表只有 {sheet.width} 列")
        if table.id in self.table_rows:
            raise SpecError(f"{path}.id: 表格 {table.id!r} 重复出现")
        keys = [c.key for c in table.columns]
        if len(set(keys)) != len(keys):
            raise SpecError(f"{path}.columns: 列键重复")
        if table.caption:
            sheet.statics.append(Static(row, 0, table.caption, "caption", row, sheet.width - 1))
            row += 1
        row = self.place_header(sheet, row, table, width, path)
        instances = self.expand_rows(table, path)
        self.table_rows[table.id] = instances
        first_row = row
        detail_index = 0
        for instance in instances:
            self.place_row(sheet, row, table, instance, detail_index, path)
            detail_index += 0 if instance.total else 1
            row += 1
        if table.label_columns > 1:
            self.merge_labels(sheet, first_row, row, table.label_columns)
        return row + 1  # a spacer row after every table

    def place_header(self, sheet: SheetLayout, row: int, table: Table, width: int, path: str) -> int:
        """Header cells left to right, skipping cells taken by spans from above; every column covered on every row."""
        taken: set[tuple[int, int]] = set()
        for h, header_row in enumerate(table.header):
            col = 0
            for cell in header_row:
                text, rows, cols = (cell, 1, 1) if isinstance(cell, str) else (cell.text, cell.rows, cell.cols)
                while (h, col) in taken:
                    col += 1
                if col + cols > width:
                    raise SpecError(f"{path}.header[{h}]: 超出了表格的 {width} 个网格列"
                                    f"（{table.label_columns} 个标签列 + 各列的 span）")
                sheet.statics.append(Static(row + h, col, text, "header", row + h + rows - 1, col + cols - 1))
                taken.update((h + dr, col + dc) for dr in range(rows) for dc in range(cols))
                col += cols
        for h in range(len(table.header)):
            short = [c for c in range(width) if (h, c) not in taken]
            if short:
                raise SpecError(f"{path}.header[{h}]: 只覆盖了表格 {width} 个网格列中的 {width - len(short)} 个"
                                f"（{table.label_columns} 个标签列 + 各列的 span）；可用 {{text: …, cols: N}} 加宽某格，"
                                "或用 rows: N 让上一行的某格向下延伸")
        return row + len(table.header)

    def place_row(self, sheet: SheetLayout, row: int, table: Table, instance: RowInstance, detail_index: int, path: str) -> None:
        """One row of a table: its labels (equal labels of adjacent rows are merged afterwards), then a cell per column."""
        labels = instance.labels
        printed = [f"{label}\n{hint}" if hint else label for label, hint in zip(labels, instance.hints, strict=True)]
        if len(labels) == 1 and table.label_columns > 1:
            sheet.statics.append(Static(row, 0, printed[0], "rowlabel", row, table.label_columns - 1))
        else:
            if len(labels) != table.label_columns:
                raise SpecError(f"{path}.rows: 行 {instance.key!r} 有 {len(labels)} 个标签，而表格有 {table.label_columns} 个标签列")
            for c, label in enumerate(printed):
                sheet.statics.append(Static(row, c, label, "totallabel" if instance.total else "rowlabel"))
        col = table.label_columns
        height = 0.0
        for k, column in enumerate(table.columns):
            cpath = f"{path}.columns[{k}]"
            vtype = None if column.blank else self.type_of(column.type or table.type, f"{cpath}.type")
            spec_formula: str | None = instance.formulas.get(column.key, column.formula)
            kind: FieldKind | None
            if column.blank or (instance.total and column.total == "none"):
                spec_formula, kind = None, None
            elif instance.total and column.total == "input" and spec_formula is None:
                kind = "input"
            elif instance.total and spec_formula is None:
                base = self.spec.types[vtype].base if vtype else "text"
                spec_formula = f"SUM({{{table.id}.*.{column.key}}})" if base != "text" else None
                kind = "formula" if spec_formula else None
            else:
                kind = "formula" if spec_formula else "input"
            if kind is None:
                sheet.statics.append(Static(row, col, "", "blank" if column.blank else "empty", row, col + column.span - 1))
            else:
                required = kind == "input" and (column.required == "all" or (column.required == "first" and detail_index == 0))
                condition = column.required_if if kind == "input" and not instance.total else None
                label_template = "·".join([instance.template, *labels[1:], column.label]) if instance.item else None
                slot = FieldSlot(f"{table.id}.{instance.key}.{column.key}", sheet.name, row, col, kind, vtype or "text",
                                 "·".join([*labels, column.label]), required, span=column.span,
                                 spec_path=f"{cpath}.formula" if spec_formula else cpath,
                                 item=instance.item, label_template=label_template,
                                 condition=condition and self.in_full(condition, table, instance.key))
                self.add(sheet, slot, spec_formula, table.id, instance.key)
            height = max(height, column.height or 0)
            col += column.span
        if height:
            sheet.heights[row] = height

    @staticmethod
    def merge_labels(sheet: SheetLayout, first: int, end: int, columns: int) -> None:
        """Merge equal labels in adjacent rows of a label column (grouped indicators)."""
        for c in range(columns):
            cells = {s.row: s for s in sheet.statics if s.col == c and first <= s.row < end and s.style == "rowlabel" and (s.last_col or c) == c}
            r = first
            while r < end:
                start = cells.get(r)
                run = r + 1
                while start and run in cells and cells[run].text == start.text:
                    sheet.statics.remove(cells[run])
                    run += 1
                if start and run - 1 > r:
                    start.last_row, start.last_col = run - 1, c
                r = run

    # ------------------------------------------------------------ checks


_LAYOUTS: BoundedDict[tuple[int, str], Layout] = BoundedDict("xlkit.form.placement._LAYOUTS", 256)  # a Layout holds its spec: the id stays valid


def build_layout(spec: Spec, params: BuildParams | None = None) -> Layout:
    """Layouts are cached: every unit with the same parameters shares one."""
    params = params or make_params(spec)
    key = (id(spec), params.to_json())
    found = _LAYOUTS.get(key)
    return found if found is not None else _LAYOUTS.put(key, _Placer(spec, params).place())
