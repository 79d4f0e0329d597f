"""Which files an input list names: files as given, folders searched."""

from __future__ import annotations

import os
from pathlib import Path


def collect_files(inputs: list[str | Path]) -> list[Path]:
    """Files given, and every entry found in folders given (any name or kind: a unit's .xls, .pdf, a FIFO or a
    dangling link must be reported, not skipped); each once, in a stable order. Links to folders are not followed."""
    seen: set[str] = set()
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        found = _walk(path) if path.is_dir() and not path.is_symlink() else [path]
        for p in found:
            key = os.path.realpath(p)  # never raises, even for a symlink loop
            if key not in seen:
                seen.add(key)
                out.append(p)
    return out


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        found.extend(Path(root) / name for name in files)
        found.extend(Path(root) / name for name in dirs if (Path(root) / name).is_symlink())  # a link to a folder, or a loop
    return sorted(found)


def display_name(path: str | Path) -> str:
    """A file name that can always be printed and written: bytes that are not UTF-8 (a GBK name from a Windows
    archive) are decoded as GB18030, or else escaped."""
    raw = os.fsencode(path)
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")
