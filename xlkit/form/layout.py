"""The layout of a form: every field, label and formula at its cell, for one set of build parameters.

A layout is computed from the spec and the parameters only (see `placement`);
nothing here knows the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..kinds import FieldKind, Severity
from .a1 import cell_name, quote_sheet
from .params import BuildParams
from .spec import Sheet, Spec


@dataclass
class FieldSlot:
    id: str
    sheet: str
    row: int
    col: int
    kind: FieldKind
    type: str
    label: str
    required: bool = False
    formula: str | None = None  # Excel text without "=", after placeholders are resolved
    span: int = 1
    locked: bool = False  # an input prefilled at build time
    prefill: str | None = None
    spec_path: str = ""
    item: tuple[str, int] | None = None  # the named repeated item (parameter, index) the label mentions
    label_template: str | None = None  # the label with {name} left open
    condition: str | None = None  # required when this holds: spec placeholders, every field named in full
    required_if: str | None = None  # the condition as Excel text without "=", after placeholders are resolved

    def label_for(self, params: BuildParams) -> str:
        """The label with this unit's own item names (a layout may be shared by units of the same shape)."""
        if self.item is None or self.label_template is None:
            return self.label
        names = params.items.get(self.item[0], [])
        name = names[self.item[1]] if self.item[1] < len(names) else ""
        return self.label_template.replace("{name}", name)

    @property
    def address(self) -> str:
        return cell_name(self.row, self.col)

    def ref(self, from_sheet: str) -> str:
        return self.address if from_sheet == self.sheet else f"{quote_sheet(self.sheet)}!{self.address}"


@dataclass
class Static:
    row: int
    col: int
    text: str
    style: str
    last_row: int | None = None
    last_col: int | None = None


@dataclass
class RuleSlot:
    id: str
    name: str
    severity: Severity
    op: str
    type: str
    left: str  # field ids of the 校验 cells
    right: str
    diff: str | None
    result: str
    blame: list[str]  # input/formula fields a failing check highlights
    row: int
    pass_text: str
    fail_text: str
    required_blanks: bool = False
    item: tuple[str, int] | None = None  # as FieldSlot: the named row the name mentions
    name_template: str | None = None
    note: str | None = None  # a warning rule's 说明 input field: the unit's explanation of why it fails

    def name_for(self, params: BuildParams) -> str:
        if self.item is None or self.name_template is None:
            return self.name
        names = params.items.get(self.item[0], [])
        return self.name_template.replace("{name}", names[self.item[1]] if self.item[1] < len(names) else "")


@dataclass
class SheetLayout:
    spec: Sheet
    statics: list[Static] = field(default_factory=list)
    slots: list[FieldSlot] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)
    title_rows: int = 1
    last_row: int = 0
    page_breaks: list[int] = field(default_factory=list)  # rows that start a printed page

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def width(self) -> int:
        return len(self.spec.columns)


@dataclass
class RowInstance:
    key: str
    labels: list[str]
    total: bool
    item: tuple[str, int] | None = None  # (parameter, index) when the row is a named repeated item
    template: str = ""  # the first label before {name} is filled in
    hints: list[str] = field(default_factory=list)  # guidance under each label column ("" for none)
    formulas: dict[str, str] = field(default_factory=dict)  # column key -> this row's own formula


@dataclass(eq=False)  # compared and hashed by identity: caches key on a layout
class Layout:
    spec: Spec
    params: BuildParams
    sheets: list[SheetLayout]
    fields: dict[str, FieldSlot]
    rules: list[RuleSlot]
    table_rows: dict[str, list[RowInstance]]

    @cached_property
    def by_cell(self) -> dict[tuple[str, int, int], str]:
        """Field id by (sheet, row, col)."""
        return {(s.sheet, s.row, s.col): s.id for s in self.fields.values()}

    @cached_property
    def field_ids(self) -> tuple[str, ...]:
        """Every field id, in field order (each unit's row of values is kept in it)."""
        return tuple(self.fields)

    def inputs(self) -> tuple[FieldSlot, ...]:
        return self._by_kind["input"]

    def formulas(self) -> tuple[FieldSlot, ...]:
        return self._by_kind["formula"]

    @cached_property
    def _by_kind(self) -> dict[str, tuple[FieldSlot, ...]]:
        """Input and formula slots in field order, listed once (a check walks them for every file)."""
        return {kind: tuple(s for s in self.fields.values() if s.kind == kind) for kind in ("input", "formula")}
