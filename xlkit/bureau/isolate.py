"""Run a function over many items in worker processes, each item isolated from the others.

A worker that crashes (even aborting the interpreter), exceeds its time or
memory bound fails only the item it was on: it is replaced and the run goes on.
A shared process pool would instead break for every later item.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import gc
import multiprocessing
import os
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h

try:
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]


@dataclass
class Outcome:
    index: int
    ok: bool
    value: Any = None
    failure: str = ""  # why the item failed, in Chinese for the report: "读取超时（超过 60 秒）", …


def die_with_parent(parent: int) -> None:
    """A worker must not outlive the process that started it, even one killed with SIGKILL (its pipe may stay open
    in a sibling): Linux kills it with its parent."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # libc is already loaded: no lookup
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def messages(conn: Connection) -> Iterator[Any]:
    """What the parent sends, until it says stop (None) or goes away."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        yield message


def _worker(conn: Connection, func: Callable[[Any], Any], memory_bytes: int | None, parent: int) -> None:
    die_with_parent(parent)
    gc.freeze()  # what the parent built (specs, layouts) is never garbage here: the collector skips it, pages stay shared
    gc.disable()  # an item makes many short-lived objects and few cycles: collected between items, not during them
    faulthandler.disable()  # a dying worker is reported by the supervisor, not by a stack dump
    if memory_bytes and resource is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    for count, (index, item) in enumerate(messages(conn), start=1):
        if count % COLLECT_EVERY == 0:
            gc.collect(2 if count % (COLLECT_EVERY * FULL_EVERY) == 0 else 1)
        try:
            conn.send((index, True, func(item), ""))
        except MemoryError:
            conn.send((index, False, None, "读取时超出内存上限"))
        except BaseException as exc:  # the item failed, the worker lives on
            last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
            where = f"，{os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
            conn.send((index, False, None, f"读取程序内部错误（{type(exc).__name__}{where}）"))


COLLECT_EVERY = 256  # items between two collections of a worker's young cyclic garbage (what the last items made)
# A full collection also walks what lives on (layouts, generated formulas, caches: some 150,000 objects, 60 ms, which
# every 256 files was a quarter of a millisecond a file); it runs one time in this many, for long-lived objects that died
FULL_EVERY = 16
DEPTH = 2  # items sent ahead to a worker: it starts the next one while the parent takes in the last answer


@dataclass
class _Slot:
    process: Any
    conn: Connection
    queue: deque[tuple[int, Any]] = field(default_factory=deque)  # sent, not yet answered; the first is being read
    started: float = 0.0  # when the worker began the first item of the queue
    key: Hashable = None  # the affinity group it takes items from

    @property
    def index(self) -> int | None:
        return self.queue[0][0] if self.queue else None


SHARE_FROM = 16  # items left in a group before an idle worker joins the one on it: a second set-up (~30 ms) pays


class _Pending:
    """Items not yet sent, in groups by affinity key, each group in item order; without keys, one group (plain
    first-come order). A worker keeps to its group. One whose group is done takes the largest group no busy worker
    is on (the largest first, so that the last ones are short), else joins the busy one with most items left if it
    has at least SHARE_FROM, else waits: the worker on it finishes it sooner than a second one could set it up."""

    def __init__(self, items: list[Any], keys: Sequence[Hashable] | None):
        if keys is not None and len(keys) != len(items):
            raise ValueError("one affinity key per item")
        self.plain = keys is None
        self.key_of: Sequence[Hashable] = keys if keys is not None else [None] * len(items)
        self.groups: dict[Hashable, deque[tuple[int, Any]]] = {}
        for entry, key in zip(enumerate(items), self.key_of, strict=True):
            self.groups.setdefault(key, deque()).append(entry)
        self.order = deque(sorted(self.groups, key=lambda k: -len(self.groups[k])))  # largest first, ties in item order

    def take(self, slot: _Slot, slots: list[_Slot]) -> tuple[int, Any] | None:
        group = self.groups.get(slot.key)
        if not group:
            key = self._choose(slot, slots)
            if key is None:
                return None
            slot.key, group = key[0], self.groups[key[0]]
        return group.popleft()

    def _choose(self, slot: _Slot, slots: list[_Slot]) -> tuple[Hashable] | None:
        """(key,) of the group `slot` goes on with; None: it waits."""
        busy = {s.key for s in slots if s is not slot and s.queue}
        while self.order and not self.groups.get(self.order[0]):
            self.order.popleft()  # groups are done in this order: the exhausted ones gather at its front
        for key in self.order:  # passes over at most the busy workers' groups, and groups emptied out of turn
            if key not in busy and self.groups.get(key):
                return (key,)
        left = [(len(self.groups[key]), key) for key in busy if self.groups.get(key)]
        if not left:
            return None
        count, key = max(left, key=lambda pair: pair[0])
        return (key,) if self.plain or count >= SHARE_FROM else None

    def put_back(self, entries: Iterable[tuple[int, Any]]) -> None:
        """Items sent to a worker that died: next in line again, in their order."""
        for index, item in reversed(list(entries)):
            key = self.key_of[index]
            self.groups.setdefault(key, deque()).appendleft((index, item))
            self.order.appendleft(key)  # a second entry for a key already listed is passed over once empty


class _Supervisor:
    """Keeps `jobs` workers busy, one item each; replaces a worker that dies or overruns."""

    def __init__(self, func: Callable[[Any], Any], timeout: float, memory_mb: int | None,
                 on_outcome: Callable[[Outcome], None] | None):
        self.func = func
        self.pending = _Pending([], None)
        self.timeout = timeout
        self.on_outcome = on_outcome
        self.outcomes: dict[int, Outcome] = {}
        self.context: Any = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        self.memory_bytes = _memory_bound(memory_mb)
        self.slots: list[_Slot] = []

    def run(self, items: Iterable[Any], jobs: int, affinity: Sequence[Hashable] | None = None) -> list[Outcome]:
        """Every item's outcome, in their order. The workers stay for the next call (`stop` ends them); one that
        died while idle is replaced before it is given anything. `affinity`: a key per item (see `_Pending`)."""
        items = list(items)
        self.pending = _Pending(items, affinity)
        self.outcomes = {}
        for slot in [s for s in self.slots if not s.process.is_alive()]:
            slot.process.join()
            slot.conn.close()
            self.slots.remove(slot)
        while len(self.slots) < min(jobs, len(items)):
            self.slots.append(self.start())
        for slot in self.slots:
            self.feed(slot)
        while any(s.index is not None for s in self.slots):
            self.wait_once()
        return [self.outcomes[i] for i in sorted(self.outcomes)]

    def start(self) -> _Slot:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child, self.func, self.memory_bytes, os.getpid()), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def finish(self, outcome: Outcome) -> None:
        self.outcomes[outcome.index] = outcome
        if self.on_outcome:
            self.on_outcome(outcome)

    def feed(self, slot: _Slot) -> None:
        while len(slot.queue) < DEPTH:
            entry = self.pending.take(slot, self.slots)
            if entry is None:
                return
            index, item = entry
            if not slot.queue:
                slot.started = time.monotonic()
            slot.queue.append((index, item))
            try:
                slot.conn.send((index, item))
            except OSError:  # the worker died on an item sent before: noticed at the next wait, this one goes on
                return

    def replace(self, slot: _Slot, reason: str) -> _Slot:
        """The item the worker was on fails with `reason`; the items sent after it go to a fresh worker."""
        assert slot.index is not None
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.conn.close()
        self.finish(Outcome(slot.index, False, failure=reason))
        slot.queue.popleft()
        self.pending.put_back(slot.queue)
        slot.queue.clear()  # the dead worker holds its group no longer: the fresh one may take it up
        fresh = self.start()
        self.feed(fresh)
        return fresh

    def wait_once(self) -> None:
        """Wait for the first answer or the nearest deadline, then collect answers and replace dead or late workers."""
        busy = [s for s in self.slots if s.index is not None]
        wait_for = max(0.0, min(s.started + self.timeout for s in busy) - time.monotonic())
        ready = wait([s.conn for s in busy], timeout=wait_for)
        for position, slot in enumerate(self.slots):
            if slot.index is None:
                continue
            if slot.conn in ready:
                try:
                    index, ok, value, failure = slot.conn.recv()
                except (EOFError, OSError):
                    slot.process.join(timeout=5)
                    code = slot.process.exitcode
                    reason = f"读取进程意外终止（信号 {-code}）" if code and code < 0 else f"读取进程意外退出（代码 {code}）"
                    self.slots[position] = self.replace(slot, reason)
                    continue
                slot.queue.popleft()
                slot.started = time.monotonic()  # the worker went on to the next item as it sent this answer
                self.finish(Outcome(index, ok, value, failure))
                self.feed(slot)
            elif time.monotonic() - slot.started >= self.timeout:
                self.slots[position] = self.replace(slot, f"读取超时（超过 {self.timeout:g} 秒）")
        for slot in self.slots:
            if not slot.queue:  # a worker that waited may take a group now (its worker went on to another)
                self.feed(slot)

    def stop(self) -> None:
        for slot in self.slots:
            with contextlib.suppress(OSError, ValueError):
                slot.conn.send(None)
        for slot in self.slots:
            slot.process.join(timeout=5)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()


def run_isolated(
    func: Callable[[Any], Any],
    items: Iterable[Any],
    jobs: int,
    timeout: float = 120.0,
    memory_mb: int | None = 2048,
    on_outcome: Callable[[Outcome], None] | None = None,
    affinity: Sequence[Hashable] | None = None,
) -> list[Outcome]:
    """Outcomes in the order of `items`; `func` must be importable (module-level) for the spawn start method.
    `affinity`, a key per item: items of one key go to one worker one after another, as far as keeping every
    worker busy allows (what a worker sets up for the first serves the rest: a form's layout). Without it, items
    go out in their order: the plain path, which gives the same outcomes."""
    supervisor = _Supervisor(func, timeout, memory_mb, on_outcome)
    try:
        return supervisor.run(items, jobs, affinity)
    finally:
        supervisor.stop()


class Workers:
    """`run_isolated`'s workers kept from one batch to the next, for a long-lived server: each item is as isolated
    as there, and what a worker set up for one item (a form's layout) serves the items after it, instead of every
    batch forking fresh workers that set it all up again."""

    def __init__(self, func: Callable[[Any], Any], jobs: int, timeout: float = 120.0, memory_mb: int | None = 2048):
        self.jobs = jobs
        self._supervisor = _Supervisor(func, timeout, memory_mb, None)

    def run(self, items: Iterable[Any], on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        self._supervisor.on_outcome = on_outcome
        return self._supervisor.run(items, self.jobs)

    def close(self) -> None:
        self._supervisor.stop()


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
