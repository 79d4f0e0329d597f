"""Caches in one module: every memo registered, bounded, cleared by one call, and what it shares read-only."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from xlkit import caches
from xlkit.caches import BoundedDict, memo
from xlkit.form.compute import formula_inputs, formula_sources
from xlkit.intake.check import check_file
from xlkit.intake.formula_text import canonical_formulas
from xlkit.intake.identify import locate
from xlkit.intake.package import open_package
from xlkit.intake.xlsx import XlsxReader

PACKAGE = Path(__file__).resolve().parent.parent / "xlkit"
NOT_MEMOS = {"_POOLS", "_STRANDED"}  # open database connections (resources their owner closes) and claims this process
# could not give up (state it must act on): not results to forget


def test_no_memo_is_made_outside_the_caches_module():
    """One idiom: no functools cache and no module-level dict kept across calls anywhere else."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "caches.py":
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {m.group()}" for m in re.finditer(r"lru_cache|functools\.cache\b|@cache\b", text)]
        found += [f"{path.name}: {m.group()}" for m in re.finditer(r"(?m)^(_?[A-Z_]+): dict\[.*\] = \{\}", text)
                  if m.group(1) not in NOT_MEMOS]
    assert found == []
    assert {"xlkit.form.formula.parse", "xlkit.form.compute.calculator", "xlkit.intake.scan._frames",
            "xlkit.intake.xlsx._ADDRESSES", "xlkit.intake.xlsx._workbook", "xlkit.form.placement._LAYOUTS",
            "xlkit.intake.rows._BY_KEYS", "xlkit.intake.narrative._READERS"} <= set(caches.REGISTRY)


def test_a_check_fills_the_memos_and_one_call_empties_them_all(seed_filled, registry):
    before = check_file(seed_filled, registry)
    sizes = caches.sizes()
    assert sizes["xlkit.form.formula.parse"] > 0 and sizes["xlkit.intake.scan._frames"] > 0
    assert sizes["xlkit.intake.xlsx._workbook"] > 0 and sizes["xlkit.form.placement._LAYOUTS"] > 0
    caches.clear()
    assert set(caches.sizes().values()) == {0}
    after = check_file(seed_filled, registry)  # from cold: the same report
    assert (after.status, [i.code for i in after.issues], dict(after.values)) == \
        (before.status, [i.code for i in before.issues], dict(before.values))


def test_a_bounded_dict_empties_when_full_and_a_memo_is_bounded():
    table: BoundedDict[int, int] = BoundedDict("tests.table", 3)
    for key in range(3):
        table.put(key, key)
    assert table.put(9, 9) == 9 and dict(table) == {9: 9}  # full: started again, never grown

    calls = []

    @memo(2)
    def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    assert [double(1), double(1), double(2), double(3), double(1)] == [2, 2, 4, 6, 2]
    assert calls == [1, 2, 3, 1]  # 1 was dropped once two others came
    assert caches.REGISTRY[f"{__name__}.test_a_bounded_dict_empties_when_full_and_a_memo_is_bounded.<locals>.double"] is double
    del caches.REGISTRY["tests.table"], caches.REGISTRY[f"{__name__}.{double.__qualname__}"]


def test_what_a_memo_shares_cannot_be_changed(seed_filled, layout):
    inputs, sources, canonical = formula_inputs(layout), formula_sources(layout), canonical_formulas(layout)
    with pytest.raises(TypeError):
        inputs["x"] = frozenset()  # type: ignore[index]
    with pytest.raises(TypeError):
        sources["x"] = frozenset()  # type: ignore[index]
    with pytest.raises(TypeError):
        canonical["x"] = ""  # type: ignore[index]
    package = open_package(seed_filled)
    try:
        located = locate(XlsxReader(package), layout)
        assert located is locate(XlsxReader(package), layout)  # one per workbook part, shared by its files
    finally:
        package.close()
    with pytest.raises(dataclasses.FrozenInstanceError):
        located.displaced = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        located.cells["x"] = ("S", 0, 0)  # type: ignore[index]
    assert isinstance(located.moved, tuple) and isinstance(located.missing_sheets, tuple)
