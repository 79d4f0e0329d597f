"""审核 of a return's report against its tables: the figures its long texts quote, compared with the fields they name.

Everything form-specific (texts read, phrases, units, ratios) is the spec's `narrative:` section. Precision comes
before recall: a figure counts only with a declared unit right after it and a declared phrase right before it (only
connector words between), so years, counts of projects, phone numbers, 第3季度 or 任务1 are never read as values.
A figure written with k decimals matches a value that rounds (or truncates) to it: 5.8 for 5.80, 96.92% for 0.969207.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fnmatch import fnmatch
from typing import Any

from ..caches import BoundedDict, memo
from ..form.a1 import cell_name
from ..form.layout import Layout
from ..form.params import BuildParams
from ..form.spec_review import GAP, Narrative
from .catalogue import CATALOGUE, message
from .report import Issue

WIDE_CHARS = re.compile("[\uff10-\uff19．％﹪\u3000]")
WIDE = str.maketrans({**{chr(0xFF10 + d): str(d) for d in range(10)}, "．": ".", "％": "%", "﹪": "%", "\u3000": " "})
CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-/_#")  # a number touching these is part of a code
ONE = Decimal(1)
ENUMERATOR = re.compile(r"^[（(]?[一二三四五六七八九十0-9]+[）)、.]\s*")  # 四、 or （一） before a section's label


@dataclass(frozen=True)
class Figure:
    """A number with its unit, as a text writes it (start..end spans both)."""

    start: int
    end: int
    mantissa: Decimal  # the number as written, separators removed
    decimals: int  # how many the text gives: the precision it claims
    scale: Decimal  # multiplier × unit factor: mantissa × scale is the figure in its dimension's base
    dimension: str
    unit: str  # the multiplier and unit as written (万条, 万元, %)

    @property
    def base(self) -> Decimal:
        return self.mantissa * self.scale


@dataclass(frozen=True)
class _Phrase:
    parts: tuple[str, ...]
    owner: int  # index of its term or ratio


class Reader:
    """A spec's narrative section, compiled once: the figure pattern, the connectors, the phrases."""

    def __init__(self, narrative: Narrative):
        self.narrative = narrative
        units: dict[str, tuple[str, Decimal]] = {}
        for name, unit in narrative.units.items():
            for symbol in (unit.symbols if unit.symbols is not None else [name]):
                units[symbol.translate(WIDE)] = (unit.dimension, _dec(unit.factor))
        self.units = units
        self.multipliers = {k.translate(WIDE): _dec(v) for k, v in narrative.multipliers.items()}
        alternation = "|".join(re.escape(s) for s in sorted(units, key=len, reverse=True)) or "(?!)"
        multiplier = "|".join(re.escape(s) for s in sorted(self.multipliers, key=len, reverse=True)) or "(?!)"
        # a number, then (looked at only where a number is) its multiplier and unit; a number inside a code
        # (0730-8612319, A12, 1.2.3) is none
        self.number = re.compile(r"\d+(?:[,，]\d{3}(?!\d))*(?:\.\d+)?")
        self.unit = re.compile(rf"\s*(?P<mult>{multiplier})?(?P<unit>{alternation})")
        connectors = "|".join(re.escape(c) for c in sorted(narrative.connectors, key=len, reverse=True))
        self.gap = re.compile(rf"(?:{connectors}|\s)*" if connectors else r"\s*")
        self.term_phrases: dict[str, list[_Phrase]] = {}  # by the dimension of the term's unit
        for k, term in enumerate(narrative.terms):
            dimension = narrative.units[term.unit].dimension if term.unit in narrative.units else ""
            self.term_phrases.setdefault(dimension, []).extend(_Phrase(tuple(p.split(GAP)), k) for p in term.phrases)
        self.ratio_phrases: dict[str, list[_Phrase]] = {}
        for k, ratio in enumerate(narrative.ratios):
            dimension = narrative.units[ratio.unit].dimension if ratio.unit in narrative.units else ""
            self.ratio_phrases.setdefault(dimension, []).extend(_Phrase(tuple(p.split(GAP)), k) for p in ratio.phrases)
        self.parts = [([_Phrase(tuple(p.split(GAP)), 0) for p in r.numerator], [_Phrase(tuple(p.split(GAP)), 0) for p in r.denominator])
                      for r in narrative.ratios]
        self.skip_before = tuple(s.translate(WIDE) for s in narrative.skip_before)
        self.skip_after = tuple(s.translate(WIDE) for s in narrative.skip_after)
        self.reach = max(map(len, (*self.skip_before, *self.skip_after)), default=0) + 8  # hedges with spaces around

    def figures(self, text: str) -> list[Figure]:
        """Every quoted figure of a text: full-width digits and punctuation read as ASCII, thousands separators
        dropped, a multiplier (万, 亿) applied; a figure hedged (第, 约, 以上, …) is left out."""
        return self.figures_of(text.translate(WIDE))

    def figures_of(self, plain: str) -> list[Figure]:
        found: list[Figure] = []
        for match in self.number.finditer(plain):
            start, end = match.span()
            if (start and plain[start - 1] in CODE_CHARS) or plain[end:end + 1] in CODE_CHARS:
                continue
            unit = self.unit.match(plain, end)
            if unit is None:
                continue
            if self.skip_before and plain[max(0, start - self.reach):start].rstrip().endswith(self.skip_before):
                continue
            if self.skip_after and plain[unit.end():unit.end() + self.reach].lstrip().startswith(self.skip_after):
                continue
            digits = match[0].replace(",", "").replace("，", "")
            dimension, factor = self.units[unit["unit"]]
            mult = self.multipliers.get(unit["mult"] or "", ONE)
            found.append(Figure(start, unit.end(), Decimal(digits), len(digits.partition(".")[2]), mult * factor, dimension,
                                (unit["mult"] or "") + unit["unit"]))
        return found

    def named_by(self, text: _Text, figure: Figure, phrases: list[_Phrase]) -> list[tuple[tuple[int, int, int], int, int]]:
        """The phrases naming `figure`: (rank, owner, phrase start), the nearest first; ranked by where the phrase
        ends, then by how many parts it has ("三公经费…支出" over "实际支出"), then by the length of its last part."""
        clause_start = text.clause_start(figure.start)
        clause = text.plain[clause_start:figure.start]
        out = []
        for phrase in phrases:
            last = phrase.parts[-1]
            at = clause.rfind(last)
            if at < 0:
                continue
            gap = clause[at + len(last):]
            if len(gap) > self.narrative.max_gap or not self.gap.fullmatch(gap):
                continue
            start, ok = at, True
            for part in reversed(phrase.parts[:-1]):
                start = clause.rfind(part, 0, start)
                if start < 0:
                    ok = False
                    break
            if ok:
                out.append(((at + len(last), len(phrase.parts), len(last)), phrase.owner, clause_start + start))
        return sorted(out, reverse=True)


