"""Which returned files are likely of one shape, told from a few bytes of each: the batch check's grouping.

A reader process sets up a shape (its layout, formulas, sheet frames: some 30 ms) the first time it meets it, and
checks each later file of that shape in a few milliseconds. Files sent to the readers in folder order spread every
shape over every reader, so each reader sets up each shape; grouped, a shape is set up by one reader and its files
are checked one after another. The hint is only an order of work: each file is still opened, identified and checked
on its own, and a wrong or missing hint costs a set-up, never a result. Knowing how many files of a shape are
coming also settles when its formulas are made into one function (`plan_formulas`), which gives the same values.

The hint is the workbook part's checksum and sizes as the zip directory gives them. That part holds the sheets and
every defined name (where each field is), so files with the same one were laid out alike; it holds nothing of the
unit, which the `_xlkit` sheet does.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from ..form.compute import Calculator

WORKBOOK_ENTRY = b"xl/workbook.xml"
DIRECTORY_HEADER = b"PK\x01\x02"
HEADER_BYTES = 46  # a central directory header before its file name
TAIL_BYTES = 16 * 1024  # a form's zip directory (20-odd entries) is under 2 KB, at the end of the file


def shape_hint(path: str | Path) -> bytes:
    """CRC-32, compressed and uncompressed size of `xl/workbook.xml` from the zip directory; b"" when the file's tail
    holds no such entry (not a zip, damaged, an odd writer), or is no regular file (a FIFO is never opened to wait)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size < HEADER_BYTES:
            return b""
        tail = os.pread(fd, TAIL_BYTES, max(0, info.st_size - TAIL_BYTES))
    except OSError:
        return b""
    finally:
        os.close(fd)
    at = tail.rfind(WORKBOOK_ENTRY)
    while at >= HEADER_BYTES:
        header = at - HEADER_BYTES
        if tail.startswith(DIRECTORY_HEADER, header) and int.from_bytes(tail[header + 28:header + 30], "little") == len(WORKBOOK_ENTRY):
            return tail[header + 16:header + 28]
        at = tail.rfind(WORKBOOK_ENTRY, 0, at)
    return b""


# Files of one shape from which making its formulas into one function (`Calculator.generate`, some 30 ms) repays
# itself (about 0.4 ms saved a file): made then at the second file. Below it, never: at N = 1,000 (15 shapes of 67
# files) making it at the 64th use cost a worker 8 % of its time and saved nothing.
GENERATE_FROM = 160
NEVER = sys.maxsize


def plan_formulas(calc: Calculator, files: int) -> None:
    """A batch check knows how many files of this layout's shape are coming: the calculator's choice of when to make
    its generated function is made on that, once, after the first file (`Calculator.HOT`, 64 uses, is the choice of
    a process that cannot know)."""
    if calc.uses == 1 and calc.program is None and calc.fallback is None:
        calc.HOT = 2 if files >= GENERATE_FROM else NEVER
