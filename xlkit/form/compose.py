"""Another spec's sheets placed inside a form, one copy per item (a unit's key projects, each a 项目自评表).

Each copy is placed by the other spec's own rules on renamed sheets, so its formulas stay its own; then its fields
join the host's as `<id><n>.<field id>` with the `<id>:` types, and the host's linked fields become formulas over
the copy (each number typed once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import SpecError
from .layout import Layout, SheetLayout
from .params import BuildParams, make_params
from .placeholders import PLACEHOLDER, fill_in
from .spec import Compose, Rule, Spec


def composed_rules(entry: Compose) -> list[Rule]:
    """The other spec's rules that speak only of the composed sheets (the 评分表's stay behind when only the 项目自评表
    is composed); required fields are counted by the host's own rule."""
    sheets = [s for s in entry.loaded.sheets if s.name in entry.sheets]
    tables = {b.table.id for s in sheets for b in s.blocks if b.table is not None}
    fields = {i.id for s in sheets for b in s.blocks for row in b.fields or [] for i in row}
    fields |= {b.list_.id for s in sheets for b in s.blocks if b.list_ is not None}

    def known(name: str) -> bool:
        return name in fields or name.split(".")[0] in tables | fields

    out = []
    for rule in entry.loaded.rules:
        names = PLACEHOLDER.findall(f"{rule.left or ''} {rule.right or ''}")
        if not rule.required_blanks and (rule.for_ is None or rule.for_ in tables) and all(known(n) for n in names):
            out.append(rule)
    return out


def copy_rule(rule: Rule, entry: Compose, n: int, sheet_name: str) -> Rule:
    """A rule of copy n: its fields and table prefixed, its id `<id>_<rule id>.<n>` (one issue code for every copy)."""
    def prefixed(text: str | None) -> str | None:
        return PLACEHOLDER.sub(lambda m: "{" + f"{entry.id}{n}.{m.group(1)}" + "}", text) if text else text

    return rule.model_copy(update={"id": f"{entry.id}_{rule.id}.{n}", "name": f"{sheet_name}：{rule.name}", "left": prefixed(rule.left),
                                   "right": prefixed(rule.right), "for_": f"{entry.id}{n}.{rule.for_}" if rule.for_ else None})


def place_copies(host: Any, entry: Compose, path: str, place: Callable[[Spec, BuildParams], Layout]) -> list[SheetLayout]:
    """Every copy's sheets (placed by `place`, the host's placer on the other spec), their fields added to the
    host's; the links left for the host's resolver."""
    other: Spec = entry.loaded
    sheets: list[SheetLayout] = []
    items = host.count(entry.repeat, f"{path}.repeat")
    rules = composed_rules(entry)
    for n in range(1, len(items) + 1):
        prefix = f"{entry.id}{n}"
        renamed = []
        for k, name in enumerate(entry.sheets):
            sheet_spec = next(s for s in other.sheets if s.name == name)
            title = fill_in(entry.sheet_name, n=n) + ("" if k == 0 else name)
            renamed.append(sheet_spec.model_copy(update={"name": title[:31], "key": f"{prefix}_{sheet_spec.key}"}))
        sources = {key: f"item:{entry.repeat}:{n - 1}" if source == "item" else source for key, source in entry.prefill.items()}
        prefill = {key: host.params.value_of(source) for key, source in sources.items()}
        params = make_params(other, {k: v for k, v in prefill.items() if v is not None},
                             constants={k: v for k, v in host.params.constants.items() if k in other.constants})
        copy = place(other.model_copy(update={"sheets": renamed, "rules": []}), params)
        for slot in copy.fields.values():
            slot.id = f"{prefix}.{slot.id}"
            slot.type = f"{entry.id}:{slot.type}"
            slot.spec_path = f"{path}.spec:{slot.spec_path}"
            if slot.prefill is not None:  # locked when the host gives the value (an item always has a name, "" in a shape)
                slot.prefill = sources.get(slot.prefill)
                slot.locked = slot.prefill is not None and host.params.value_of(slot.prefill) is not None
            if slot.id in host.fields:
                raise SpecError(f"{path}: 字段编号 {slot.id!r} 重复使用")
            host.fields[slot.id] = slot
        sheets.extend(copy.sheets)
        for table, rows in copy.table_rows.items():
            host.table_rows[f"{prefix}.{table}"] = rows
        host.extra_rules += [copy_rule(rule, entry, n, renamed[0].name) for rule in rules]
        for link in entry.links:
            target = host.fields.get(fill_in(link.field, n=n))
            if target is None:
                raise SpecError(f"{path}.links: {fill_in(link.field, n=n)!r} 不是本表的字段（第 {n} 份副本所需的行不够？）")
            target.kind, target.required, target.locked = "formula", False, False
            host.pending.append((target, fill_in(link.formula, n=n), None, None))
    return sheets
