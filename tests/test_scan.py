"""The fast scanners read a part exactly as the general XML parser does, or decline it.

Property: for real sheet and shared-string parts, and for any mutation of them, either the scanner declines
(None, and the general parser decides) or its cells, their values and formulas, and the sheet's protection equal
the general parser's. The unmutated parts of xlkit's own workbooks, and parts written the way Excel and
LibreOffice write them, must take the fast path.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlkit.errors import FileProblem
from xlkit.intake.package import open_package, parse_xml
from xlkit.intake.scan import scan_sheet, scan_strings
from xlkit.intake.xlsx import SheetInfo, XlsxReader, _text_of

TOKENS = [b"<", b">", b"&", b'"', b"/", b"=", b" ", b"\r", b"\x01", b"\xff", b"\xe4\xb8", b"<!-- -->", b"<!--", b"-->",
          b"<![CDATA[x]]>", b"]]>", b'<c r="A1"/>', b'<c r="B2"><v>1</v></c>', b'<c r="XFE1"><v>1</v></c>', b"</row>",
          b'<row r="3">', b'<row r="9999999">', b"&#1;", b"&#x41;", b"&foo;", b"&amp;", b'xmlns:x="u" ', b' x14ac:dyDescent="1"',
          b"<sheetData>", b"</sheetData>", b"<sheetData/>", b"<is><t>x</t></is>", b'<f t="shared" si="0"/>', b"<v>", b"</v>",
          b'<v>1e999</v>', b' t="s"', b' t="b"', b"<headerFooter>", b"</headerFooter>", b"<oddHeader>&amp;L&#1;</oddHeader>",
          b'<sheetProtection sheet="1"/>', b'encoding="GBK"', b'<si><t>x</t></si>', b"<r><t>y</t></r>", b"</si>", b"<t/>",
          b' r="A1"', b' s="1" s="2"', b' spans="1:2" spans="1:2"', b"\n", b'xmlns="urn:x"',
          # cells and rows that keep the XML's shape: duplicates, odd types and values, shared formulas
          b'<c r="A1" t="s"><v>5</v></c>', b'<c r="A1" t="s"><v>99999</v></c>', b'<c r="C9"><f>SUM(A1:A2)</f></c>',
          b'<c r="D9" t="str"><f>A1</f><v></v></c>', b'<c r="E9"><v>NaN</v></c>', b'<c r="A1" t="inlineStr"><v>x</v></c>',
          b'<c r="B1" t="d"><v>2020-01-01</v></c>', b'<c r="ZZZ9"><v>1</v></c>', b'<c r="XFD1048576"><v>2</v></c>',
          b'<c r="A1048577"><v>1</v></c>', b'<c r="XEZ9"><v>1</v></c>', b'<c r="A1" t="e"><v>#DIV/0!</v></c>',
          b'<row r="5"/>', b'<row r="6"></row>', b'<c r="A1"><f t="shared" ref="A1:A3" si="7">B1</f><v>1</v></c>',
          b'<c r="A2"><f t="shared" si="7"/></c>', b'<c r="A5"><f t="shared" si="9"/></c>', b'<c r="F1"><f></f><v/></c>',
          b'<c r="G1" t="b"><v>true</v></c>', b'<c r="H1"><v> 1 </v></c>', b'<c r="A1"/>', b"&#10;", b"&#xD800;", b"&#0;",
          b"&#1114112;", b"<r><t>z</t></r>", b'<rPr><b val="1" val="2"/></rPr>', b"<rPr><b/></rPr>",
          # white space XML does not count as such, where only white space may stand (around the root element)
          b"\x0b", b"\x0c", b"\x1c", "\u3000".encode(), "\u2028".encode(), "\x85".encode()]
MUTATION = st.tuples(st.sampled_from(["insert", "delete", "replace", "at-tag"]), st.floats(0, 1), st.sampled_from(TOKENS),
                     st.integers(1, 40))


def _mutate(data: bytes, mutations: list[tuple[str, float, bytes, int]], inside: bool = False) -> bytes:
    """Mutations anywhere, or (inside) only within the cell data, where the scanner reads every byte itself."""
    low, high = (data.find(b"<sheetData>"), data.find(b"</sheetData>")) if inside else (0, len(data))
    for action, where, token, length in mutations:
        at = low + int(where * (high - low))
        if action == "at-tag":  # before the next tag: mutations that keep the XML's shape reach the scanner's reading
            at = data.find(b"<", at)
            at = len(data) if at < 0 else at
        if action in ("insert", "at-tag"):
            data = data[:at] + token + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + length:]
        else:
            data = data[:at] + token + data[at + len(token):]
    return data


def _general(reader: XlsxReader, data: bytes) -> Any:
    info = SheetInfo("表", "xl/worksheets/sheet1.xml", "visible")
    try:
        sheet = reader._parsed_sheet(info, parse_xml(info.path, data))
    except FileProblem as problem:
        return problem.code
    return dict(sheet.cells), sheet.protected


def _fast(reader: XlsxReader, data: bytes) -> Any:
    scanned = scan_sheet(data)
    if scanned is None:
        return None
    try:
        sheet = reader._scanned_sheet(SheetInfo("表", "xl/worksheets/sheet1.xml", "visible"), *scanned)
    except FileProblem as problem:
        return problem.code
    return dict(sheet.cells), sheet.protected


def _strings_general(data: bytes) -> Any:
    try:
        return [_text_of(si) for si in parse_xml("xl/sharedStrings.xml", data)]
    except FileProblem as problem:
        return problem.code


# Shared strings as LibreOffice saves them: rich-text runs with their fonts, line breaks as character references
RICH_STRINGS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
                'spreadsheetml/2006/main" count="4" uniqueCount="3"><si><r><rPr><sz val="11"/><color rgb="FF000000"/>'
                '<rFont val="宋体"/><family val="2"/></rPr><t xml:space="preserve">基准单位</t></r><r><rPr><b/><charset val="1"/>'
                '</rPr><t xml:space="preserve">1</t></r></si><si><t xml:space="preserve">单位编码&#10;（预算编码）&amp;#10;</t></si>'
                '<si><t/></si></sst>').encode()


@pytest.fixture(scope="module")
def parts(seed_filled: Path, project_filled: Path) -> tuple[XlsxReader, list[bytes], list[bytes]]:
    sheets, strings = [], []
    for path in (seed_filled, project_filled):
        with zipfile.ZipFile(path) as archive:
            sheets += [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
            strings.append(archive.read("xl/sharedStrings.xml"))
    return XlsxReader(open_package(seed_filled)), sheets, [*strings, RICH_STRINGS]


def test_xlkit_parts_take_the_fast_path_and_read_the_same(parts):
    reader, sheets, strings = parts
    for data in sheets:
        fast = _fast(reader, data)
        assert fast is not None and fast == _general(reader, data)
    for data in strings:
        assert scan_strings(data) == _strings_general(data) != []
    assert scan_strings(RICH_STRINGS) == ["基准单位1", "单位编码\n（预算编码）&#10;", ""]


EXCEL_STYLE = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
               b'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"><dimension ref="A1:C4"/>'
               b'<sheetData><row r="1" spans="1:3" ht="30" customHeight="1" x14ac:dyDescent="0.25">'
               b'<c r="A1" s="1" t="s"><v>0</v></c><c r="B1" s="2"><v>1.5</v></c><c r="C1" t="str"><f>A1&amp;"&lt;"</f><v>x&lt;</v></c></row>'
               b'<row r="2" spans="1:3"><c r="A2"><v>2</v></c><c r="B2"><f t="shared" ref="B2:B4" si="0">A2*2</f><v>4</v></c></row>'
               b'<row r="3"><c r="A3"><v>3</v></c><c r="B3"><f t="shared" si="0"/><v>6</v></c><c r="C3" t="b"><v>1</v></c></row>'
               b'<row r="4"><c r="A4" t="e"><v>#N/A</v></c><c r="B4"><f t="shared" si="0"/><v>0</v></c>'
               b'<c r="C4" t="str"><f>"a"&amp;CHAR(10)</f><v>a&#10;&#x4E00;</v></c></row></sheetData>'
               b'<sheetProtection sheet="1" objects="1"/><headerFooter><oddHeader>&amp;L' + "某单位".encode()
               + b'</oddHeader></headerFooter></worksheet>')
LIBREOFFICE_STYLE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                     b'<sheetData><row r="1" customFormat="false" ht="12.8" hidden="false" customHeight="false" outlineLevel="0" '
                     b'collapsed="false"><c r="A1" s="0" t="n"><v>7</v></c><c r="B1" s="0" t="n"><f aca="false">A1+1</f><v>8</v></c>'
                     b'<c r="C1" s="0" t="s"><v>1</v></c></row></sheetData><pageMargins left="0.7" right="0.7" top="0.75" '
                     b'bottom="0.75" header="0.3" footer="0.3"/></worksheet>')


@pytest.mark.parametrize("data", [EXCEL_STYLE, LIBREOFFICE_STYLE], ids=["excel", "libreoffice"])
def test_parts_as_excel_and_libreoffice_write_them(parts, data):
    reader = parts[0]
    fast = _fast(reader, data)
    assert fast is not None and fast == _general(reader, data)
    cells, protected = fast
    if data is EXCEL_STYLE:  # the shared formula reaches its children, translated
        assert protected and cells[(3, 1)].formula == "A4*2" and cells[(0, 2)].formula == 'A1&"<"' and cells[(0, 2)].value == "x<"
        assert cells[(3, 2)].value == "a\n一"  # characters given by number


def test_the_frame_is_remembered_but_never_confused(parts):
    reader, sheets, _strings = parts
    protected = next(d for d in sheets if b"<sheetProtection" in d)
    unprotected = protected.replace(b'<sheetProtection sheet="1"', b'<sheetProtection sheet="0"')
    assert _fast(reader, protected)[1] is True and _fast(reader, unprotected)[1] is False
    # sheetData inside a comment that the head opens and the tail closes: the general parser sees no cells
    hidden = protected.replace(b"<sheetData>", b"<!--<sheetData>").replace(b"</sheetData>", b"</sheetData>--><sheetData/>")
    assert scan_sheet(hidden) is None
    assert _general(reader, hidden)[0] == {}
    # the header text is left out of the frame, but it is still checked
    assert scan_sheet(protected.replace(b"<oddHeader>", b"<oddHeader>&#1;")) is None


@pytest.mark.parametrize(("ref", "inside"), [("A1", True), ("XFD1048576", True), ("XEZ1039999", True), ("XFE1", False),
                                             ("ZZZ1", False), ("A1048577", False), ("A9999999", False)])
def test_only_addresses_inside_the_grid_are_scanned(parts, ref, inside):
    """A cell's address is the key it is kept under: outside the grid the general parser decides (and refuses)."""
    reader = parts[0]
    data = LIBREOFFICE_STYLE.replace(b'<c r="A1"', f'<c r="{ref}"'.encode())
    fast, general = _fast(reader, data), _general(reader, data)
    if inside:
        assert fast is not None and fast == general
        assert ref == "A1" or any(fast[0][key].value == 7 for key in fast[0] if key != (0, 0))
    else:
        assert fast is None and general == "xml-malformed"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.lists(MUTATION, min_size=1, max_size=4), st.booleans())
