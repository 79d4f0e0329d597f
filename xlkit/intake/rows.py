"""A unit's values held compactly, and the columns of many units built from them.

A unit's workbook holds about 700 values. Held as a dict of Python objects they take about 50 KB per unit, so
ten thousand units would take half a gigabyte before the summary is written. A row keeps the field ids once per
layout (shared by every unit of that shape), the numbers in one array of doubles, and the other values (text,
booleans, dates, errors) in a tuple beside it. A field whose value is None is absent, as it is from the dict
the row was made from.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import ItemsView, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..caches import BoundedDict
from ..form.functions import Value

ABSENT, NUMBER, OTHER = 0, 1, 2  # a field's kind in a row


class ValueRow(Mapping[str, Value]):
    __slots__ = ("index", "keys_", "keyset", "kinds", "numbers", "others")

    def __init__(self, keys: tuple[str, ...], kinds: bytes, numbers: array[float], others: Sequence[Any]):
        self.keyset = _shared(keys)
        self.keys_, self.index = self.keyset.keys, self.keyset.positions
        self.kinds = kinds  # ABSENT, NUMBER or OTHER per field
        self.numbers = numbers  # the numbers; NaN where the field is not a number
        # text, booleans, dates, errors, integers; None elsewhere. Short text is held once across units ("通过", "")
        self.others = tuple([sys.intern(v) if type(v) is str and len(v) <= 16 else v for v in others])

    @classmethod
    def of(cls, values: Mapping[str, Value], order: Sequence[str]) -> ValueRow:
        """`values` in the order of `order` (every key of `values` must be in it)."""
        kinds = bytearray(len(order))
        numbers = array("d", [math.nan]) * len(order)
        others: list[Any] = [None] * len(order)
        for i, value in enumerate(map(values.get, order)):
            if type(value) is float:
                kinds[i], numbers[i] = NUMBER, value
            elif value is not None:
                kinds[i], others[i] = OTHER, value
        if len(values) != len(order) - kinds.count(ABSENT):
            raise ValueError("a value's field is not in the row's order")
        return cls(order if type(order) is tuple else tuple(order), bytes(kinds), numbers, others)

    def get(self, key: str, default: Any = None) -> Any:
        i = self.index.get(key)
        if i is None:
            return default
        kind = self.kinds[i]
        return self.numbers[i] if kind == NUMBER else self.others[i] if kind == OTHER else default

    def __getitem__(self, key: str) -> Value:
        if key not in self:
            raise KeyError(key)
        value: Value = self.get(key)
        return value

    def __contains__(self, key: object) -> bool:
        i = self.index.get(key) if isinstance(key, str) else None
        return i is not None and self.kinds[i] != ABSENT

    def __iter__(self) -> Iterator[str]:
        return (key for key, kind in zip(self.keys_, self.kinds, strict=True) if kind != ABSENT)

    def __len__(self) -> int:
        return len(self.kinds) - self.kinds.count(ABSENT)

    def items(self) -> ItemsView[str, Value]:
        return _Items(self)

    def __reduce__(self) -> tuple[Any, ...]:
        # the field ids travel as one text: a reader sends a row per file, and the main process would otherwise
        # unpickle and hash some 500 strings each time to find the ids it already holds
        keys = self.keyset.text if self.keyset.text is not None else self.keys_
        return _restored, (keys, self.kinds, self.numbers, self.others)


class _Items(ItemsView[str, Value]):
    """A row's (field, value) pairs read straight from its arrays: Mapping's own items() looks each key up again,
    which was most of the time of keeping a check in the ledger (a return's 400-odd values)."""

    _mapping: ValueRow

    def __iter__(self) -> Iterator[tuple[str, Value]]:
        row = self._mapping
        return ((key, number if kind == NUMBER else other)
                for key, kind, number, other in zip(row.keys_, row.kinds, row.numbers, row.others, strict=True) if kind != ABSENT)


class KeySet(NamedTuple):
    keys: tuple[str, ...]
    positions: dict[str, int]
    text: str | None  # the ids joined by newlines (None if an id holds one: then the tuple travels)


# layouts are few; a flood of distinct ones only costs the sharing
_BY_KEYS: BoundedDict[tuple[str, ...], KeySet] = BoundedDict("xlkit.intake.rows._BY_KEYS", 4096)
_BY_TEXT: BoundedDict[str, KeySet] = BoundedDict("xlkit.intake.rows._BY_TEXT", 4096)


def _shared(keys: tuple[str, ...]) -> KeySet:
    """One copy of a layout's field ids and their index, whichever report (or unpickled message) brings them."""
    found = _BY_KEYS.get(keys)
    if found is None:
        text = "\n".join(keys)
        found = _BY_KEYS.put(keys, KeySet(keys, {key: i for i, key in enumerate(keys)},
                                          text if keys and text.count("\n") == len(keys) - 1 else None))
        if found.text is not None:
            _BY_TEXT.put(found.text, found)
    return found


def _restored(keys: str | tuple[str, ...], kinds: bytes, numbers: array[float], others: Sequence[Any]) -> ValueRow:
    """A row from a message: its field ids found by their text when this process holds them already."""
    if isinstance(keys, str):
        known = _BY_TEXT.get(keys)
        keys = known.keys if known is not None else tuple(keys.split("\n"))
    return ValueRow(keys, kinds, numbers, others)


def columns(rows: Sequence[Mapping[str, Value]]) -> dict[str, Any]:
    """Each field's values across the rows, for every field some row has, in the rows' order of fields: a column of
    numbers and blanks becomes an array of doubles (NaN for a blank), as pandas would infer it from a list, built
    from the rows' arrays without a Python object per value; any other column is a list."""
    groups: dict[int, list[int]] = {}  # rows of one layout: their arrays stack into one matrix
    for r, row in enumerate(rows):
        groups.setdefault(id(row.keys_) if isinstance(row, ValueRow) else -1, []).append(r)
    if -1 in groups:
        keys: dict[str, None] = {}
        for row in rows:
            keys.update(dict.fromkeys(row))
        return {key: [row.get(key) for row in rows] for key in keys}
    stacked = []
    present: dict[str, None] = {}
    for members in groups.values():
        group: list[ValueRow] = [rows[r] for r in members]  # type: ignore[misc]
        width = len(group[0].kinds)
        kinds = np.frombuffer(b"".join(row.kinds for row in group), dtype=np.uint8).reshape(len(group), width)
        numbers = np.frombuffer(b"".join(row.numbers.tobytes() for row in group), dtype="d").reshape(len(group), width)
        present.update(dict.fromkeys(key for key, there in zip(group[0].keys_, (kinds != ABSENT).any(axis=0), strict=True) if there))
        stacked.append(_Stack(members, group, group[0].index, (kinds == OTHER).any(axis=0), (kinds == NUMBER).any(axis=0),
                              kinds, numbers))
    out: dict[str, Any] = {}
    for key in present:
        column = np.full(len(rows), np.nan)
        for stack in stacked:
            i = stack.positions.get(key)
            if i is None:
                continue
            if stack.has_other[i]:
                out[key] = _mixed_column(key, len(rows), stacked)
                break
            if stack.has_number[i]:
                column[stack.members] = stack.numbers[:, i]
        else:
            out[key] = column  # some row has a number here (the key is present, and no row has anything else)
    return out


class _Stack(NamedTuple):
    """The rows of one layout, their kinds and numbers as matrices (one row per unit, one column per field)."""

    members: list[int]  # where they stand among all rows
    rows: list[ValueRow]
    positions: dict[str, int]  # field id -> index in the rows
    has_other: Any  # per field: does some row hold text (or another non-number) there
    has_number: Any
    kinds: Any
    numbers: Any


def _mixed_column(key: str, size: int, stacked: list[_Stack]) -> list[Any]:
    """A column some row holds text in, as the list row.get() would give, read from each layout's rows at the
    field's index (ten thousand units' text columns: a get() per value took half a second)."""
    column: list[Any] = [None] * size
    for stack in stacked:
        i = stack.positions.get(key)
        if i is None:
            continue
        values = [row.others[i] for row in stack.rows]  # None where the row holds a number or nothing
        if stack.has_number[i]:
            values = [number if kind == NUMBER else value
                      for kind, number, value in zip(stack.kinds[:, i].tolist(), stack.numbers[:, i].tolist(), values, strict=True)]
        for r, value in zip(stack.members, values, strict=True):
            column[r] = value
    return column
