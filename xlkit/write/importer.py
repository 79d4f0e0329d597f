"""`xlkit spec import`: a bureau's own Excel form as a first-draft spec. The workbook is read as a person sees it
(`import_read`), cut into blocks (`import_blocks`), its formulas put in placeholders (`import_formulas`) and its
cells typed (`import_types`); the spec is written here as YAML text, every guess with a `# guessed:` comment, and
what was not understood is listed with its sheet and cell."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..form.a1 import cell_name
from .import_blocks import FieldsBlock, ListRows, RulesRows, SheetBlocks, TableBlock, TextBlock, segment
from .import_formulas import Target, Translator
from .import_ids import NUMBERING, Namer, pinyin_available, slug, template_id
from .import_read import Book, Cell, Grid, read_book
from .import_table import rules_lines, table_lines
from .import_types import Types, flow, q

ID_STYLES = ("pinyin", "position")
RESULT_IF = re.compile(r'^IF\((.*),"([^"]*)","([^"]*)"\)$')


@dataclass
class ImportResult:
    text: str  # the spec, YAML
    problems: list[str]  # what was not understood, `sheet!cell: what`
    guesses: int = 0


def import_form(path: str | Path, sheets: list[str] | None = None, id_style: str = "pinyin") -> ImportResult:
    path = Path(path)
    if id_style not in ID_STYLES:
        raise ValueError(f"id_style must be one of {ID_STYLES}")
    book = read_book(path, sheets)
    if id_style == "pinyin" and not pinyin_available():
        book.problems.append("pypinyin 未安装（pip install 'xlkit[import]'），字段编号按单元格位置生成")
    return _Importer(path, book, id_style if pinyin_available() else "position").run()


class _Importer:
    def __init__(self, path: Path, book: Book, id_style: str):
        self.path = path
        self.book = book
        self.pinyin = id_style == "pinyin"
        self.problems = list(book.problems)
        self.types = Types({}, book.lists)
        self.guesses = 0
        self.names = Namer()  # table ids, field ids, list ids: one namespace
        self.fields: dict[tuple[str, int, int], Target] = {}
        self.sheets: list[SheetBlocks] = []
        self.title = ""
        self.issuer = ""
        self.columns_keys: set[str] = set()

    def slug(self, text: str) -> str:
        return slug(text) if self.pinyin else ""

    def problem(self, grid: Grid, cell: Cell | None, what: str) -> None:
        self.problems.append(f"{grid.name}!{cell.address if cell else ''}: {what}")

    # ------------------------------------------------------------ ids
    def run(self) -> ImportResult:
        sheet_names = Namer()
        for i, grid in enumerate(self.book.grids, start=1):
            blocks = segment(grid, self.book.explicit_inputs, self.problems)
            key = sheet_names.name(self.slug(grid.name), f"sheet{i}")
            self.sheets.append(SheetBlocks(grid, key, blocks))
        for sheet in self.sheets:
            for block, _ in sheet.blocks:
                if isinstance(block, TableBlock):
                    self.name_table(sheet, block)
        for sheet in self.sheets:
            heading = ""
            for block, _ in sheet.blocks:
                if isinstance(block, TextBlock):
                    self.title = self.title or (block.text if block.kind == "title" else "")
                    heading = block.text
                elif isinstance(block, FieldsBlock):
                    for items in block.rows:
                        for item in items:
                            label = item.label.text or "" if item.label else heading
                            fid = self.names.name(self.slug(label), f"{sheet.key}_{item.cell.address.lower()}", whole=True)
                            while fid in self.columns_keys:
                                fid = self.names.name(fid + "_f", fid + "_f")
                            sheet.ids[id(item)] = fid
                            self.fields[(sheet.grid.name, item.cell.row, item.cell.col)] = Target(fid)
                elif isinstance(block, ListRows):
                    lid = self.names.name(self.slug(block.label), f"{sheet.key}_list{block.row + 1}")
                    sheet.ids[id(block)] = lid
                    for n, (_, cell) in enumerate(block.items, start=1):
                        self.fields[(sheet.grid.name, cell.row, cell.col)] = Target(f"{lid}.{n}")
        self.translator = Translator(self.fields, [s.grid.name for s in self.sheets])
        for sheet in self.sheets:
            for block, _ in sheet.blocks:
                if isinstance(block, TableBlock):
                    self.wildcards(sheet, block)
        return ImportResult(self.write(), self.problems, self.guesses)

    def name_table(self, sheet: SheetBlocks, table: TableBlock) -> None:
        before = [b for b, _ in sheet.blocks[:[b for b, _ in sheet.blocks].index(table)] if isinstance(b, TextBlock)]
        table.context = before[-1].text if before and before[-1].kind == "heading" else ""
        corner = table.header[0][0].text if table.header and table.header[0] else ""
        label = table.caption or (before[-1].text if before and before[-1].kind == "heading" else "") or corner or ""
        table.id = self.names.name(self.slug(NUMBERING.sub("", label)), f"t{len([t for t in self.names.taken if t.startswith('t')]) + 1}")
        keys = Namer()
        table.column_keys = [keys.name(self.slug(table.column_header(k)), f"c{k + 1}") for k in range(len(table.spans))]
        self.columns_keys.update(table.column_keys)
        rows = Namer()
        inner = [t.labels[-1] if t.labels else "" for t in table.rows]
        counts: dict[str, int] = {}
        for trow, label in zip(table.rows, inner, strict=True):
            repeated = inner.count(label) > 1 and not trow.total
            counts[label] = counts.get(label, 0) + 1
            base = (self.slug(label) or f"g{list(dict.fromkeys(inner)).index(label) + 1}_") if repeated else self.slug(label)
            wanted = f"{base}{counts[label]}" if repeated else base
            if not self.pinyin:
                wanted = f"g{list(dict.fromkeys(inner)).index(label) + 1}_{counts[label]}" if repeated else ""
            table.row_keys.append(rows.name(wanted, f"r{len(table.row_keys) + 1}"))
        for trow, key in zip(table.rows, table.row_keys, strict=True):
            for k, cell in enumerate(trow.cells):
                if cell is not None:
                    target = Target(f"{table.id}.{key}.{table.column_keys[k]}", table.id, key, table.column_keys[k])
                    self.fields[(sheet.grid.name, cell.row, cell.col)] = target

    def wildcards(self, sheet: SheetBlocks, table: TableBlock) -> None:
        """`{t.*.c}` and `{t.group*.c}` as the placer writes them, for every column every matched row has a field in."""
        from fnmatch import fnmatchcase

        detail = [(t, k) for t, k in zip(table.rows, table.row_keys, strict=True) if not t.total]
        patterns = ["*", *sorted({m.group(1) + "*" for _, k in detail if (m := re.fullmatch(r"(.*[a-z_])[0-9]+", k))})]
        for pattern in patterns:
            rows = [(t, k) for t, k in detail if fnmatchcase(k, pattern)]
            if pattern != "*" and any(fnmatchcase(k, pattern) for t, k in zip(table.rows, table.row_keys, strict=True) if t.total):
                continue
            for c, ckey in enumerate(table.column_keys):
                cells = [t.cells[c] for t, _ in rows]
                if rows and all(cell is not None for cell in cells):
                    self.translator.wildcard("{" + f"{table.id}.{pattern}.{ckey}" + "}",
                                             [(sheet.grid.name, cell.row, cell.col) for cell in cells if cell is not None])

    # ------------------------------------------------------------ YAML
    def formula(self, grid: Grid, cell: Cell, table: str | None = None, row_key: str | None = None) -> str:
        text, problem = self.translator.translate(cell.formula or "", grid.name, table, row_key)
        if problem:
            self.problem(grid, cell, f"公式 ={cell.formula} 未能换成字段占位符（{problem}），原样保留，请改写")
        return text

    def type_of(self, cell: Cell, label: str, formula: bool) -> str:
        return self.types.of(cell, label, formula)

    def write(self) -> str:
        body: list[str] = ["sheets:"]
        rules: list[str] = []
        for sheet in self.sheets:
            body += self.sheet_lines(sheet, rules)
        head = [f"# 由 xlkit spec import 从 {self.path.name} 生成的初稿。请按 docs/forms.md 的「复核清单」逐项检查：",
                "# 标有 guessed 的行是推测；文末列出未能识别的内容。",
                "template:",
                f"  id: {template_id(self.path.stem, self.title)}",
                '  version: "1"',
                f"  title: {q(self.title or self.path.stem)}"]
        if self.issuer:
            head.append(f"  issuer: {q(self.issuer)}")
        if self.types.lists:
            head.append("lists:")
            head += [f"  {name}: [{', '.join(q(e) for e in items)}]" for name, items in self.types.lists.items()]
        head.append("types:")
        for tdef in self.types.defs.values():
            head.append(f"  {tdef.name}: {flow({'base': tdef.base, **tdef.options})}" + self.guess(tdef.why))
        tail = ["rules:", *rules] if rules else []
        if self.problems:
            tail += ["", "# 未能识别（请复核）："] + [f"#   {p}" for p in self.problems]
        return "\n".join(head + body + tail) + "\n"

    def sheet_lines(self, sheet: SheetBlocks, rules: list[str]) -> list[str]:
        grid = sheet.grid
        used = max(grid.width, 1)
        out = [f"  - name: {q(grid.name)}", f"    key: {sheet.key}"]
        if grid.orientation == "landscape":
            out.append("    orientation: landscape")
        if not grid.printed:
            out.append("    printed: false")
        out.append(f"    columns: [{', '.join(q(w) for w in grid.widths[:used])}]")
        out.append("    blocks:")
        for block, broken in sheet.blocks:
            lines = self.block_lines(sheet, block, rules)
            if broken and lines:
                lines[0:1] = ["      - page_break: true", "        " + lines[0][len("      - "):]]
            out += lines
        return out

    def block_lines(self, sheet: SheetBlocks, block: Any, rules: list[str]) -> list[str]:
        grid = sheet.grid
        if isinstance(block, TextBlock):
            text = block.text
            if block.kind == "title" and text == self.title:
                text = "{title}"
            issuer = re.fullmatch(r"(.+)（制）", text)
            if block.kind == "note" and issuer and (not self.issuer or self.issuer == issuer.group(1)):
                self.issuer, text = issuer.group(1), "{issuer}（制）"
            lines = [f"      - {block.kind}: {q(text)}"]
            if block.box:
                lines.append("        box: true")
            return lines
        if isinstance(block, FieldsBlock):
            lines = ["      - fields:"]
            for items in block.rows:
                entries = []
                for item in items:
                    label = item.label.text or "" if item.label else ""
                    entry: dict[str, Any] = {"id": sheet.ids[id(item)], "label": label or sheet.ids[id(item)],
                                             "type": self.type_of(item.cell, label, item.cell.formula is not None)}
                    if item.cell.span > 1:
                        entry["span"] = item.cell.span
                    if item.label is None:
                        entry["label_span"] = 0
                    elif item.label.span > 1:
                        entry["label_span"] = item.label.span
                    self.required(grid, item.cell, entry, None, None)
                    if item.cell.formula is not None:
                        entry["formula"] = self.formula(grid, item.cell)
                    entries.append((entry, item.guessed))
                if not entries:
                    continue
                for n, (entry, guessed) in enumerate(entries):
                    lead = "          - - " if n == 0 else "            - "
                    lines.append(lead + flow(entry) + self.guess(f"input, {guessed}" if guessed else ""))
            return lines if len(lines) > 1 else []
        if isinstance(block, ListRows):
            return self.list_lines(sheet, block)
        if isinstance(block, TableBlock):
            return table_lines(self, sheet, block)
        assert isinstance(block, RulesRows)
        return rules_lines(self, sheet, block, rules)

    def guess(self, why: str) -> str:
        if not why:
            return ""
        self.guesses += 1
        return "  # guessed: " + " ".join(why.split())

    def required(self, grid: Grid, cell: Cell, entry: dict[str, Any], table: str | None, row_key: str | None) -> None:
        if cell.formula is not None:
            return
        if cell.required:
            entry["required"] = True
        elif cell.required_if:
            fake = Cell(cell.row, cell.col, cell.row, cell.col, None, cell.required_if, "", False, 11, False, "", True)
            entry["required_if"] = self.formula(grid, fake, table, row_key)

    def list_lines(self, sheet: SheetBlocks, block: ListRows) -> list[str]:
        grid = sheet.grid
        labels = [label for label, _ in block.items]
        prefix = re.sub(r"[0-9]+$", "", labels[0])
        cells = [cell for _, cell in block.items]
        entry: dict[str, Any] = {"id": sheet.ids[id(block)], "label": block.label, "repeat": len(labels),
                                 "item_label": prefix + "{n}", "type": self.type_of(cells[0], block.label, False)}
        if labels != [f"{prefix}{n}" for n in range(1, len(labels) + 1)]:
            self.problem(grid, cells[0], f"列表的各行标签不是“{prefix}1、{prefix}2…”，生成时将按编号重写")
        if cells[0].span > 1:
            entry["span"] = cells[0].span
        required = [c.required for c in cells]
        if all(required):
            entry["required"] = "all"
        elif required[0]:
            entry["required"] = "first"
        return [f"      - list: {flow(entry)}"]


def cell_text(grid: Grid, row: int, col: int) -> str:
    return f"{grid.name}!{cell_name(row, col)}"
