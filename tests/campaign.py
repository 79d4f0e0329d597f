"""Helpers shared by the campaign tests (a module of its own: `conftest` is ambiguous with tests/interop)."""

from __future__ import annotations

import shutil
from pathlib import Path

SEED_CODE = "430600301"  # the seed unit in samples/roster.csv


def fresh_copy(returned: Path, tmp_path: Path) -> Path:
    """A copy of the returned folder a test may break."""
    target = tmp_path / "in"
    shutil.copytree(returned, target)
    return target
