"""Every memo the process keeps, in one registry: what is remembered, how much, and one way to forget it all.

A returned file of a known form repeats what the last one held: the same formulas, names, addresses, workbook
part and sheet frames. The reader remembers these across files, and the form layer remembers its layouts and
calculators. Each memo is bounded (hostile input can only cost the sharing, never the memory), is made here by one
of two means, and is listed in `REGISTRY` under its module's name:

- `memo(size)`: a function's results by its arguments (functools' LRU cache, in C);
- `BoundedDict(name, size)`: a dict read directly where a function call per read would cost (addresses read per field),
  or keyed by something other than the arguments; emptied when full rather than grown.

What a memo hands to more than one caller is immutable (tuples, frozensets, mapping proxies, frozen dataclasses),
so no caller can change what the next file sees. `clear()` empties them all: after a spec's file changes on disk
(`form.load`), and between tests that need a cold process.

One memo outlives the process: `proven`, for a check that is slow, pure, and either passes or raises (a spec's
validation at its largest row counts). It remembers only a pass, keyed by what was checked and by xlkit's own code.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

K = TypeVar("K")
V = TypeVar("V")
F = TypeVar("F", bound=Callable[..., Any])


class _Clearable(Protocol):
    def cache_clear(self) -> None: ...


REGISTRY: dict[str, _Clearable] = {}  # "module.name" -> the memo


def memo(size: int, typed: bool = False) -> Callable[[F], F]:
    """A bounded memo of a function's results (used as a decorator, or as `memo(n)(function)` for a second name
    that remembers while the plain function does not)."""

    def register(function: F) -> F:
        cached = functools.lru_cache(maxsize=size, typed=typed)(function)
        REGISTRY[f"{function.__module__}.{function.__qualname__}"] = cached
        return cached  # type: ignore[return-value]  # same signature, plus cache_info and cache_clear

    return register


class BoundedDict(dict[K, V]):
    """A bounded dict, read as a dict (its get is dict's, in C); `put` empties it when full."""

    def __init__(self, name: str, size: int):
        super().__init__()
        self.size = size
        REGISTRY[name] = self

    def put(self, key: K, value: V) -> V:
        if len(self) >= self.size:
            self.clear()
        self[key] = value
        return value

    def cache_clear(self) -> None:
        self.clear()


def clear() -> None:
    """Forget everything every memo holds."""
    for cached in REGISTRY.values():
        cached.cache_clear()


def sizes() -> dict[str, int]:
    """How many entries each memo holds now, for a maintainer looking at a process's memory."""
    return {name: len(cached) if isinstance(cached, dict) else cached.cache_info().currsize  # type: ignore[attr-defined]
            for name, cached in REGISTRY.items()}


CACHE_ENV = "XLKIT_CACHE_DIR"  # where `proven` keeps its marks; set empty, nothing is kept (every check runs)


def proven(kind: str, content: str, check: Callable[[], None]) -> None:
    """Run `check` unless this xlkit, to the byte, has run it to its end on this `content` before. A pass leaves an
    empty mark file named by a digest of both (under $XLKIT_CACHE_DIR, else the user's cache folder); a failure
    leaves none, so it fails again every time. A folder that cannot be written costs only the time."""
    mark = _mark(kind, content)
    if mark is not None and mark.exists():
        return
    check()
    if mark is not None:
        with contextlib.suppress(OSError):
            mark.parent.mkdir(parents=True, exist_ok=True)
            mark.touch()


def cache_folder() -> Path | None:
    """The folder of `proven`'s marks; None when the environment says to keep none."""
    given = os.environ.get(CACHE_ENV)
    if given is not None:
        return Path(given) if given else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xlkit"


def _mark(kind: str, content: str) -> Path | None:
    folder = cache_folder()
    if folder is None:
        return None
    digest = hashlib.sha256(f"{_code_digest()}\0{kind}\0{content}".encode()).hexdigest()
    return folder / "proven" / kind / digest


@functools.cache
def _code_digest() -> str:
    """Every source file of the xlkit package, and Python's version: a mark made by other code does not count."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()
