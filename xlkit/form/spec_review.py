"""The `narrative:` section of a spec: how the bureau's 审核 reads a return's long texts against its tables.

Which texts are read, which phrases name which field, the units a figure may be written in, and the ratios
quoted with their parts are all the spec's (no phrase list lives in Python). It shapes the bureau's review, not
the unit's workbook, so it is not part of the fingerprint.
"""

# ruff: noqa: RUF012  (pydantic models: a mutable default is copied per instance, as in spec.py)
from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatch

from pydantic import Field, field_validator

from .spec_base import Model

GAP = "…"  # in a phrase, "A…B": A, then B nearer the figure, in the same clause


class NarrativeUnit(Model):
    """A unit a figure is written in (or a field's value is held in): figures compare within one dimension."""

    dimension: str  # 金额, 比率, 件数, …: a figure matches a field only within its dimension
    factor: float = Field(default=1.0, gt=0)  # its size in the dimension's base (元 = 0.0001 of a 万元 base)
    symbols: list[str] | None = None  # how a text writes it after the number; default [its name]; [] = never written


class NarrativeTerm(Model):
    """A field a text may quote: the phrases that name it, and the unit its value is held in."""

    field: str
    unit: str  # a `units` name
    phrases: list[str] = Field(min_length=1)  # the nearest before the figure, in the same clause, names it
    label: str | None = None  # how a message names the field (default: the field's label)

    @field_validator("phrases")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        for phrase in value:
            if not all(part.strip() for part in phrase.split(GAP)):
                raise ValueError(f"短语 {phrase!r} 中有空的部分")
        return value


class NarrativeRatio(Model):
    """A ratio quoted with its parts (处置253185件，处置率96.92% of 受理261238件): the parts must give it."""

    phrases: list[str] = Field(min_length=1)  # name the ratio before a percentage
    numerator: list[str] = Field(min_length=1)  # name the numerator's figure, earlier in the same sentence
    denominator: list[str] = Field(min_length=1)
    unit: str  # a `units` name: the unit numerator ÷ denominator is held in (比值, a fraction)


class Narrative(Model):
    texts: list[str] = Field(min_length=1)  # the long texts read: field ids or patterns (* = any part)
    units: dict[str, NarrativeUnit] = Field(min_length=1)
    multipliers: dict[str, float] = {}  # written between a number and its unit: 28万条 = 280000 条
    connectors: list[str] = []  # the only words allowed between a phrase and its figure (为, 共计, 支出, …)
    skip_before: list[str] = []  # a figure right after one of these is not a quoted value (第3季度, 约, 超过)
    skip_after: list[str] = []  # nor one right before one of these (96%以上, 左右)
    skip_clause: list[str] = []  # a clause with one of these quotes another period (上年, 第3季度): not compared
    clause_breaks: str = "，。；！？：,;!?:"  # a phrase names a figure of its own clause only (a line break ends both)
    sentence_breaks: str = "。；！？;!?"  # a ratio's parts are looked for in its sentence
    max_gap: int = Field(default=6, ge=0, le=40)  # characters between a phrase and its figure, at most
    terms: list[NarrativeTerm] = []
    ratios: list[NarrativeRatio] = []


def narrative_problem(narrative: Narrative, fields: Sequence[str]) -> str | None:
    """What the model alone cannot say (the form's fields are known only from a layout): `path: what`, or None."""
    for k, pattern in enumerate(narrative.texts):
        if not any(f == pattern or fnmatch(f, pattern) for f in fields):
            return f"narrative.texts[{k}]: 没有字段与 {pattern!r} 相符"
    known, owner = set(fields), dict[str, str]()
    for k, term in enumerate(narrative.terms):
        if term.field not in known:
            return f"narrative.terms[{k}].field: 未知的字段 {term.field!r}"
        if term.unit not in narrative.units:
            return f"narrative.terms[{k}].unit: 未知的单位 {term.unit!r}（narrative.units 中有：{', '.join(narrative.units) or '无'}）"
        for phrase in term.phrases:
            if owner.setdefault(phrase, term.field) != term.field:
                return f"narrative.terms[{k}].phrases: {phrase!r} 已用来指称 {owner[phrase]!r}"
    for k, ratio in enumerate(narrative.ratios):
        if ratio.unit not in narrative.units:
            return f"narrative.ratios[{k}].unit: 未知的单位 {ratio.unit!r}（narrative.units 中有：{', '.join(narrative.units) or '无'}）"
    return None


