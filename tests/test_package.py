"""A part is inflated straight from the file only when zipfile would give the same bytes without complaint."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlkit.intake.package import _inflated, open_package


def _stored_copy(path: Path, tmp: Path) -> Path:
    out = tmp / f"stored_{path.name}"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    return out


def test_intact_parts_are_inflated_as_zipfile_reads_them(seed_filled, project_filled, tmp_path):
    for path in (seed_filled, project_filled, _stored_copy(seed_filled, tmp_path)):
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                assert _inflated(data, info) == archive.read(info), (path.name, info.filename)
        package = open_package(path)
        assert all(package.read(name) for name in package.names if name.endswith(".xml"))
        package.close()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_damaged_part_is_left_to_zipfile(seed_filled, data):
    """Bytes changed anywhere before the zip directory: the direct path gives what zipfile gives, or declines."""
    original = seed_filled.read_bytes()
    with zipfile.ZipFile(io.BytesIO(original)) as archive:
        directory = archive.start_dir  # type: ignore[attr-defined]
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, directory - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    mutated_bytes = bytes(mutated)
    with zipfile.ZipFile(io.BytesIO(mutated_bytes)) as archive:
        for info in archive.infolist():
            fast = _inflated(mutated_bytes, info)
            if fast is not None:
                assert fast == archive.read(info), info.filename


@pytest.mark.parametrize("damage", ["checksum", "name", "encrypted flag", "truncated"])
def test_known_damage_goes_to_zipfile(seed_filled, damage):
    data = bytearray(seed_filled.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/workbook.xml")
    at = info.header_offset
    name_end = at + 30 + len(info.filename)
    if damage == "checksum":
        data[name_end + info.compress_size // 2] ^= 0xFF
    elif damage == "name":
        data[at + 30] = ord("X")
    elif damage == "encrypted flag":
        data[at + 6] |= 0x1
    else:
        data = data[:name_end + info.compress_size // 2]
    assert _inflated(bytes(data), info) is None
