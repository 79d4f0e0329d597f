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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
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
