"""Typed model of a form spec (YAML), validated on load with path-named errors."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal, Union

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from .spec_base import FIELD_ID, KEY, Model
from .spec_review import Narrative, Review
from .spec_roster import PREFILL_KEYS, PREVIOUS_PREFIX, RosterMap, RosterParameter, is_prefill_key
from .spec_summary import Summary, SummaryColumn, SummarySheet

__all__ = ["FIELD_ID", "KEY", "Model", "RosterMap", "RosterParameter", "Summary", "SummaryColumn", "SummarySheet"]  # the whole model, from one module

MAX_REPEAT = 1000  # rows one parameter may ask for: a returned file names its own counts, and they must stay bounded


class TemplateInfo(Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str
    title: str
    issuer: str = ""
    password: str | None = None  # sheet and structure protection; the command line's --password wins


class Parameter(Model):
    label: str
    default: int = Field(ge=0)
    min: int = Field(default=0, ge=0)
    max: int = Field(default=100, ge=0, le=MAX_REPEAT)
    item_name: str | None = None

    @model_validator(mode="after")
    def _range(self) -> Parameter:
        if not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} 超出 {self.min}..{self.max} 的范围")
        return self


class Constant(Model):
    """A named number of the form (时间进度 7/12 at a 监控时点), usable in formulas and rules as {const.<name>}; a
    bureau sets it at build or distribute time (--const name=value) without a new spec, and the workbook records it."""

    label: str
    value: float
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _range(self) -> Constant:
        if not within(self.value, self.min, self.max):
            raise ValueError(f"value {self.value} 超出 {self.min}..{self.max} 的范围")
        return self


def within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


class Band(Model):
    min: float
    label: str


class ValueType(Model):
    base: Literal["number", "integer", "text", "date", "boolean"]
    min: float | None = None
    max: float | None = None
    decimals: int | None = Field(default=None, ge=0, le=10)
    unit: str | None = None
    max_length: int | None = Field(default=None, ge=1, le=32767)
    pattern: str | None = None
    choices: str | None = None
    number_format: str | None = None
    wrap: bool = False
    validation: dict[str, Any] | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"正则表达式有误：{exc}") from exc
        return value


class FieldItem(Model):
    """One labelled input or formula cell in a `fields` block."""

    id: str
    label: str
    type: str
    span: int = Field(default=1, ge=1)
    label_span: int = Field(default=1, ge=0)  # 0: no label cell (a heading above says what the field is)
    required: bool = False
    required_if: str | None = None  # required when this expression holds, e.g. '{possibility}<>"确定能"'
    prefill: str | None = None
    formula: str | None = None
    height: float | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not FIELD_ID.match(value):
            raise ValueError(f"字段编号 {value!r} 须为小写 ASCII 字母、数字和下划线，以点分段（如 funds.total.rate）")
        return value


class HeaderCell(Model):
    text: str
    rows: int = Field(default=1, ge=1)
    cols: int = Field(default=1, ge=1)


class TableRow(Model):
    key: str
    label: Union[str, list[str]]
    hint: Union[str, list[str], None] = None  # guidance printed under the label (one per label column), not part of field labels
    repeat: Union[int, str, None] = None
    total: bool = False
    formulas: dict[str, str] = {}  # column key -> the formula of this row's cell (a bureau-fixed 分值, say), in place of the column's

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY.match(value):
            raise ValueError(f"行键 {value!r} 须为小写 ASCII 字母、数字和下划线")
        return value


class TableColumn(Model):
    key: str = Field(pattern=KEY.pattern)
    label: str
    type: str | None = None
    formula: str | None = None
    span: int = Field(default=1, ge=1)
    height: float | None = None
    required: Literal["first", "all", False] = False
    required_if: str | None = None  # each detail row's cell is required when this holds ({column} = the same row's)
    total: Literal["auto", "none", "input"] = "auto"  # the total row's cell: a SUM (text: empty), empty, or an input
    blank: bool = False


class Table(Model):
    id: str = Field(pattern=KEY.pattern)
    caption: str | None = None
    type: str | None = None
    label_columns: int = Field(default=1, ge=1)
    header: list[list[Union[str, HeaderCell]]]
    rows: list[TableRow] = Field(min_length=1)
    columns: list[TableColumn] = Field(min_length=1)


class ListBlock(Model):
    id: str = Field(pattern=KEY.pattern)
    label: str
    repeat: Union[int, str]
    item_label: str
    type: str
    span: int = Field(default=1, ge=1)
    required: Literal["first", "all", False] = False
    height: float | None = None


class RulesBlock(Model):
    """The 校验 table: one row per rule, with live formulas."""

    header: list[str] = Field(min_length=7, max_length=8)  # an 8th column is the 说明 of warning rules (提示性审核)
    pass_text: str
    fail_text: str
    severity_text: dict[Literal["error", "warning"], str]
    explanation_type: str = "text"  # the type of the 说明 input cells, with an 8th header

    @property
    def explained(self) -> bool:
        return len(self.header) == 8


class Block(Model):
    """Exactly one of the kinds; `height`/`box` style a note."""

    title: str | None = None
    heading: str | None = None
    note: str | None = None
    fields: list[list[FieldItem]] | None = None
    table: Table | None = None
    list_: ListBlock | None = Field(default=None, alias="list")
    rules: RulesBlock | None = Field(default=None, alias="checks")  # `rules:` or, as in 2026.1, `checks:`
    height: float | None = None
    box: bool = False
    page_break: bool = False  # start a new printed page with this block

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_kind(self) -> Block:
        kinds = [k for k in ("title", "heading", "note", "fields", "table", "list_", "rules") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"块须恰有 title/heading/note/fields/table/list/rules 之一，实际为 {'、'.join(k.rstrip('_') for k in kinds) or '无'}")
        return self


class Sheet(Model):
    name: str = Field(min_length=1, max_length=31)
    key: str = Field(pattern=KEY.pattern)
    orientation: Literal["portrait", "landscape"] = "portrait"
    columns: list[float] = Field(min_length=1)
    blocks: list[Block]
    printed: bool = True  # false: left out of the form's print (the unit's own 校验 sheet); still printable on its own

    @field_validator("name")
    @classmethod
    def _sheet_name(cls, value: str) -> str:
        if re.search(r"[\[\]:*?/\\']", value):
            raise ValueError(f"工作表名 {value!r} 含有 Excel 不允许的字符（[ ] : * ? / \\ '）")
        return value


class Rule(Model):
    """A rule of the form (校验): live on the 校验 sheet, and applied in Python to every returned file."""

    id: str = Field(pattern=KEY.pattern)
    name: str
    severity: Literal["error", "warning"] = "error"
    op: Literal["==", "<=", ">="] = "=="
    type: Literal["number", "text"] = "number"
    left: str | None = None
    right: str | None = None
    for_: str | None = Field(default=None, alias="for")
    total_row: bool = True  # with for: false leaves the table's total row out (a rule about a column it does not have)
    for_sheets: bool = False
    required_blanks: bool = False
    anchor: str | None = None  # the field an issue of this rule points at (# = the row); default: every field of `left`
    value_type: str | None = None  # the type its 本表数/比较数/差额 cells show (a 0/1 count: an integer type); default: left's

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _sides(self) -> Rule:
        if self.required_blanks:
            if self.left or self.right:
                raise ValueError("required_blanks 规则不应写 left/right")
            if not self.for_sheets:
                raise ValueError("required_blanks 规则按工作表计数：请加上 for_sheets: true")
        elif not (self.left and self.right):
            raise ValueError("规则需要 left 和 right（或 required_blanks: true）")
        return self


class Link(Model):
    """A field of the host form that takes its value from a composed copy, by formula: typed once."""

    field: str  # a host field id; {n} is the copy's number
    formula: str  # placeholders name the copy's fields as {<id>{n}.<field id>}


class Compose(Model):
    """Another spec's sheets inside this form, one copy per item of a parameter (a unit's key projects, each with
    its own 项目自评表). The copies' field ids are `<id><n>.<field id>`; their types and lists join this spec's as
    `<id>:<name>`."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    spec: str  # a spec file, relative to this one
    repeat: str  # the parameter whose items get a copy each; the item's name is the copy's prefill `item`
    sheets: list[str] = Field(min_length=1)  # the other spec's sheets each copy gets
    sheet_name: str  # the copy's sheet name, with {n}; a second sheet of a copy adds its own name
    after: str | None = None  # the host sheet the copies follow (default: the last)
    prefill: dict[str, str] = {}  # the other spec's prefill key -> `item` (the item's name) or a prefill key of this form
    links: list[Link] = []
    fingerprint: SkipJsonSchema[str] = ""  # the other spec's, set on load: a change there is a change of this form
    loaded: SkipJsonSchema[Any] = Field(default=None, exclude=True)  # the other spec, set on load


