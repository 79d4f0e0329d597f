"""Row heights: the spec's, raised where a text would not fit (printed forms must show every word)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..form.functions import Value
from ..form.layout import FieldSlot, SheetLayout
from .textfit import SINGLE_LINE, height_for, lines_needed

WRAPPED_STYLES = {"header", "label", "rowlabel", "totallabel", "checkname", "box", "note"}


def row_heights(sheet: SheetLayout, values: Mapping[str, Value]) -> dict[int, float]:
    """The spec's heights, raised where a text would not fit: printed forms must show every word."""
    return slot_heights(sheet, static_heights(sheet), values)


def static_heights(sheet: SheetLayout) -> dict[int, float]:
    """The heights before any field's text: the same for every unit of a layout (distribution's fast path keeps them)."""
    heights = dict(sheet.heights)
    for static in sheet.statics:
        if static.style in WRAPPED_STYLES and static.text:
            last_row = static.last_row if static.last_row is not None else static.row
            _need(sheet, heights, static.row, last_row, static.col, static.last_col if static.last_col is not None else static.col,
                  static.text)
    return heights


def slot_heights(sheet: SheetLayout, heights: dict[int, float], values: Mapping[str, Value],
                 slots: Iterable[FieldSlot] | None = None) -> dict[int, float]:
    """`heights` raised for the texts of the fields (`slots`, by default the sheet's), in place. A field is one row
    high, so the order of fields is free and a row's height depends on its own fields only."""
    for slot in sheet.slots if slots is None else slots:
        value = values.get(slot.id)
        if isinstance(value, str) and value:
            _need(sheet, heights, slot.row, slot.row, slot.col, slot.col + slot.span - 1, value)
    return heights


def _need(sheet: SheetLayout, heights: dict[int, float], row: int, last_row: int, col: int, last_col: int, text: str) -> None:
    wanted = height_for(lines_needed(text, sum(sheet.spec.columns[col:last_col + 1])))
    have = sum(heights.get(r, SINGLE_LINE) for r in range(row, last_row + 1))
    if wanted > have:  # a merged cell over several rows grows by its last row
        heights[last_row] = heights.get(last_row, SINGLE_LINE) + wanted - have