def test_any_mutation_is_read_the_same_or_declined(parts, data, mutations, inside):
    reader, sheets, strings = parts
    sheet = data.draw(st.sampled_from([*sheets, EXCEL_STYLE, LIBREOFFICE_STYLE]))
    mutated = _mutate(sheet, mutations, inside)
    fast = _fast(reader, mutated)
    assert fast is None or fast == _general(reader, mutated)
    mutated_strings = _mutate(data.draw(st.sampled_from(strings)), mutations)
    scanned = scan_strings(mutated_strings)
    assert scanned is None or scanned == _strings_general(mutated_strings)


def test_only_frames_of_a_forms_size_are_remembered(parts):
    """A hostile part cannot fill a reader's memory through the frame cache: a large frame is parsed, not kept."""
    from xlkit.intake import scan

    reader, sheets, _strings = parts
    sheet = sheets[0]
    large = sheet.replace(b"</worksheet>", b"<!--" + b"x" * (scan.MAX_REMEMBERED + 1) + b"--></worksheet>")
    def remembered() -> int:
        return sum(map(len, scan._frames.values()))

    before = remembered()
    assert _fast(reader, large) == _general(reader, large)  # still read, and read the same
    assert remembered() == before
    assert _fast(reader, sheet) == _general(reader, sheet) and remembered() >= 1
    # a flood of distinct frames, under many heads and many per head, never holds more than MAX_FRAMES
    for i in range(scan.MAX_FRAMES + 50):
        distinct = sheet.replace(b"<sheetData>", f"<!--{i % 40}--><sheetData>".encode(), 1).replace(
            b"</worksheet>", f"<!--{i}--></worksheet>".encode(), 1)
        assert scan_sheet(distinct) is not None
        assert remembered() <= scan.MAX_FRAMES


