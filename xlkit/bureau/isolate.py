"""Run a function over many items in worker processes, each item isolated from the others.

A worker that crashes (even aborting the interpreter), exceeds its time or
memory bound fails only the item it was on: it is replaced and the run goes on.
A shared process pool would instead break for every later item.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]


@dataclass
class Outcome:
    index: int
    ok: bool
    value: Any = None
    failure: str = ""  # why the item failed: "crashed (signal 6)", "timed out after 60 s", "MemoryError", …


def _worker(conn: Connection, func: Callable[[Any], Any], memory_bytes: int | None) -> None:
    faulthandler.disable()  # a dying worker is reported by the supervisor, not by a stack dump
    if memory_bytes and resource is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, item = message
        try:
            conn.send((index, True, func(item), ""))
        except MemoryError:
            conn.send((index, False, None, "MemoryError: the memory bound was exceeded"))
        except BaseException as exc:  # the item failed, the worker lives on
            last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            where = f" at {os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
            conn.send((index, False, None, f"{type(exc).__name__}: {exc}{where}"))


@dataclass
class _Slot:
    process: Any
    conn: Connection
    index: int | None = None
    started: float = 0.0


def run_isolated(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    jobs: int,
    timeout: float = 120.0,
    memory_mb: int | None = 2048,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Outcomes in the order of `items`; `func` must be importable (module-level) for the spawn start method."""
    pending = list(enumerate(items))
    pending.reverse()
    outcomes: dict[int, Outcome] = {}
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    memory_bytes = _memory_bound(memory_mb)
    slots: list[_Slot] = []

    def start() -> _Slot:
        parent, child = context.Pipe()
        process = context.Process(target=_worker, args=(child, func, memory_bytes), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def finish(outcome: Outcome) -> None:
        outcomes[outcome.index] = outcome
        if on_outcome:
            on_outcome(outcome)

    def feed(slot: _Slot) -> None:
        if pending:
            index, item = pending.pop()
            slot.index, slot.started = index, time.monotonic()
            slot.conn.send((index, item))
        else:
            slot.index = None

    def replace(slot: _Slot, reason: str) -> _Slot:
        assert slot.index is not None
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.conn.close()
        finish(Outcome(slot.index, False, failure=reason))
        fresh = start()
        feed(fresh)
        return fresh

    try:
        for _ in range(max(1, min(jobs, len(pending)))):
            slot = start()
            slots.append(slot)
            feed(slot)
        while any(s.index is not None for s in slots):
            busy = [s for s in slots if s.index is not None]
            now = time.monotonic()
            wait_for = max(0.0, min(s.started + timeout for s in busy) - now)
            ready = wait([s.conn for s in busy], timeout=wait_for)
            for position, slot in enumerate(slots):
                if slot.index is None:
                    continue
                if slot.conn in ready:
                    try:
                        index, ok, value, failure = slot.conn.recv()
                    except (EOFError, OSError):
                        slot.process.join(timeout=5)
                        code = slot.process.exitcode
                        reason = f"the reader process died (signal {-code})" if code and code < 0 else f"the reader process exited ({code})"
                        slots[position] = replace(slot, reason)
                        continue
                    finish(Outcome(index, ok, value, failure))
                    feed(slot)
                elif time.monotonic() - slot.started >= timeout:
                    slots[position] = replace(slot, f"timed out after {timeout:g} s")
    finally:
        for slot in slots:
            with contextlib.suppress(OSError, ValueError):
                slot.conn.send(None)
        for slot in slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
    return [outcomes[i] for i in sorted(outcomes)]


def _memory_bound(memory_mb: int | None) -> int | None:
    """Address-space bound of a worker: what this process already maps plus `memory_mb`."""
    if not memory_mb or resource is None:
        return None
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
        current = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None
    return current + memory_mb * 1024 * 1024
