"""Which returned files are likely of one shape, told from a few bytes of each: the batch check's grouping.

A reader process sets up a shape (its layout, formulas, sheet frames: some 30 ms) the first time it meets it, and
checks each later file of that shape in a few milliseconds. Files sent to the readers in folder order spread every
shape over every reader, so each reader sets up each shape; grouped, a shape is set up by one reader and its files
are checked one after another. The hint is only an order of work: each file is still opened, identified and checked
on its own, and a wrong or missing hint costs a set-up, never a result.

The hint is the workbook part's checksum and sizes as the zip directory gives them. That part holds the sheets and
every defined name (where each field is), so files with the same one were laid out alike; it holds nothing of the
unit, which the `_xlkit` sheet does.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

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
