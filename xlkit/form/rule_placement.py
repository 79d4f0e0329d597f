"""Place a spec's rules (校验): the 校验 table's rows with live formulas, and the fields each rule's issue points at.
A part of the placer (`placement._Placer`), kept apart because rules are placed last, over every sheet placed before."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..errors import SpecError
from .a1 import cell_name
from .layout import FieldSlot, RowInstance, RuleSlot, SheetLayout, Static
from .placeholders import PLACEHOLDER, fill_in
from .spec import Block, Rule, Spec

ROW_LABEL_JOIN = "·"  # {row} of a row with a label in several columns: 产出指标·数量指标


class RulePlacement:
    """The rules part of the placer; the attributes are the placer's."""

    spec: Spec
    fields: dict[str, FieldSlot]
    table_rows: dict[str, list[RowInstance]]
    rules: list[RuleSlot]
    extra_rules: list[Rule]

    def add(self, sheet: SheetLayout, slot: FieldSlot, spec_formula: str | None = None, table: str | None = None,
            row_key: str | None = None) -> None:
        raise NotImplementedError

    def type_of(self, name: str | None, path: str) -> str:
        raise NotImplementedError

    def place_rules(self, sheets: list[SheetLayout], sheet: SheetLayout, row: int, block: Block, path: str) -> int:
        spec_block = block.rules
        assert spec_block is not None
        if sheet.width < len(spec_block.header):
            raise SpecError(f"{path}.rules: 校验表需要 {len(spec_block.header)} 列")
        for c, text in enumerate(spec_block.header):
            sheet.statics.append(Static(row, c, text, "header"))
        sheet.title_rows = max(sheet.title_rows, row + 1)
        row += 1
        number = 0
        for k, check in enumerate([*self.spec.rules, *self.extra_rules]):
            for cid, name, left, right, blame, item, template in self.expand_rule(check, sheets, f"rules[{k}]"):
                number += 1
                cpath = f"rules[{k}]"
                sheet.statics.append(Static(row, 0, str(number), "rowlabel"))
                sheet.statics.append(Static(row, 1, name, "checkname"))
                sheet.statics.append(Static(row, 2, spec_block.severity_text[check.severity], "rowlabel"))
                typed_by = blame if check.anchor is None else self.blame(left)  # an anchor does not change what the cells hold
                value_type = "result" if check.type == "text" else (
                    self.type_of(check.value_type, f"{cpath}.value_type") if check.value_type else self.check_value_type(left, typed_by))
                base = f"check.{cid}"
                for suffix, col, text, label in ((".left", 3, left, "本表数"), (".right", 4, right, "比较数")):
                    slot = FieldSlot(f"{base}{suffix}", sheet.name, row, col, "formula", value_type, f"{name}：{label}",
                                     spec_path=f"{cpath}{suffix}")
                    self.add(sheet, slot, text)
                lref, rref = cell_name(row, 3), cell_name(row, 4)
                diff_id: str | None = None
                if check.type == "number":
                    diff_id = f"{base}.diff"
                    difference = f"ROUND({lref}-{rref},2)"
                    self.add(sheet, FieldSlot(diff_id, sheet.name, row, 5, "formula", value_type, f"{name}：差额", spec_path=cpath), difference)
                    test = {"==": f"{difference}=0", "<=": f"{difference}<=0", ">=": f"{difference}>=0"}[check.op]
                else:
                    sheet.statics.append(Static(row, 5, "", "empty"))
                    test = f"{lref}={rref}"
                result = f'IF({test},"{spec_block.pass_text}","{spec_block.fail_text}")'
                slot = FieldSlot(f"{base}.result", sheet.name, row, 6, "formula", "result", f"{name}：结果", spec_path=cpath)
                self.add(sheet, slot, result)
                note = None
                if spec_block.explained and check.severity == "warning":
                    note = f"{base}.note"
                    self.add(sheet, FieldSlot(note, sheet.name, row, 7, "input", self.type_of(spec_block.explanation_type, f"{path}.rules"),
                                              f"{name}：说明", spec_path=cpath))
                elif spec_block.explained:
                    sheet.statics.append(Static(row, 7, "", "empty"))
                self.rules.append(RuleSlot(cid, name, check.severity, check.op, check.type, f"{base}.left", f"{base}.right", diff_id,
                                             f"{base}.result", blame, row, spec_block.pass_text, spec_block.fail_text,
                                             check.required_blanks, item, template, note))
                row += 1
        return row

    def check_value_type(self, left: str, blame: list[str]) -> str:
        for field_id in blame:
            slot = self.fields.get(field_id)
            if slot and self.spec.types[slot.type].base != "text":
                return slot.type
        return self.counting_type()

    def counting_type(self) -> str:
        """A rule over no number field counts (必填项, COUNTA, a 0/1 test): the form's first whole-number type that takes
        any count, else such a number type that is no percentage, else its first type."""
        types = self.spec.types
        counts = [name for name, t in types.items() if t.base in ("integer", "number") and "%" not in (t.number_format or "")
                  and (t.min is None or t.min <= 0) and t.max is None]
        return next((name for name in counts if types[name].base == "integer"), next(iter(counts), next(iter(types))))

    def expand_rule(self, check: Rule, sheets: list[SheetLayout], path: str) -> list[tuple[Any, ...]]:
        if check.required_blanks:
            out: list[tuple[Any, ...]] = []
            targets = sheets if check.for_sheets else []
            for sheet in targets:
                required = [s for s in sheet.slots if (s.required or s.condition) and s.kind == "input"]
                if not required:
                    continue
                left = "0+" + "+".join(f"(LEN({{{s.id}}})=0)" if s.required else f"AND({s.condition},LEN({{{s.id}}})=0)"
                                       for s in required)  # 0+ keeps a single term a number
                cid = f"{check.id}.{sheet.spec.key}" if check.for_sheets else check.id
                out.append((cid, fill_in(check.name, sheet=sheet.name), left, "0", [], None, None))
            return out
        assert check.left and check.right
        if check.for_ is None:
            return [(check.id, check.name, check.left, check.right, self.anchored(check, check.left, None, path), None, None)]
        if check.for_ not in self.table_rows:
            raise SpecError(f"{path}.for: 未知的表格 {check.for_!r}")
        out = []
        instances = self.table_rows[check.for_]
        labels = [ROW_LABEL_JOIN.join(instance.labels) for instance in instances]
        repeats, seen = Counter(labels), Counter[str]()
        for k, instance in enumerate(instances):
            seen[labels[k]] += 1
            if instance.total and not check.total_row:
                continue
            left = check.left.replace("#", instance.key)
            right = check.right.replace("#", instance.key)
            template = fill_in(check.name, row=ROW_LABEL_JOIN.join([instance.template, *instance.labels[1:]])) if instance.item else None
            row = labels[k] if repeats[labels[k]] == 1 else f"{labels[k]} {seen[labels[k]]}"  # repeated rows: numbered
            out.append((f"{check.id}.{instance.key}", fill_in(check.name, row=row), left, right,
                        self.anchored(check, left, instance.key, path),
                        instance.item, template))
        return out

    def anchored(self, check: Rule, left: str, row_key: str | None, path: str) -> list[str]:
        """The fields an issue of the rule points at (and the 校验 colours): its anchor, else every field of `left`."""
        if check.anchor is None:
            return self.blame(left)
        anchor = check.anchor.replace("#", row_key) if row_key is not None else check.anchor
        if anchor not in self.fields:
            raise SpecError(f"{path}.anchor: 未知的字段 {anchor!r}")
        return [anchor]

    def blame(self, text: str) -> list[str]:
        return [name for name in PLACEHOLDER.findall(text) if name in self.fields]
