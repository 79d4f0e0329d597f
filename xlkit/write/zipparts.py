"""A zip written from parts compressed in runs, so that runs seen before keep their compressed bytes
(distribution's fast path: a unit's workbook differs from its shape's in a few places)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

Part = list[tuple[str, bool]]  # a part's runs: text, and whether it is the shape's own (its compressed bytes kept)


class Deflated:
    """A part compressed in runs of about CHUNK characters, each its own deflate blocks ending on a byte (a full
    flush): runs a unit leaves as they were keep their compressed bytes, so only what changed is compressed again.
    Runs put end to end are one valid deflate stream."""

    CHUNK = 32_768

    def __init__(self) -> None:
        self.runs: dict[tuple[str, bool], tuple[bytes, bytes]] = {}  # the shape's own runs: bytes and compressed

    def compress(self, runs: Part) -> tuple[bytes, int, int, bytes]:
        """The part's deflated bytes, CRC-32, size, and the bytes themselves."""
        out: list[bytes] = []
        raw: list[bytes] = []
        crc = 0
        for n, (text, kept) in enumerate(runs):
            last = n == len(runs) - 1
            found = self.runs.get((text, last)) if kept else None
            if found is None:
                data = text.encode("utf-8")
                engine = zlib.compressobj(6, zlib.DEFLATED, -15)
                found = (data, engine.compress(data) + engine.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH))
                if kept:
                    self.runs[(text, last)] = found
            crc = zlib.crc32(found[0], crc)
            raw.append(found[0])
            out.append(found[1])
        data = b"".join(raw)
        return b"".join(out), crc, len(data), data


def write_zip(entries: list[tuple[str, bytes, int, int]], out: Path) -> None:
    """A zip of deflated entries (name, bytes, CRC-32, size), dated as xlsxwriter dates them (1 January 1980)."""
    head: list[bytes] = []
    central: list[bytes] = []
    at = 0
    for name, data, crc, size in entries:
        raw = name.encode("utf-8")
        fields = (20, 0, 8, 0, 33, crc, len(data), size, len(raw), 0)
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields) + raw
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, at) + raw)
        head += [local, data]
        at += len(local) + len(data)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), at, 0)
    out.write_bytes(b"".join(head) + directory + end)