@pytest.mark.parametrize("space", [b"\x0b", b"\x0c", b"\x1c", "\u3000".encode(), "\u2028".encode(), "\x85".encode(), b" \r\n\t"])
def test_only_xml_white_space_stands_around_the_root(parts, space):
    """Python's \\s takes more than XML does: the scanner must decline what the XML parser refuses."""
    reader, sheets, strings = parts
    for data in strings:
        root = data.find(b"<sst")
        for mutated in (data[:root] + space + data[root:], data + space):
            scanned = scan_strings(mutated)
            assert scanned is None or scanned == _strings_general(mutated)
    for data in sheets[:3]:
        root = data.find(b"<worksheet")
        mutated = data[:root] + space + data[root:]
        fast = _fast(reader, mutated)
        assert fast is None or fast == _general(reader, mutated)


# ------------------------------------------------------------------ a number cell's text: one decoder, both readers

XSD_DOUBLE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)  # xsd:double's decimal form, written apart
NUMBER_TEXTS = st.one_of(
    st.from_regex(XSD_DOUBLE, fullmatch=True),
    st.sampled_from(["1_000", "1_0.5", " 1 ", "\t1", "1\n", "nan", "NaN", "-nan", "inf", "-inf", "+Infinity", "INF", "-INF",
                     "infinity", "1e999", "-1e999", "1e-999", "１２", "١٢", "0x10", "1e", ".", "+", "1.2.3", "1,000", "1 000",
                     "1.", ".5", "+.5", "-0", "00012", "1E+05"]),
    st.text(alphabet="0123456789.eE+-_ \tnaifINFty", min_size=1, max_size=9))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=NUMBER_TEXTS, typed=st.booleans(), formula=st.booleans())
