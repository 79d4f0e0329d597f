"""Write a layout (and optional values) as a protected, validated workbook."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from ..errors import SpecError
from ..files import atomic_path
from ..form.a1 import cell_name, quote_sheet
from ..form.compute import calculator, formula_inputs
from ..form.functions import Value, XlError
from ..form.identity import LISTS_SHEET, META_SHEET, PROPERTY_PREFIX, Identity, password_hash
from ..form.layout import FieldSlot, Layout, SheetLayout, Static
from ..form.load import load_spec
from ..form.params import BuildParams, make_params
from ..form.placement import build_layout
from ..form.spec import Spec
from .heights import row_heights
from .textfit import wrap

FONT = "宋体"
BORDER = {"border": 1, "border_color": "#808080"}
STATIC_STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"},
    "heading": {"bold": True, "font_size": 12, "valign": "vcenter"},
    "caption": {"bold": True, "valign": "vcenter"},
    "note": {"valign": "vcenter", "text_wrap": True},
    "box": {**BORDER, "valign": "top", "text_wrap": True},
    "header": {**BORDER, "bold": True, "align": "center", "valign": "vcenter", "text_wrap": True, "bg_color": "#DDEBF7"},
    "label": {**BORDER, "align": "center", "valign": "vcenter", "text_wrap": True, "bg_color": "#F2F2F2"},
    "rowlabel": {**BORDER, "valign": "vcenter", "text_wrap": True},
    "totallabel": {**BORDER, "bold": True, "valign": "vcenter", "text_wrap": True},
    "checkname": {**BORDER, "valign": "vcenter", "text_wrap": True},
    "empty": {**BORDER, "bg_color": "#F2F2F2"},
    "blank": {**BORDER},
}
INPUT_COLOR = "#FFF2CC"  # where a clerk types
LOCKED_INPUT_COLOR = "#EDEDED"  # prefilled identity
FORMULA_COLOR = "#E2EFDA"  # computed, locked
MISSING_COLOR = "#F8CBAD"
FAIL_COLOR = "#FF9999"
WARN_COLOR = "#FFD966"
PASS_COLOR = "#C6EFCE"


class _Workbook(xlsxwriter.Workbook):
    """xlsxwriter has no workbook structure protection; add <workbookProtection>."""

    structure_password_hash: str | None = None

    def _write_workbook_pr(self) -> None:
        super()._write_workbook_pr()
        if self.structure_password_hash is not None:
            attributes: list[tuple[str, Any]] = []
            if self.structure_password_hash:
                attributes.append(("workbookPassword", self.structure_password_hash))
            attributes.append(("lockStructure", 1))
            self._xml_empty_tag("workbookProtection", attributes)


class _Styles:
    def __init__(self, workbook: xlsxwriter.Workbook, spec: Spec):
        self.workbook = workbook
        self.spec = spec
        self.cache: dict[tuple[Any, ...], Format] = {}

    def get(self, **props: Any) -> Format:
        key = tuple(sorted(props.items()))
        if key not in self.cache:
            self.cache[key] = self.workbook.add_format({"font_name": FONT, "font_size": 11, **props})
        return self.cache[key]

    def static(self, style: str) -> Format:
        return self.get(**STATIC_STYLES[style])

    def field(self, slot: FieldSlot) -> Format:
        vtype = self.spec.types[slot.type]
        props: dict[str, Any] = {**BORDER, "valign": "vcenter"}
        if vtype.number_format:
            props["num_format"] = vtype.number_format
        if vtype.base == "text":
            props["text_wrap"] = True
            if vtype.wrap:
                props["valign"] = "top"
        else:
            props["align"] = "right"
        if slot.kind == "formula":
            props["bg_color"] = FORMULA_COLOR
            if vtype.base == "text" and not vtype.wrap:  # a short result (等次, 通过) centred; a computed paragraph reads left
                props["align"] = "center"
        elif slot.locked:
            props["bg_color"] = LOCKED_INPUT_COLOR
        else:
            props["bg_color"] = INPUT_COLOR
            props["locked"] = False
        return self.get(**props)


BROKEN_STYLES = {"header", "label", "rowlabel", "totallabel", "checkname"}  # written with our own line breaks


def static_text(sheet: SheetLayout, static: Static) -> str:
    """A label as printed: broken into lines by `textfit.wrap`, so a bracket pair such as 部门（单位） never splits
    and the row height is computed from exactly these lines."""
    if static.style not in BROKEN_STYLES or not static.text:
        return static.text
    last_col = static.last_col if static.last_col is not None else static.col
    return "\n".join(wrap(static.text, sum(sheet.spec.columns[static.col:last_col + 1])))


def _write_value(ws: Worksheet, slot: FieldSlot, value: Value, fmt: Format) -> None:
    if slot.span > 1:
        ws.merge_range(slot.row, slot.col, slot.row, slot.col + slot.span - 1, "", fmt)
    write_cell_value(ws, slot.row, slot.col, value, fmt)


def write_cell_value(ws: Worksheet, row: int, col: int, value: Value, fmt: Format) -> None:
    """An input's cell (distribution's fast path writes a unit's prefilled cells by it too)."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, date):
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)  # never a formula, whatever it starts with


