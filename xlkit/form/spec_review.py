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
                raise ValueError(f"phrase {phrase!r} has an empty part")
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
            return f"narrative.texts[{k}]: no field matches {pattern!r}"
    known, owner = set(fields), dict[str, str]()
    for k, term in enumerate(narrative.terms):
        if term.field not in known:
            return f"narrative.terms[{k}].field: unknown field {term.field!r}"
        if term.unit not in narrative.units:
            return f"narrative.terms[{k}].unit: unknown unit {term.unit!r}; narrative.units has {', '.join(narrative.units)}"
        for phrase in term.phrases:
            if owner.setdefault(phrase, term.field) != term.field:
                return f"narrative.terms[{k}].phrases: {phrase!r} already names {owner[phrase]!r}"
    for k, ratio in enumerate(narrative.ratios):
        if ratio.unit not in narrative.units:
            return f"narrative.ratios[{k}].unit: unknown unit {ratio.unit!r}; narrative.units has {', '.join(narrative.units)}"
    return None