def test_a_number_cells_text_reads_the_same_on_both_paths_and_only_xsd_double_is_a_number(parts, text, typed, formula):
    """The scanner takes a number cell only in xsd:double's decimal form (else the general parser reads the part),
    and both paths decode through `cell_number`: a finite double is a number, anything else ('1_000', ' 1 ', NaN,
    INF, 1e999) an invalid number (kind "bad", its text kept), never a float Python's float() made of it."""
    from xlkit.intake.xlsx import RawCell

    reader = parts[0]
    attrs = ' t="n"' if typed else ""
    cell = f'<c r="B1" s="0"{attrs}>{"<f>A1+1</f>" if formula else ""}<v>{escape(text)}</v></c>'.encode()
    data = LIBREOFFICE_STYLE.replace(b'<c r="B1" s="0" t="n"><f aca="false">A1+1</f><v>8</v></c>', cell)
    assert data != LIBREOFFICE_STYLE
    general, fast = _general(reader, data), _fast(reader, data)
    assert fast is None or fast == general
    got = general[0].get((0, 1))
    number = float(text) if XSD_DOUBLE.fullmatch(text) else None
    if number is not None and math.isfinite(number):
        assert fast is not None  # a number as spreadsheets write it takes the fast path
        assert got == RawCell(number, "n", "A1+1" if formula else None)
    else:
        assert got == RawCell(text, "bad", "A1+1" if formula else None)
        assert fast is None or number is not None  # only a double too large for a float passes the grammar


TYPED_TEXTS = st.one_of(st.sampled_from(["0", "1", "2", "-1", "+1", "01", "1.0", " 1", "true", "false", "TRUE", "yes", "abc", "",
                                         "99999", "١", "#N/A", "#DIV/0!", "2020-01-01", "&amp;", "x&lt;y"]),
                        st.text(alphabet="01-+ .aeftrusl#/!", max_size=6))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cell_type=st.sampled_from(["s", "b", "e", "str", "d", "inlineStr"]), text=TYPED_TEXTS, formula=st.booleans())
