"""Writing files so that a reader never sees half of one: build beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def temporary_beside(target: Path) -> Iterator[Path]:
    """A fresh temporary path in the target's folder (same file system, so `os.replace` is atomic); removed afterwards
    unless the caller moved it. Permissions follow the umask, as a plainly created file's would."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(suffix=target.suffix, prefix=".xlkit-", dir=target.parent)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    try:
        yield Path(name)
    finally:
        if os.path.exists(name):
            os.unlink(name)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Write to the yielded path; on success it replaces `target`, on any error `target` is left untouched."""
    target = Path(target)
    with temporary_beside(target) as tmp:
        yield tmp
        os.replace(tmp, target)