def cached(value: Value) -> Any:
    if value is None:
        return 0
    if isinstance(value, XlError):
        return str(value)
    return value


def _validation(spec: Spec, slot: FieldSlot, list_ranges: dict[str, str]) -> dict[str, Any] | None:
    vtype = spec.types[slot.type]
    if not vtype.validation:
        return None
    options = dict(vtype.validation)
    for key in ("value", "minimum", "maximum", "source"):
        if isinstance(options.get(key), str):
            options[key] = options[key].replace("{cell}", slot.address)
    if options.get("validate") == "list" and vtype.choices:
        options["source"] = list_ranges[vtype.choices]
    options.setdefault("ignore_blank", True)
    return options


def write_workbook(layout: Layout, values: Mapping[str, Any], out: Path, password_hash: str = "") -> dict[str, Value]:
    """Write atomically: on any error the target is left untouched. Returns every field's value."""
    results = field_values(layout, values)
    with atomic_path(out) as tmp:
        _write(layout, results, tmp, password_hash)
    return results


def field_values(layout: Layout, values: Mapping[str, Any], params: BuildParams | None = None) -> dict[str, Value]:
    """Every field's value: `values` for inputs, the prefill of `params` (the layout's own by default) in locked
    prefilled cells, formulas computed."""
    params = params or layout.params
    inputs: dict[str, Any] = {s.id: values.get(s.id) for s in layout.inputs()}
    for slot in layout.inputs():
        if slot.locked and slot.prefill:
            inputs[slot.id] = params.value_of(slot.prefill)
    return calculator(layout).compute(inputs)


def _write(layout: Layout, results: Mapping[str, Value], path: Path, password_hash: str,
           workbook_class: type[_Workbook] = _Workbook) -> _Workbook:
    """Returns the closed workbook: distribution's fast path cuts its parts where units differ."""
    spec = layout.spec
    unit_name = str(layout.params.prefill.get("unit_name", ""))
    workbook = workbook_class(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False})
    workbook.structure_password_hash = password_hash
    styles = _Styles(workbook, spec)
    worksheets = {sheet.name: workbook.add_worksheet(sheet.name) for sheet in layout.sheets}
    lists_ws = workbook.add_worksheet(LISTS_SHEET)
    meta_ws = workbook.add_worksheet(META_SHEET)
    list_ranges = _write_lists(lists_ws, spec)
    for sheet in layout.sheets:
        ws = worksheets[sheet.name]
        _write_sheet(workbook, ws, sheet, layout, results, styles, list_ranges)
        _set_print_layout(ws, sheet, unit_name, spec.template.title)
        ws.protect("", {"format_rows": True, "format_columns": True})
        ws.protect_options["password"] = password_hash  # keep a hash carried over from an earlier build
    identity = identity_of(layout, password_hash)
    _write_identity(meta_ws, identity)
    for hidden in (meta_ws, lists_ws):
        hidden.protect("")
        hidden.protect_options["password"] = password_hash
    worksheets[layout.sheets[0].name].activate()
    set_properties(workbook, spec, unit_name, identity)
    workbook.close()
    return workbook


def set_properties(workbook: xlsxwriter.Workbook, spec: Spec, unit_name: str, identity: Identity) -> None:
    """The document properties: title, the unit as subject, the identity as custom properties."""
    workbook.set_properties({"title": spec.template.title, "subject": unit_name or spec.template.title, "author": "xlkit",
                             "company": spec.template.issuer, "comments": f"{spec.template.id} {spec.template.version}"})
    workbook.custom_properties = []
    for key, value in identity.rows():
        if key not in ("build.params", "protection.hash") and value:
            workbook.set_custom_property(PROPERTY_PREFIX + key, value)