def test_a_typed_cells_text_reads_the_same_on_both_paths_and_invalid_text_is_kept_as_such(parts, cell_type, text, formula):
    """Both paths decode a typed cell through decode.cell_value: a shared-string index is ASCII digits in range and a
    boolean 0/1/false/true, else the text is kept with an invalid kind (never an empty cell, never FALSE)."""
    from xlkit.intake.xlsx import RawCell

    reader, strings = parts[0], parts[0].shared.items()
    value = f"<v>{text}</v>" if text else "<v/>"
    cell = f'<c r="B1" s="0" t="{cell_type}">{"<f>A1</f>" if formula else ""}{value}</c>'.encode()
    data = LIBREOFFICE_STYLE.replace(b'<c r="B1" s="0" t="n"><f aca="false">A1+1</f><v>8</v></c>', cell)
    general, fast = _general(reader, data), _fast(reader, data)
    assert fast is None or fast == general
    if isinstance(general, str):
        return  # not XML ('&' alone): the file's error, on both paths
    got = general[0].get((0, 1))
    written = re.sub("&lt;", "<", re.sub("&amp;", "&", text))
    f = "A1" if formula else None
    if cell_type == "s" and text:
        valid = re.fullmatch("[0-9]+", text) and int(text) < len(strings)
        assert got == (RawCell(strings[int(text)], "s", f) if valid else RawCell(written, "bad-string", f))
    elif cell_type == "b" and text:
        booleans = {"0": False, "1": True, "false": False, "true": True}
        assert got == (RawCell(booleans[text], "b", f) if text in booleans else RawCell(written, "bad-boolean", f))
    elif cell_type in ("s", "b", "d") and not text:
        assert got == (RawCell(None, "empty", f) if formula else None)
    elif cell_type == "inlineStr":
        assert got == RawCell("", "s", f)  # a <v> is no inline string's text (its <is> is)
    else:
        assert got == RawCell(written if text else "", "str" if cell_type == "d" else cell_type, f)


def test_a_negative_or_foreign_string_index_is_no_string(parts):
    """'-1' was Python's last item, '١' (Arabic-Indic one) int()'s 1: neither is an index a spreadsheet writes."""
    reader = parts[0]
    for text in ("-1", "١", " 1", "1e0"):
        data = LIBREOFFICE_STYLE.replace(b'<c r="C1" s="0" t="s"><v>1</v></c>', f'<c r="C1" t="s"><v>{text}</v></c>'.encode())
        general = _general(reader, data)
        assert general[0][(0, 2)].kind == "bad-string" and general[0][(0, 2)].value == text
        assert _fast(reader, data) in (None, general)


PATTERN_NAMES = ["BODY", "CELLS", "SHARED_STRINGS", "STRING_ITEMS", "PLAIN_ITEMS", "TEXTS", "DECLARATION", "HEADER_FOOTER",
                 "REFERENCE"]


def test_the_pattern_written_in_patterns_py_is_the_one_that_runs():
    """No pattern is rewritten at import on the Python the project runs (3.11+); 3.10's form only drops the
    possessive marks, and compiles."""
    from xlkit.intake import patterns, scan

    for name in PATTERN_NAMES:
        written = getattr(patterns, name)
        assert getattr(scan, name).pattern == (written if patterns.POSSESSIVE else patterns.plain(written))
        plain = patterns.plain(written)
        re.compile(plain)
        assert re.search(r"[*+?}]\+", plain if isinstance(plain, str) else plain.decode()) is None
    assert patterns.plain(r"[+-]?+[0-9]{1,9}+(?:a|b)++x*+") == r"[+-]?[0-9]{1,9}(?:a|b)+x*"
    assert set(patterns.compiled(patterns.CELLS).groupindex) == {"ref", "type", "formula_type", "shared_index", "formula", "value"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.lists(MUTATION, min_size=0, max_size=3))
def test_the_possessive_and_plain_grammars_accept_the_same_parts(parts, data, mutations):
    """What a possessive repeat refuses to give back the grammar never needs: on real and mutated cell data and
    shared strings, the pattern 3.11 runs and the one 3.10 runs agree."""
    from xlkit.intake import patterns

    _reader, sheets, strings = parts
    sheet = _mutate(data.draw(st.sampled_from(sheets)), mutations, inside=True)
    body = sheet[sheet.find(b"<sheetData>") + 11:sheet.find(b"</sheetData>")].decode("utf-8", "replace")
    text = _mutate(data.draw(st.sampled_from(strings)), mutations).decode("utf-8", "replace")
    text = text[text.find("<sst"):]
    for name, subject in (("BODY", body), ("SHARED_STRINGS", text)):
        possessive, plain = patterns.compiled(getattr(patterns, name)), re.compile(patterns.plain(getattr(patterns, name)))
        assert bool(possessive.fullmatch(subject)) == bool(plain.fullmatch(subject))
    assert patterns.compiled(patterns.CELLS).findall(body) == re.compile(patterns.plain(patterns.CELLS)).findall(body)
