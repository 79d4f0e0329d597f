"""The scanner's regular expressions (`scan.py`), written out as they run.

Repeats are possessive (`*+`, `?+`, `{1,9}+`): a possessive repeat never gives back what it took, which saves the
matcher the bookkeeping for taking it back, a third of its time here. The grammar never needs to take anything
back (each construct starts unlike anything that may follow it), and a possessive pattern matches only what the
plain one matches, so at worst a part goes to the general parser. Python 3.10 has no possessive repeats: there
`compiled` drops each `+` that follows a repeat, and nothing else (`tests/test_scan.py` holds the two forms to the
same matches). Captures are named; the grammar that only checks (BODY) has none, for a capture inside a repeat
costs the matcher dearly.
"""

from __future__ import annotations

import re
import sys
from typing import AnyStr

POSSESSIVE = sys.version_info >= (3, 11)


def compiled(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """The pattern as written (3.11 and later), or without its possessive marks (3.10)."""
    return re.compile(pattern if POSSESSIVE else plain(pattern), flags)


def plain(pattern: AnyStr) -> AnyStr:
    """The same pattern with ordinary repeats (what 3.10 runs): each '+' right after a repeat dropped, which is a
    syntax error before 3.11, so nothing a plain pattern means is touched."""
    if isinstance(pattern, bytes):
        return re.sub(rb"(?<=[*+?}])\+", b"", pattern)
    return re.sub(r"(?<=[*+?}])\+", "", pattern)


# xsd:double's decimal lexical form (its INF and NaN are not figures), ASCII only: a number cell's text (decode.py)
DOUBLE = r"[+-]?+(?:[0-9]++(?:\.[0-9]*+)?+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+"

UNSAFE = "\x00-\x08\x0b\x0c\x0e-\x1f\r\ufffe\uffff"  # refused by XML, or changed by its line-end rule
REFERENCE = "&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}+|#x[0-9a-fA-F]{1,6}+);"  # the five entities, characters by number
TEXT = f"[^<&{UNSAFE}]*+(?:{REFERENCE}[^<&{UNSAFE}]*+)*+"  # element text as the grammar takes it (an unrolled loop)
VALUE = f'="[^"<&{UNSAFE}]*+"'  # an attribute's value

# Row and cell attributes in the schema's order, each at most once: a duplicate never matches, a reordered set goes
# to the general parser. The row's r is only checked (cells carry their own address); rows past 999,999: the
# general parser checks them.
ROW = ('<row(?: r="[1-9][0-9]{0,5}+")?+' + "".join(f"(?: {name}{VALUE})?+" for name in (
    "spans", "s", "customFormat", "ht", "hidden", "customHeight", "outlineLevel", "collapsed", "thickTop", "thickBot",
    "ph", "x14ac:dyDescent")))
FORMULA_ATTRIBUTES = ('(?: t="(?:normal|array|shared|dataTable)")?+(?: aca="(?:0|1|false|true)")?+'
                      '(?: ref="[A-Z0-9:$]{1,30}+")?+(?: ca="(?:0|1|false|true)")?+(?: si="[0-9]{1,9}+")?+')
# A cell's address, only inside Excel's grid (A1 to XFD1048576): the general parser refuses any other
GRID_COLUMN = "[A-Z]{1,2}+|[A-W][A-Z]{2}|X[A-E][A-Z]|XF[A-D]"
GRID_ROW = "[1-9][0-9]{0,5}+|10[0-3][0-9]{4}|104[0-7][0-9]{3}|1048[0-4][0-9]{2}|10485[0-6][0-9]|104857[0-6]"
# A cell's formula and value: a typed cell's value any text; a number cell's only in xsd:double's decimal form (or
# empty, as xlsxwriter writes a formula's), so the fast path's float() never sees '1_000', ' 1 ' or 'NaN' (such a
# part goes to the general parser, and decode.cell_value says what it is)
TYPED_BODY = f">(?:<f{FORMULA_ATTRIBUTES}(?:/>|>(?:{TEXT})</f>))?+(?:<v>(?:{TEXT})</v>|<v/>)?+</c>"
NUMBER_BODY = f">(?:<f{FORMULA_ATTRIBUTES}(?:/>|>(?:{TEXT})</f>))?+(?:<v>(?:{DOUBLE})?+</v>|<v/>)?+</c>"
# (the typed cells first: a number cell fails that branch at its first character)
CELL = (f'<c r="(?:{GRID_COLUMN})(?:{GRID_ROW})"(?: s="[0-9]{{1,9}}+")?+'
        f'(?: t="(?:b|d|e|inlineStr|s|str)"(?:/>|{TYPED_BODY})|(?: t="n")?+(?:/>|{NUMBER_BODY}))')
# The whole cell data, every character accounted for (the text too: no character or entity the XML parser refuses)
BODY = f"(?:{ROW}(?:/>|>(?:{CELL})*+</row>))*+"
# On a body BODY accounts for: exactly the cells that hold something (what BODY checked is only taken apart here).
# findall gives each as a tuple in this order (scan.ScannedCell).
CELLS = ('<c r="(?P<ref>[^"]*+)"(?: s="[^"]*+")?+(?: t="(?P<type>[^"]*+)")?+>'
         '(?:<f(?: t="(?P<formula_type>[^"]*+)")?+(?: aca="[^"]*+")?+(?: ref="[^"]*+")?+(?: ca="[^"]*+")?+'
         '(?: si="(?P<shared_index>[^"]*+)")?+(?:/>|>(?P<formula>[^<]*+)</f>))?+(?:<v>(?P<value>[^<]*+)</v>|<v/>)?+</c>')

# XML's own white space only, after an optional BOM and declaration: the root element's "<"
DECLARATION = (rb'(?:\xef\xbb\xbf)?+(?:<\?xml version="1\.0"(?: encoding="(?:UTF|utf)-8")?+'
               rb'(?: standalone="(?:yes|no)")?+\?>)?+[ \t\r\n]*+<')
# The page header and footer, which name the unit: left out of the remembered frame, their text checked apart
HEADER_FOOTER = (rb'(?P<tag><headerFooter(?: [A-Za-z]++="[^"<&]*+")*+>)(?P<parts>(?:<(?P<part>oddHeader|oddFooter|'
                 rb'evenHeader|evenFooter|firstHeader|firstFooter)>[^<]*+</(?P=part)>)*+)</headerFooter>')

T = f'<t(?: xml:space="preserve")?+>{TEXT}</t>|<t/>'  # the text as in cells: nothing XML refuses or rewrites
# A run of rich text (a cell with mixed fonts, as LibreOffice and Excel save it): its font, then its text. The font's
# elements are empty, with at most two attributes of different names (a repeated one goes to the XML parser).
FONT_ELEMENT = (f'<[a-zA-Z]{{1,16}}+(?: (?P<attribute>[a-zA-Z]{{1,16}}+)="[^"<&{UNSAFE}]*+"'
                f'(?: (?!(?P=attribute)=)[a-zA-Z]{{1,16}}+="[^"<&{UNSAFE}]*+")?+)?+/>')
RUN = f"<r>(?:<rPr>(?:{FONT_ELEMENT})*+</rPr>)?+(?:{T})</r>"
SHARED_STRINGS = (r'<sst xmlns="http://schemas\.openxmlformats\.org/spreadsheetml/2006/main"(?: count="[0-9]{1,9}+")?+'
                  f'(?: uniqueCount="[0-9]{{1,9}}+")?+>(?:<si>(?:{T}|(?:{RUN})++)</si>)*+</sst>[ \\t\\r\\n]*+')
STRING_ITEMS = r"<si>(?P<item>.*?)</si>"  # on a part SHARED_STRINGS accounts for: each item (DOTALL)
PLAIN_ITEMS = r'<si>(?:<t(?: xml:space="preserve")?+>(?P<text>[^<]*+)</t>|<t/>)</si>'  # ... when none has runs
TEXTS = r'<t(?: xml:space="preserve")?+>(?P<text>[^<]*+)</t>'  # within an item: its text, or its runs' texts
