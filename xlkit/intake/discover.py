"""Which files an input list names: files as given, folders searched."""

from __future__ import annotations

from pathlib import Path

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def collect_files(inputs: list[str | Path]) -> list[Path]:
    """Files given, and .xlsx/.xlsm found in directories given; each once, in a stable order."""
    seen: set[Path] = set()
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in WORKBOOK_SUFFIXES) if path.is_dir() else [path]
        for p in found:
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out
