"""The `summary:` section of a spec: how the bureau's summary workbook reports the form (its themed sheets,
charts, 共性指标). It shapes consolidation, not the units' workbooks, so it is not part of the fingerprint."""

from __future__ import annotations

import re
from typing import Any, Literal, Union

from pydantic import Field, model_validator

from .spec_base import KEY, Model


class SummaryColumn(Model):
    field: str | None = None
    count: str | None = None
    equals: Union[str, float, None] = None  # with count: only the fields holding this value (完全不可能 → rows answering so)
    label: str
    group: str = ""
    type: str | None = None  # a `types` name for the cells' number format; default: the field's own type (a count: General)
    total: Literal["sum", "average", "ratio", "none"] = "sum"  # what the 小计 and 合计 rows hold
    ratio_of: tuple[str, str] | None = None  # total: ratio — the 小计 is numerator / denominator, two fields of the same sheet

    @model_validator(mode="after")
    def _source(self) -> SummaryColumn:
        if (self.field is None) == (self.count is None):
            raise ValueError("汇总列须恰有 field 或 count 之一")
        if self.equals is not None and self.count is None:
            raise ValueError("equals 须与 count 同用：统计取该值的字段个数")
        return self


class GradeChart(Model):
    field: str
    title: str


class StructureChart(Model):
    title: str
    fields: list[str] = Field(min_length=1)


class Indicator(Model):
    """A 共性指标: a ratio of two fields, per unit and per department (the ratio of the sums)."""

    id: str = Field(pattern=KEY.pattern)
    label: str
    numerator: str
    denominator: str


# sheet names the summary workbook writes besides the themed ones
RESERVED_SUMMARY_SHEETS = ("校验问题", "报送情况", "共性指标", "统计", "字段", "_xlkit", "_units")
SHEET_NAME = re.compile(r"^[^\[\]:*?/\\']{1,31}$")


class Watch(Model):
    """A list under a themed table: the entries whose field is below a threshold (执行率低于80%的项目)."""

    field: str
    below: Union[float, str]  # a number, or a constant of the spec: "{const.time_progress}" (its value, set at load)
    label: str

    @property
    def threshold(self) -> float:
        if isinstance(self.below, str):
            raise ValueError(f"watch {self.label}: {self.below} was not resolved at load")
        return self.below


class SummarySheet(Model):
    """One print-ready table of the summary (收入, 支出和结余 …): a unit per row, a few columns that fit the paper."""

    name: str = Field(pattern=SHEET_NAME.pattern)
    title: str
    columns: list[SummaryColumn] = Field(min_length=1)
    watch: list[Watch] = []

    @model_validator(mode="after")
    def _ratios(self) -> SummarySheet:
        fields = [c.field for c in self.columns]
        for column in self.columns:
            if (column.total == "ratio") != (column.ratio_of is not None):
                raise ValueError(f"{column.label}: total: ratio 须与 ratio_of: [分子, 分母] 同用")
            if column.ratio_of and not all(f in fields for f in column.ratio_of):
                raise ValueError(f"{column.label}: ratio_of 所列的字段不是汇总表 {self.name} 的列")
        return self


class Summary(Model):
    title: str
    entity: str = "单位"  # what a row is: 单位, or 项目 for a project form (headers 项目编码, 项目名称)
    paper: Literal["A4", "A3"] = "A4"  # every themed sheet prints landscape on it
    sheets: list[SummarySheet] = Field(min_length=1)
    grade_chart: GradeChart | None = None
    structure_chart: StructureChart | None = None
    indicators: list[Indicator] = []
    ranking: str | None = None  # the field units are ranked by (the score), overall and within department

    @model_validator(mode="before")
    @classmethod
    def _flat_columns(cls, data: Any) -> Any:
        """A spec written before the themed sheets lists `columns:` flat: they print as one sheet, 汇总."""
        if isinstance(data, dict) and "columns" in data and "sheets" not in data:
            data = {**data, "sheets": [{"name": "汇总", "title": data.get("title", "汇总"), "columns": data["columns"]}]}
            del data["columns"]
        return data

    @model_validator(mode="after")
    def _sheet_names(self) -> Summary:
        names = [s.name for s in self.sheets]
        for name in names:
            if name in RESERVED_SUMMARY_SHEETS or names.count(name) > 1:
                raise ValueError(f"汇总表名 {name!r} 重复或为保留名称")
        return self

    @property
    def columns(self) -> list[SummaryColumn]:
        """Every column of every sheet, in order: the fields the summary reports."""
        return [c for s in self.sheets for c in s.columns]