_READERS: BoundedDict[int, tuple[Narrative, Reader]] = BoundedDict("xlkit.intake.narrative._READERS", 256)


def reader_of(narrative: Narrative) -> Reader:
    """One compiled reader per loaded spec (the narrative object is kept, so its id stays its own)."""
    kept = _READERS.get(id(narrative))
    if kept is None or kept[0] is not narrative:
        kept = _READERS.put(id(narrative), (narrative, Reader(narrative)))
    return kept[1]


def text_fields(layout: Layout, narrative: Narrative) -> tuple[str, ...]:
    """The fields read, in the form's order."""
    if narrative is layout.spec.narrative:
        return _layout_text_fields(layout)
    return _text_fields(layout, narrative)


def _text_fields(layout: Layout, narrative: Narrative) -> tuple[str, ...]:
    return tuple(f for f in layout.field_ids if any(f == p or fnmatch(f, p) for p in narrative.texts))


@memo(256)  # per layout, not per file: matching every field id against the patterns took a third of a check
def _layout_text_fields(layout: Layout) -> tuple[str, ...]:
    assert layout.spec.narrative is not None
    return _text_fields(layout, layout.spec.narrative)


def matches(figure: Figure, value: Decimal) -> bool:
    """Rounding as written: `value` (in the figure's dimension's base) rounds, or truncates, to the figure."""
    shown = value / figure.scale
    step = Decimal(1).scaleb(-figure.decimals)
    return any(shown.quantize(step, rounding=mode) == figure.mantissa for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN))


@dataclass
class Finding:
    """One figure the tables do not support, before it becomes an issue."""

    code: str  # narrative-mismatch or narrative-ratio
    text_field: str
    quote: str  # the figure with the phrase that names it (a ratio: from its first part)
    sentence: str
    found: str
    expected: str
    subject: str  # the field's label, or the parts' computation
    field: str | None = None  # the field the figure names (None: a ratio)


def review(narrative: Narrative, texts: Mapping[str, Any], values: Mapping[str, Any], labels: Mapping[str, str]) -> list[Finding]:
    """Every quoted figure of `texts` (field id -> text) checked against `values` (recomputed): the clean API the
    check calls per file, and a review across units may call with any values."""
    reader = reader_of(narrative)
    findings: list[Finding] = []
    for field_id, raw in texts.items():
        if not isinstance(raw, str) or not raw.strip():
            continue
        text = _Text(raw, reader)
        figures = reader.figures_of(text.plain)
        for figure in figures:
            findings += _term_findings(reader, field_id, text, figure, values, labels)
            findings += _ratio_findings(reader, field_id, text, figure, figures)
    return findings


class _Text:
    """A text read once: as ASCII digits and punctuation (same length); where its clauses and sentences start is
    looked up only for the figures a phrase may name."""

    def __init__(self, raw: str, reader: Reader):
        self.raw = raw
        self.plain = raw.translate(WIDE) if WIDE_CHARS.search(raw) else raw
        self.clause_breaks = reader.narrative.clause_breaks + "\n"
        self.sentence_breaks = reader.narrative.sentence_breaks + "\n"

    def clause_start(self, at: int) -> int:
        return max(self.plain.rfind(c, 0, at) for c in self.clause_breaks) + 1

    def sentence_start(self, at: int) -> int:
        return max(self.plain.rfind(c, 0, at) for c in self.sentence_breaks) + 1

    def sentence(self, at: int, end: int) -> str:
        stops = [k for k in (self.plain.find(c, end) for c in self.sentence_breaks) if k >= 0]
        return self.raw[self.sentence_start(at):min(stops) + 1 if stops else len(self.raw)].strip()