def _write_lists(ws: Worksheet, spec: Spec) -> dict[str, str]:
    """Dropdown lists on the hidden `_lists` sheet (a range has no 255-character cap); returns each list's range."""
    list_ranges: dict[str, str] = {}
    for c, (name, items) in enumerate(spec.lists.items()):
        ws.write_string(0, c, name)
        for r, item in enumerate(items, start=1):
            ws.write_string(r, c, item)
        letters = cell_name(1, c)[:-1]
        list_ranges[name] = f"={quote_sheet(LISTS_SHEET)}!${letters}$2:${letters}${len(items) + 1}"
    ws.hide()
    return list_ranges


def _write_sheet(workbook: _Workbook, ws: Worksheet, sheet: SheetLayout, layout: Layout, results: Mapping[str, Value],
                 styles: _Styles, list_ranges: dict[str, str]) -> None:
    for c, width in enumerate(sheet.spec.columns):
        ws.set_column(c, c, width)
    for row, height in row_heights(sheet, results).items():
        ws.set_row(row, height)
    if sheet.page_breaks:
        ws.set_h_pagebreaks(sheet.page_breaks)
    for static in sheet.statics:
        fmt = styles.static(static.style)
        last_row = static.last_row if static.last_row is not None else static.row
        last_col = static.last_col if static.last_col is not None else static.col
        if (last_row, last_col) != (static.row, static.col):
            ws.merge_range(static.row, static.col, last_row, last_col, "", fmt)
        ws.write_string(static.row, static.col, static_text(sheet, static), fmt)
    checks_by_blame: dict[str, list[str]] = {}
    for check in layout.rules:
        for field_id in check.blame:
            checks_by_blame.setdefault(field_id, []).append(check.result)
    fail_text = layout.rules[0].fail_text if layout.rules else ""
    for slot in sheet.slots:
        _write_slot(ws, slot, layout, results, styles, list_ranges)
        for result_id in checks_by_blame.get(slot.id, []):
            ws.conditional_format(slot.row, slot.col, slot.row, slot.col, {
                "type": "formula", "criteria": f'={result_id}="{fail_text}"', "format": styles.get(bg_color=FAIL_COLOR)})
        workbook.define_name(slot.id, f"={quote_sheet(sheet.name)}!{cell_name(slot.row, slot.col, absolute=True)}")
    for check in layout.rules:
        slot = layout.fields[check.result]
        if slot.sheet != sheet.name:
            continue
        color = FAIL_COLOR if check.severity == "error" else WARN_COLOR
        for text, fill in ((check.fail_text, color), (check.pass_text, PASS_COLOR)):
            ws.conditional_format(slot.row, slot.col, slot.row, slot.col, {
                "type": "cell", "criteria": "==", "value": f'"{text}"', "format": styles.get(bg_color=fill, **BORDER)})


def _write_slot(ws: Worksheet, slot: FieldSlot, layout: Layout, results: Mapping[str, Value], styles: _Styles,
                list_ranges: dict[str, str]) -> None:
    """A field's cell: a formula with its cached result, or a value with its validation and required-field highlight."""
    spec = layout.spec
    fmt = styles.field(slot)
    if slot.kind == "formula":
        if slot.span > 1:
            ws.merge_range(slot.row, slot.col, slot.row, slot.col + slot.span - 1, "", fmt)
        ws.write_formula(slot.row, slot.col, "=" + (slot.formula or ""), fmt, cached(results.get(slot.id)))
        blank_test = _no_input_test(layout, slot)
        if blank_test:  # a total of nothing prints blank, as on the paper form; a typed 0 still prints 0.00
            ws.conditional_format(slot.row, slot.col, slot.row, slot.col, {
                "type": "formula", "criteria": blank_test, "format": styles.get(num_format=";;;")})
        return
    _write_value(ws, slot, results.get(slot.id), fmt)
    if slot.locked:
        return
    options = _validation(spec, slot, list_ranges)
    if options:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            refused = ws.data_validation(slot.row, slot.col, slot.row, slot.col + slot.span - 1, options) == -2
        if refused:  # xlsxwriter would only warn and leave the cell without its validation
            why = "; ".join(str(w.message) for w in said) or "被拒绝"
            raise SpecError(f"types.{slot.type}.validation: Excel 不接受这样的数据验证（{why}）")
    if slot.required or slot.required_if:
        blank = f"LEN({slot.address})=0"
        ws.conditional_format(slot.row, slot.col, slot.row, slot.col, {
            "type": "formula", "criteria": f"={blank}" if slot.required else f"=AND({slot.required_if},{blank})",
            "format": styles.get(bg_color=MISSING_COLOR)})