class ReviewRatio(Model):
    """A figure compared across units (人均公用经费 = 公用支出 / 实有人数): numerator ÷ denominator of each unit."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    numerator: str  # field ids
    denominator: str
    percent: bool = False  # shown as a percentage (项目支出占比), else as a number with `unit`
    unit: str = ""  # how a message writes the figure's unit (万元/人)


class ReviewRate(Model):
    """The rate a top grade is held against (执行率 = 项目实际支出 / 预算数)."""

    numerator: str
    denominator: str
    label: str = "执行率"


class ReviewWeights(Model):
    """How much each signal counts toward a unit's risk (the 复核 sample takes every unit over `risk_threshold`)."""

    outlier: float = Field(default=1.0, ge=0)
    yoy: float = Field(default=1.0, ge=0)
    copy_: float = Field(default=2.0, ge=0, alias="copy")
    score: float = Field(default=2.0, ge=0)


class Review(Model):
    """The `review:` section: the 审核 across units (审核提示) and the 复核 sample, every threshold declared here."""

    ratios: list[ReviewRatio] = []
    outlier_threshold: float = Field(default=3.5, gt=0)  # |x − median| / (1.4826·MAD) above it is out of line
    outlier_min_change: float = Field(default=0.5, ge=0)  # and differs from the median by this share of it at least
    min_group: int = Field(default=5, ge=3)  # a department (or the whole) with fewer units with the figure is not judged
    copy_texts: list[str] = []  # the long texts compared between units: field ids or patterns (* = any part)
    copy_threshold: float = Field(default=0.8, gt=0, le=1)  # the share of text in common (Jaccard) that makes a copy
    copy_shingle: int = Field(default=5, ge=2, le=20)  # characters per shingle
    copy_min_chars: int = Field(default=200, ge=20)  # a text shorter than this (names, numbers, punctuation removed) is not judged
    copy_common: float = Field(default=0.5, gt=0, le=1)  # a shingle in more than this share of the units is the form's wording
    score_field: str | None = None  # the self-score held against the rate
    grade_top: str | None = None  # a `grades` label: a score in its band is 「graded」 so
    rate: ReviewRate | None = None
    rate_share: float = Field(default=0.1, gt=0, lt=1)  # the lowest share of its department's rates
    rate_below: float = Field(default=0.9, gt=0)  # and below this rate (a department spending 98 % has no low rate)
    contacts: list[str] = []  # the fields the 复核 sample lists as the unit's contacts (the roster's come first)
    figures: list[str] = []  # the fields the 复核 sample lists as the unit's figures
    weights: ReviewWeights = ReviewWeights()
    risk_threshold: float = Field(default=2.0, gt=0)  # a unit whose weighted signals reach it is always in the sample


def review_problem(review: Review, fields: Sequence[str], grades: Sequence[str]) -> str | None:
    """What the model alone cannot say: every field the section names is the form's, `grade_top` one of its grades."""
    known = set(fields)
    named = [(f"review.ratios[{k}].{part}", getattr(ratio, part)) for k, ratio in enumerate(review.ratios)
             for part in ("numerator", "denominator")]
    named += [("review.score_field", review.score_field)] if review.score_field else []
    named += [(f"review.rate.{part}", getattr(review.rate, part)) for part in ("numerator", "denominator") if review.rate]
    named += [(f"review.contacts[{k}]", f) for k, f in enumerate(review.contacts)]
    named += [(f"review.figures[{k}]", f) for k, f in enumerate(review.figures)]
    for path, field_id in named:
        if field_id not in known:
            return f"{path}: 未知的字段 {field_id!r}"
    for k, pattern in enumerate(review.copy_texts):
        if not any(f == pattern or fnmatch(f, pattern) for f in fields):
            return f"review.copy_texts[{k}]: 没有字段与 {pattern!r} 相符"
    if review.grade_top is not None and review.grade_top not in grades:
        return f"review.grade_top: {review.grade_top!r} 不是表式的等次（grades 中有：{', '.join(grades) or '无'}）"
    if (review.grade_top is None) != (review.score_field is None) or (review.rate is None) != (review.score_field is None):
        return "review: score_field、grade_top 和 rate 须一并给出（得分信号三者都要）"
    ids = [ratio.id for ratio in review.ratios]
    if len(set(ids)) < len(ids):
        return f"review.ratios: id 重复（{', '.join(ids)}）"
    return None