class PreviousFigure(Model):
    """A main figure compared with last year: prefilled as `previous.<key>`, shown with 上年数 and 变动率 in the
    summary."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    field: str
    rule: str | None = None  # the warning rule that flags a change beyond the threshold (its 说明 shows in the summary)


class Previous(Model):
    """What a campaign carries over from last year's (campaign init --previous, distribute --prefill-from)."""

    figures: list[PreviousFigure] = []
    texts: list[str] = []  # input fields (patterns, * = any part) whose last-year text starts this year's workbook


# Types the spec language supplies when a spec does not define them: the 校验 sheet's result cells, and text (the
# 说明 cells of warning rules, a blank column's placeholder). A spec may define either itself; a supplied one is not
# part of the form's fingerprint.
IMPLICIT_TYPES: dict[str, dict[str, Any]] = {"text": {"base": "text"}, "result": {"base": "text"}}


class Spec(Model):
    template: TemplateInfo
    parameters: dict[str, Parameter] = {}
    constants: dict[str, Constant] = {}
    grades: list[Band] = []  # 等次 bands, highest first; a form with no 等次 leaves them out (and cannot use GRADE())
    lists: dict[str, list[str]] = {}
    types: dict[str, ValueType]
    sheets: list[Sheet] = Field(min_length=1)
    rules: list[Rule] = Field(default=[], alias="checks")  # `rules:` or, as in 2026.1, `checks:`
    summary: Summary | None = None
    compose: list[Compose] = []
    previous: Previous = Previous()
    narrative: Narrative | None = None  # the bureau's 审核 of the long texts against the tables (not in the fingerprint)
    review: Review | None = None  # the 审核 across units and the 复核 sample (not in the fingerprint)
    roster: RosterMap = RosterMap()  # which roster columns set parameters and prefill keys (not in the fingerprint)
    supplied_types: SkipJsonSchema[tuple[str, ...]] = Field(default=(), exclude=True)  # set on load: IMPLICIT_TYPES the spec left out

    @model_validator(mode="before")
    @classmethod
    def _implicit_types(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "supplied_types" in data:
            raise ValueError("supplied_types 由 xlkit 设定，不能写在表式中")
        types = data.get("types")
        if not isinstance(types, dict):
            return data
        missing = [name for name in IMPLICIT_TYPES if name not in types]
        return {**data, "types": {**types, **{name: IMPLICIT_TYPES[name] for name in missing}}, "supplied_types": tuple(missing)}

    @field_validator("constants")
    @classmethod
    def _constant_names(cls, value: dict[str, Constant]) -> dict[str, Constant]:
        bad = [name for name in value if not re.fullmatch(r"[a-z][a-z0-9_]*", name)]
        if bad:
            raise ValueError(f"常量名 {', '.join(bad)} 须为小写 ASCII 字母、数字和下划线，以字母开头")
        return value

    @model_validator(mode="after")
    def _grades_descending(self) -> Spec:
        mins = [band.min for band in self.grades]
        if mins != sorted(mins, reverse=True):
            raise ValueError("grades 须从最高的等次往下排列")
        return self

    @model_validator(mode="after")
    def _roster_names(self) -> Spec:
        unknown = [name for name in self.roster.parameters if name not in self.parameters]
        if unknown:
            raise ValueError(f"roster.parameters.{unknown[0]}: 不是表式的参数（已定义：{', '.join(self.parameters) or '无'}）")
        bad = [key for key in self.roster.prefill if not is_prefill_key(key)]
        if bad:
            raise ValueError(f"roster.prefill.{bad[0]}: 不是预填键；可用的键为 {', '.join(PREFILL_KEYS)} 和 {PREVIOUS_PREFIX}<名称>")
        return self

    def fingerprint(self) -> str:
        """Identifies the form a workbook was built from: hashes the validated model (not the YAML text),
        leaving out `summary`, `narrative`, `review` and `roster`, which shape the bureau's consolidation, 审核 and distribution,
        not the units' workbooks."""
        exclude = {"summary", "narrative", "review", "roster"}
        form = self.model_dump(mode="json", by_alias=True, exclude=exclude, exclude_defaults=True)  # new optional keys keep it
        for name in self.supplied_types:
            form["types"].pop(name, None)
        for entry, dumped in zip(self.compose, form.get("compose", []), strict=True):
            # an archived copy composes its own archive (project_self_eval_2026.2.yaml) where the form, when current,
            # composed project_self_eval.yaml: the file's name is not the form (its fingerprint is, and is hashed)
            if entry.loaded is not None and isinstance(dumped.get("spec"), str):
                dumped["spec"] = dumped["spec"].replace(f"_{entry.loaded.template.version}.yaml", ".yaml")
        canonical = json.dumps(form, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