def _term_findings(reader: Reader, field_id: str, text: _Text, figure: Figure, values: Mapping[str, Any],
                   labels: Mapping[str, str]) -> list[Finding]:
    terms = reader.narrative.terms
    named = reader.named_by(text, figure, reader.term_phrases.get(figure.dimension, []))
    if not named or (len(named) > 1 and named[1][0] == named[0][0] and terms[named[1][1]].field != terms[named[0][1]].field):
        return []  # no phrase names it, or two fields equally: ignored
    _, owner, start = named[0]
    term = terms[owner]
    clause = text.plain[text.clause_start(figure.start):figure.start]
    if any(word in clause for word in reader.narrative.skip_clause):
        return []  # another period's figure (上年, 第3季度), or a difference (节约, 增加)
    value = values.get(term.field)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return []
    held = _dec(value) * _dec(reader.narrative.units[term.unit].factor)
    if matches(figure, held):
        return []
    return [Finding("narrative-mismatch", field_id, text.raw[start:figure.end], text.sentence(figure.start, figure.end),
                    text.raw[figure.start:figure.end], _shown(held / figure.scale, figure), term.label or labels.get(term.field, term.field),
                    term.field)]


def _ratio_findings(reader: Reader, field_id: str, text: _Text, figure: Figure, figures: list[Figure]) -> list[Finding]:
    named = reader.named_by(text, figure, reader.ratio_phrases.get(figure.dimension, []))
    if not named:
        return []
    owner = named[0][1]
    sentence_start = text.sentence_start(figure.start)
    earlier = [f for f in figures if sentence_start <= f.start and f.end <= named[0][2]]
    numerators, denominators = reader.parts[owner]
    numerator = _nearest(reader, text, earlier, numerators)
    denominator = _nearest(reader, text, earlier, denominators)
    if numerator is None or denominator is None or numerator is denominator or numerator.dimension != denominator.dimension:
        return []
    if denominator.base == 0:
        return []
    held = numerator.base / denominator.base * _dec(reader.narrative.units[reader.narrative.ratios[owner].unit].factor)
    if matches(figure, held):
        return []
    start = max(text.clause_start(min(numerator.start, denominator.start)), sentence_start)
    parts = f"{text.raw[numerator.start:numerator.end]} ÷ {text.raw[denominator.start:denominator.end]}"
    return [Finding("narrative-ratio", field_id, text.raw[start:figure.end], text.sentence(figure.start, figure.end),
                    text.raw[figure.start:figure.end], _shown(held / figure.scale, figure, computed=True), parts)]


def _nearest(reader: Reader, text: _Text, figures: list[Figure], phrases: list[_Phrase]) -> Figure | None:
    for figure in reversed(figures):
        if reader.named_by(text, figure, phrases):
            return figure
    return None


def _shown(value: Decimal, figure: Figure, computed: bool = False) -> str:
    """A value in the figure's own unit: a table's to at least the figure's decimals (1002.25 万元), a quotient to
    the figure's own (96.92%)."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    if computed or len(text.partition(".")[2]) < figure.decimals:
        text = f"{value.quantize(Decimal(1).scaleb(-figure.decimals), rounding=ROUND_HALF_UP)}"
    return f"{text}{figure.unit}" if figure.unit == "%" else f"{text} {figure.unit}"


def _dec(value: float | int) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def text_label(sheet: str, label: str) -> str:
    """How a message names a text: its sheet, and its own label without the section's number (报告综述（单位整体支出绩效情况）)."""
    own = ENUMERATOR.sub("", label).strip()
    return f"{sheet}（{own}）" if own and own != sheet else sheet


def narrative_issues(layout: Layout, params: BuildParams, values: Mapping[str, Any], location: Mapping[str, tuple[str, int, int]]) -> list[Issue]:
    """The check's call: one warning per figure the tables do not support, on the text's cell."""
    narrative = layout.spec.narrative
    if narrative is None:
        return []
    fields = layout.fields
    texts = {f: values.get(f) for f in text_fields(layout, narrative)}
    labels = {t.field: fields[t.field].label_for(params) for t in narrative.terms if t.field in fields}
    issues = []
    for finding in review(narrative, texts, values, labels):
        slot = fields[finding.text_field]
        cell = location.get(slot.id, (slot.sheet, slot.row, slot.col))
        where = text_label(slot.sheet, slot.label_for(params))
        text = message(finding.code, detail=finding.sentence, found=finding.quote, expected=finding.expected, label=finding.subject, where=where)
        issues.append(Issue(finding.code, CATALOGUE[finding.code].severity, slot.id, cell[0], cell_name(cell[1], cell[2]), finding.found,
                            finding.expected, text, slot.label_for(params)))
    return issues