MAX_COUNT_ARGUMENTS = 255  # Excel's limit for COUNT


def _no_input_test(layout: Layout, slot: FieldSlot) -> str | None:
    """`=COUNT(the inputs this number depends on)=0`, as ranges; None for text results or too many ranges."""
    if layout.spec.types[slot.type].base not in ("number", "integer"):
        return None
    cells = sorted((s.sheet, s.col, s.row) for s in (layout.fields[f] for f in formula_inputs(layout)[slot.id]))
    if not cells:
        return None
    ranges: list[str] = []
    start = previous = cells[0]
    for cell in [*cells[1:], None]:
        if cell is not None and cell[:2] == previous[:2] and cell[2] == previous[2] + 1:
            previous = cell
            continue
        sheet_part = "" if start[0] == slot.sheet else f"{quote_sheet(start[0])}!"
        first, last = cell_name(start[2], start[1], absolute=True), cell_name(previous[2], previous[1], absolute=True)
        ranges.append(sheet_part + (first if first == last else f"{first}:{last}"))
        if cell is not None:
            start = previous = cell
    if len(ranges) > MAX_COUNT_ARGUMENTS:
        return None
    return f"=COUNT({','.join(ranges)})=0"


def _set_print_layout(ws: Worksheet, sheet: SheetLayout, unit_name: str, title: str) -> None:
    """A4 in the spec's orientation, one page wide, title rows repeated, unit and form in the header, page numbers."""
    ws.set_paper(9)
    if sheet.spec.orientation == "landscape":
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=0.5, right=0.5, top=0.75, bottom=0.75)
    ws.repeat_rows(0, max(sheet.title_rows - 1, 0))
    if sheet.spec.printed:
        ws.print_area(0, 0, max(sheet.last_row, 0), sheet.width - 1)
    else:  # an empty print area: printing the workbook leaves the sheet out; 打印选定区域 still prints it
        ws.print_area(0, sheet.width, 0, sheet.width)
    ws.set_header(header_text(unit_name, title))
    ws.set_footer(f"&C{sheet.name}  第 &P 页，共 &N 页")


def header_text(unit_name: str, title: str) -> str:
    """The page header: the unit on the left, the form on the right."""
    return f"&L{unit_name.replace('&', '&&')}&R{title}"


def _write_identity(ws: Worksheet, identity: Identity) -> None:
    for r, (key, value) in enumerate(identity.rows()):
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, value)
    ws.very_hidden()


def identity_of(layout: Layout, password_hash: str = "", params: BuildParams | None = None, fingerprint: str = "") -> Identity:
    """`params` (the layout's own by default): distribution's fast path gives a unit's to its shape's layout, and the
    spec's fingerprint it worked out once."""
    spec = layout.spec
    params = params or layout.params
    prefill = params.prefill
    return Identity(
        template_id=spec.template.id,
        template_version=spec.template.version,
        fingerprint=fingerprint or spec.fingerprint(),
        unit_code=str(prefill.get("unit_code", "")),
        unit_name=str(prefill.get("unit_name", "")),
        year=str(prefill.get("year", "")),
        params_json=params.to_json(),
        password_hash=password_hash,
    )


def build_template(
    out: str | Path,
    spec: Spec | None = None,
    *,
    unit_code: str | None = None,
    unit_name: str | None = None,
    year: int | None = None,
    parent_name: str | None = None,
    issuer: str | None = None,
    counts: dict[str, int] | None = None,
    names: dict[str, list[str]] | None = None,
    password: str | None = None,
    implementer: str | None = None,
    constants: dict[str, float] | None = None,
) -> Layout:
    """The template a unit receives: identity prefilled and locked when given. A project form names the project in
    unit_code/unit_name (the project is what reports) and the unit carrying it out in `implementer`."""
    spec = spec or load_spec()
    prefill = {"unit_code": unit_code, "unit_name": unit_name, "year": year, "parent_name": parent_name, "issuer": issuer,
               "implementer": implementer}
    layout = build_layout(spec, make_params(spec, prefill, counts, names, constants))
    write_workbook(layout, {}, Path(out), password_hash(password or spec.template.password or ""))
    return layout
