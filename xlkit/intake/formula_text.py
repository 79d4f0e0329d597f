"""Formula text from a returned file compared with the template's: equal up to notation, or relocated with
the fields it refers to when rows or columns were inserted."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..caches import memo
from ..errors import FormulaSyntaxError
from ..form.a1 import AddressError, cell_name, parse_ref, quote_sheet
from ..form.formula import rewrite_tokens
from ..form.layout import Layout

Cell = tuple[str, int, int]


def canonical(text: str, own_sheet: str) -> str:
    """Formula text compared without $, case, spaces or quoting differences."""

    def ref(token: str) -> str:
        parsed = parse_ref(token.replace("$", ""))
        sheet = parsed.sheet if parsed.sheet and parsed.sheet != own_sheet else None
        body = cell_name(parsed.row, parsed.col) + (f":{cell_name(parsed.row2, parsed.col2)}" if parsed.is_range else "")
        return f"{quote_sheet(sheet)}!{body}" if sheet else body

    try:
        return rewrite_tokens(text.lstrip("="), {"ref": ref, "number": lambda t: repr(float(t)), "func": str.upper, "bool": str.upper})
    except (FormulaSyntaxError, AddressError):
        return "\x00" + text


@memo(256)
def canonical_formulas(layout: Layout) -> Mapping[str, str]:
    """The template's formulas in canonical form, once per layout (shared: read-only)."""
    return MappingProxyType({s.id: canonical(s.formula or "", s.sheet) for s in layout.formulas()})


def relocate(text: str, own_sheet: str, cell_field: Mapping[Cell, str], location: Mapping[str, Cell]) -> str:
    """The spec's formula with each referenced field at its place in this file."""

    def ref(token: str) -> str:
        parsed = parse_ref(token)
        sheet = parsed.sheet or own_sheet
        first = location.get(cell_field.get((sheet, parsed.row, parsed.col), ""), (sheet, parsed.row, parsed.col))
        last = location.get(cell_field.get((sheet, parsed.row2, parsed.col2), ""), (sheet, parsed.row2, parsed.col2))
        body = cell_name(first[1], first[2]) + (f":{cell_name(last[1], last[2])}" if parsed.is_range else "")
        return f"{quote_sheet(first[0])}!{body}" if first[0] != own_sheet else body

    return rewrite_tokens(text, {"ref": ref})
