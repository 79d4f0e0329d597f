"""Edit real built workbooks at the XML level, the way Excel would save such edits."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from xlkit.form.a1 import cell_name, col_index
from xlkit.form.formula import tokenize

SHEET_ENTRY = re.compile(r'<sheet name="([^"]+)" sheetId="\d+"(?: state="\w+")? r:id="rId(\d+)"/>')


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def rezip(src: Path, dst: Path, change=None, extra: list[tuple[str, bytes]] | None = None) -> Path:
    """A copy of a package with its parts changed in place (`change(parts)`) and extra entries appended."""
    parts = _parts(src)
    if change:
        change(parts)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
        for name, data in extra or []:
            out.writestr(name, data)
    return dst


def sheet_part(parts: dict[str, bytes], sheet: str) -> str:
    workbook = parts["xl/workbook.xml"].decode()
    for name, rid in SHEET_ENTRY.findall(workbook):
        if name == sheet:
            rels = parts["xl/_rels/workbook.xml.rels"].decode()
            target = re.search(rf'Id="rId{rid}" Type="[^"]+" Target="([^"]+)"', rels)
            assert target
            return "xl/" + target.group(1)
    raise KeyError(sheet)


def edit(path: Path, out: Path | None = None, **changes) -> Path:
    out = out or path
    parts = _parts(path)
    for func, args in changes.items():
        globals()[f"_{func}"](parts, *args)
    _write(out, parts)
    return out


class Text(str):
    """A string that is written as text even when it starts with '='."""


class Raw(str):
    """The inside of a cell element as it stands in the XML, e.g. '<v>NaN</v>', with extra attributes (`t="e"`)."""

    attrs: str = ""

    def __new__(cls, inner: str, attrs: str = "") -> Raw:
        raw = super().__new__(cls, inner)
        raw.attrs = attrs
        return raw


def _cell_xml(ref: str, value) -> str:
    if isinstance(value, Raw):
        return f'<c r="{ref}"{" " + value.attrs if value.attrs else ""}>{value}</c>'
    if value is None:
        return f'<c r="{ref}"/>'
    if isinstance(value, str) and value.startswith("=") and not isinstance(value, Text):
        return f'<c r="{ref}"><f>{escape(value[1:])}</f></c>'
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}"><v>{value!r}</v></c>'


def _set_cell(parts, sheet: str, ref: str, value) -> None:
    """Replace (or add) one cell, dropping its style: what typing over a cell amounts to."""
    name = sheet_part(parts, sheet)
    xml = parts[name].decode()
    pattern = re.compile(rf'<c r="{ref}"(?: [^>/]*)?(?:/>|>.*?</c>)', re.S)  # a self-closing cell never swallows the next
    new = _cell_xml(ref, value)
    if pattern.search(xml):
        xml = pattern.sub(lambda m: new, xml, count=1)
    else:
        row = re.match(r"[A-Z]+(\d+)", ref).group(1)
        row_pattern = re.compile(rf'(<row r="{row}"[^>]*>)(.*?)(</row>)', re.S)
        m = row_pattern.search(xml)
        assert m, f"row {row} not in {sheet}"
        cells = re.findall(r'<c r="([A-Z]+)\d+"', m.group(2))
        before = [c for c in cells if col_index(c) < col_index(re.match(r"[A-Z]+", ref).group(0))]
        body = m.group(2)
        if before:
            last = re.search(rf'<c r="{before[-1]}{row}"(?: [^>/]*)?(?:/>|>.*?</c>)', body, re.S)
            body = body[: last.end()] + new + body[last.end():]
        else:
            body = new + body
        xml = xml[: m.start()] + m.group(1) + body + m.group(3) + xml[m.end():]
    parts[name] = xml.encode()


def _unprotect(parts, sheet: str) -> None:
    name = sheet_part(parts, sheet)
    parts[name] = re.sub(rb"<sheetProtection[^>]*/>", b"", parts[name])


def _delete_sheet(parts, sheet: str) -> None:
    workbook = parts["xl/workbook.xml"].decode()
    workbook = re.sub(rf'<sheet name="{sheet}"[^>]*/>', "", workbook)
    parts["xl/workbook.xml"] = workbook.encode()


def _delete_name(parts, name: str) -> None:
    workbook = parts["xl/workbook.xml"].decode()
    workbook = re.sub(rf'<definedName name="{re.escape(name)}">[^<]*</definedName>', "", workbook)
    parts["xl/workbook.xml"] = workbook.encode()


def _set_meta(parts, key: str, value: str) -> None:
    """Rewrite a metadata value (the meta sheet stores shared strings)."""
    strings = parts["xl/sharedStrings.xml"].decode()
    xml = parts[sheet_part(parts, "_xlkit")].decode()
    items = re.findall(r"<si>(.*?)</si>", strings, re.S)
    texts = [re.sub(r"<[^>]+>", "", i) for i in items]
    row = None
    for m in re.finditer(r'<c r="A(\d+)" t="s"><v>(\d+)</v></c>', xml):
        if texts[int(m.group(2))] == key:
            row = m.group(1)
    assert row
    _set_cell(parts, "_xlkit", f"B{row}", value)


def _insert_row(parts, sheet: str, before_row: int) -> None:
    """Insert a blank row above 1-based `before_row`, shifting cells, formulas and names as Excel does."""

    def shift_ref(text: str, own: str) -> str:
        def fix(m: re.Match) -> str:
            row = int(m.group(4))
            return f"{m.group(1)}{m.group(2)}{m.group(3)}{row + 1 if row >= before_row else row}"
        prefix, bang, body = text.rpartition("!")
        target = (prefix.strip("'") if bang else own)
        if target != sheet:
            return text
        return prefix + bang + re.sub(r"(\$?)([A-Z]{1,3})(\$?)(\d+)", fix, body)

    def shift_formula(formula: str, own: str) -> str:
        return "".join(shift_ref(tok, own) if kind == "ref" else tok for kind, tok in tokenize(formula))

    workbook = parts["xl/workbook.xml"].decode()
    for name, _rid in SHEET_ENTRY.findall(workbook):
        part = sheet_part(parts, name)
        xml = parts[part].decode()
        xml = re.sub(r"<f>(.*?)</f>", lambda m, own=name: "<f>" + escape(shift_formula(unescape(m.group(1), {"&quot;": '"'}), own)) + "</f>", xml)
        if name == sheet:
            def move_row(m: re.Match) -> str:
                row = int(m.group(1))
                return f'<row r="{row + 1 if row >= before_row else row}"'
            xml = re.sub(r'<row r="(\d+)"', move_row, xml)

            def move_cell(m: re.Match) -> str:
                row = int(m.group(2))
                return f'<c r="{m.group(1)}{row + 1 if row >= before_row else row}"'
            xml = re.sub(r'<c r="([A-Z]+)(\d+)"', move_cell, xml)
            xml = re.sub(r'<(mergeCell|dataValidation|conditionalFormatting)([^>]*?)(ref|sqref)="([^"]+)"',
                         lambda m: f'<{m.group(1)}{m.group(2)}{m.group(3)}="{" ".join(shift_ref(x, sheet) for x in m.group(4).split())}"', xml)
        parts[part] = xml.encode()
    workbook = re.sub(r"(<definedName [^>]*>)([^<]*)(</definedName>)",
                      lambda m: m.group(1) + shift_ref(m.group(2).replace("&apos;", "'"), "").replace("'", "&apos;") + m.group(3), workbook)
    parts["xl/workbook.xml"] = workbook.encode()


def _rename_sheet(parts, old: str, new: str) -> None:
    """What Excel does when a sheet is renamed: the sheet entry, defined names and formulas follow."""
    for name, data in parts.items():
        if name == "xl/workbook.xml" or name.startswith("xl/worksheets/"):
            text = data.decode().replace(f"&apos;{old}&apos;!", f"&apos;{new}&apos;!").replace(f"'{old}'!", f"'{new}'!")
            parts[name] = text.replace(f'<sheet name="{old}"', f'<sheet name="{new}"').encode()


def _set_name(parts, name: str, text: str) -> None:
    """Point a defined name somewhere else (or at garbage)."""
    workbook = parts["xl/workbook.xml"].decode()
    pattern = rf'(<definedName name="{re.escape(name)}">)[^<]*(</definedName>)'
    assert re.search(pattern, workbook), name
    parts["xl/workbook.xml"] = re.sub(pattern, lambda m: m.group(1) + escape(text) + m.group(2), workbook).encode()


def _replace(parts, part: str, old: str, new: str) -> None:
    """A plain text replacement in one part (or, with part '*', every XML part)."""
    for name in [n for n in parts if (part == "*" and n.endswith(".xml")) or n == part]:
        parts[name] = parts[name].decode().replace(old, new).encode()


def address(row: int, col: int) -> str:
    return cell_name(row, col)
