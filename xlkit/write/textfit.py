"""How text fits a cell on paper: lines, line breaks and row heights, the same for every renderer we print with.

Measured in Excel column-width units (the width of a digit). A CJK character is about 2.1 of them in Excel
(宋体) and LibreOffice (Noto Sans CJK); Latin letters and digits in a CJK font about 1.2. A line of 11 pt
text is 15.5 pt high in LibreOffice and 14.3 in Excel: the larger, with a margin, is used. The interop tests
lay every text cell out again in LibreOffice and fail on any that needs more height than its row has.
"""

from __future__ import annotations

import math
import re
import unicodedata

from ..caches import memo

LINE_HEIGHT = 16.0  # points per line of 11 pt text, LibreOffice's 15.5 with a margin
ROW_PADDING = 6.0  # points above and below the text of a wrapped cell
SINGLE_LINE = 15.0  # a row's default height
WIDEST = 2.15  # units of the widest character (CJK) at 11 pt
OPENING, CLOSING = "（(《“【", "）)》”】"


def char_units(ch: str, size: float = 11) -> float:
    """Units a character of `size` pt text takes."""
    return (WIDEST if unicodedata.east_asian_width(ch) in "WF" else 1.2) * size / 11


def capacity(width: float) -> float:
    """Units of text one line of a cell `width` units wide holds, leaving the cell's inner margins."""
    return max(2.0, width * 0.92 - 1.5)


def _tokens(paragraph: str) -> list[str]:
    """Break opportunities: a bracket pair with its contents is one token (never broken), so is a Latin word."""
    tokens: list[str] = []
    depth, current = 0, ""
    for ch in paragraph:
        if depth:
            current += ch
            depth += 1 if ch in OPENING else -1 if ch in CLOSING else 0
            if depth == 0:
                tokens.append(current)
                current = ""
        elif ch in OPENING:
            if current:
                tokens.append(current)
            current, depth = ch, 1
        elif ch.isascii() and ch.isalnum():
            current += ch
        else:
            if current:
                tokens.append(current)
                current = ""
            tokens.append(ch)
    if current:
        tokens.append(current)
    return tokens


def wrap(text: str, width: float, size: float = 11) -> list[str]:
    """The lines of `size` pt text in a cell `width` units wide, broken only between tokens; explicit newlines kept."""
    room = capacity(width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0.0
        for token in _tokens(paragraph):
            needed = sum(char_units(ch, size) for ch in token)
            if needed > room:  # a token longer than a line: characters, as the renderer would
                for ch in token:
                    if used + char_units(ch, size) > room and line:
                        lines.append(line)
                        line, used = "", 0.0
                    line += ch
                    used += char_units(ch, size)
                continue
            if used + needed > room and line:
                lines.append(line.rstrip())
                line, used = "", 0.0
            line += token
            used += needed
        lines.append(line)
    return lines


def lines_needed(text: str, width: float, size: float = 11) -> int:
    """One line, without wrapping, for a text that fits even if every character were the widest (most cells of a
    summary): a summary of ten thousand units measures a few hundred thousand texts."""
    if len(text) * WIDEST * size / 11 <= capacity(width) and "\n" not in text:
        return 1
    return _lines_wrapped(text, width, size)


@memo(1 << 15)  # the same names and labels are measured on every sheet that shows them: ten thousand units and more
def _lines_wrapped(text: str, width: float, size: float = 11) -> int:
    return count_lines(text, width, size)


PLAIN_TOKENS = re.compile(r"[A-Za-z0-9]+|.", re.S)  # `_tokens` of a paragraph without an opening bracket


@memo(1 << 14)  # tokens are mostly single characters and short numbers
def _token_units(token: str, size: float) -> float:
    return sum(char_units(ch, size) for ch in token)


def count_lines(text: str, width: float, size: float = 11) -> int:
    """`len(wrap(text, width, size))`, the fast path: the same breaks counted without building the lines, each
    token's width remembered (the status and review sheets of ten thousand units measure some 80,000 long texts).
    `tests/test_textfit.py` holds it to `wrap`."""
    room, count = capacity(width), 0
    for paragraph in text.split("\n"):
        used, filled = 0.0, False
        tokens = _tokens(paragraph) if any(ch in paragraph for ch in OPENING) else PLAIN_TOKENS.findall(paragraph)
        for token in tokens:
            needed = _token_units(token, size)
            if needed > room:  # as `wrap`: a token longer than a line goes character by character
                for ch in token:
                    units = char_units(ch, size)
                    if used + units > room and filled:
                        count += 1
                        used = 0.0
                    used += units
                    filled = True
                continue
            if used + needed > room and filled:
                count += 1
                used = 0.0
            used += needed
            filled = True
        count += 1
    return count


def height_for(lines: int, size: float = 11) -> float:
    """The row height that shows `lines` lines of `size` pt text whole."""
    return SINGLE_LINE if lines <= 1 else math.ceil(lines * LINE_HEIGHT * size / 11 + ROW_PADDING)


def width_for(text: str, lines: int, narrowest: float = 6.0, size: float = 11) -> float:
    """The narrowest column (in whole units) that holds the text in at most `lines` lines."""
    width = narrowest
    while lines_needed(text, width, size) > lines:
        width += 1.0
    return width
