"""Property: whatever is done to the XML parts of a real filled workbook, checking it ends in a report.

Mutations reach attributes, numbers, references, defined names, shared-formula flags and part names. Each
mutated file is checked in an isolated reader with a time bound, so an escaped exception, a crash or a hang
shows up as that file's reader-crash, which the property forbids.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlkit.bureau.consolidate import read_all

GARBAGE = st.one_of(
    st.sampled_from(["", "x41", "-1", "0", "99999999999", "NaN", "inf", "-inf", "1e999", "A0", "XFD1048577", "ZZZZ1", "1:1",
                     "#REF!", "'", "&amp;", "&lt;", "A1:XFD1048576", "=A1", "Sheet1!A1", "'不存在'!B2", "true", "s", "e", "str",
                     "shared", "9" * 40, " ", "１２３", "1,234.5"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(
        lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")),
)
ATTRIBUTE = re.compile(rb'( [a-zA-Z:]+=")([^"]*)(")')
NUMBER = re.compile(rb"(<v>)([^<]*)(</v>)")
REFERENCE = re.compile(rb"((?:\$?[A-Z]{1,3}\$?[0-9]+))")
FORMULA = re.compile(rb"<f>")


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@st.composite
def mutations(draw: st.DrawFn, names: list[str]) -> list[tuple]:
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["attribute", "number", "reference", "shared", "rename", "truncate"]))
        part = draw(st.sampled_from(names))
        steps.append((kind, part, draw(st.integers(0, 10_000)), draw(GARBAGE)))
    return steps


def _nth(pattern: re.Pattern[bytes], data: bytes, n: int) -> re.Match[bytes] | None:
    found = list(pattern.finditer(data))
    return found[n % len(found)] if found else None


def mutate(parts: dict[str, bytes], steps: list[tuple]) -> dict[str, bytes]:
    parts = dict(parts)
    for kind, part, n, garbage in steps:
        if part not in parts:
            continue
        data = parts[part]
        value = garbage.encode("utf-8")
        if (kind == "attribute" and (m := _nth(ATTRIBUTE, data, n))) or (kind == "number" and (m := _nth(NUMBER, data, n))):
            data = data[: m.start(2)] + value + data[m.end(2):]
        elif kind == "reference" and (m := _nth(REFERENCE, data, n)):
            data = data[: m.start(1)] + value + data[m.end(1):]
        elif kind == "shared" and (m := _nth(FORMULA, data, n)):
            data = data[: m.start()] + f'<f t="shared" si="{n % 3}" ref="A1:Z99">'.encode() + data[m.end():]
        elif kind == "truncate":
            data = data[: n % max(len(data), 1)]
        elif kind == "rename":
            parts[garbage or "x"] = parts.pop(part)
            continue
        parts[part] = data
    return parts


def test_mutated_workbooks_always_get_a_report(seed_filled: Path) -> None:
    original = _parts(seed_filled)
    names = [n for n in original if n.endswith(".xml") or n.endswith(".rels")]
    folder = Path(tempfile.mkdtemp(prefix="xlkit-fuzz-"))
    counter = iter(range(10**6))

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=mutations(names))
    def check(steps: list[tuple]) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in mutate(original, steps).items():
                z.writestr(name, data)
        path = folder / f"m{next(counter)}.xlsx"
        path.write_bytes(buffer.getvalue())
        [report] = read_all([path], jobs=1, timeout=20, memory_mb=1024)
        crashes = [i.message for i in report.issues if i.code == "reader-crash"]
        assert not crashes, (steps, crashes)
        assert report.status in ("ok", "warning", "error")
        json.dumps(report.to_dict(), allow_nan=False)
        path.unlink()

    check()
