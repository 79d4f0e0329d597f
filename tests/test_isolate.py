"""One bad item never takes others down: aborts, hangs and memory blow-ups fail only themselves."""

from __future__ import annotations

import gc
import os
import sys
import time
import weakref
from pathlib import Path

from xlkit.bureau import isolate
from xlkit.bureau.isolate import COLLECT_EVERY, Workers, run_isolated


def behave(item: str) -> str:
    if item == "abort":
        os.abort()  # what python-calamine did on a hostile file: the whole process goes
    if item == "hang":
        time.sleep(60)
    if item == "memory":
        _ = bytearray(8 * 1024**3)
    if item == "raise":
        raise ValueError("bad item")
    if item == "pid":
        return str(os.getpid())
    return item.upper()


def test_abort_hang_memory_and_exceptions_fail_only_their_item():
    items = ["a", "abort", "b", "hang", "c", "memory", "d", "raise", "e"]
    seen = []
    outcomes = run_isolated(behave, items, jobs=2, timeout=3, memory_mb=512, on_outcome=lambda o: seen.append(o.index))
    assert [o.index for o in outcomes] == list(range(len(items)))
    assert sorted(seen) == list(range(len(items)))
    by_item = dict(zip(items, outcomes, strict=True))
    for good in "abcde":
        assert by_item[good].ok and by_item[good].value == good.upper()
    assert not by_item["abort"].ok and "信号 6" in by_item["abort"].failure
    assert not by_item["hang"].ok and "读取超时（超过 3 秒）" in by_item["hang"].failure
    assert not by_item["memory"].ok and "内存" in by_item["memory"].failure
    assert not by_item["raise"].ok and "读取程序内部错误（ValueError" in by_item["raise"].failure


def test_single_job_and_no_items():
    assert [o.value for o in run_isolated(behave, ["x", "y"], jobs=1)] == ["X", "Y"]
    assert run_isolated(behave, [], jobs=2) == []


def test_workers_die_with_a_killed_parent():
    """SIGKILL of the process that runs the workers (a receive stopped hard) leaves no worker behind."""
    import signal
    import subprocess
    import sys

    code = ("import sys, time; sys.path.insert(0, 'tests'); from test_isolate import behave; "
            "from xlkit.bureau.isolate import run_isolated; run_isolated(behave, ['hang', 'hang'], jobs=2, timeout=60)")
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:  # bounded: the workers start within seconds
        time.sleep(0.1)
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == parent.pid]
    assert len(workers) == 2, "the workers did not start"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)], "workers outlived their parent"


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class _Cycle:
    def __init__(self) -> None:
        self.me = self


_LIVE: weakref.WeakSet[_Cycle] = weakref.WeakSet()


def make_cycle(_item: int) -> tuple[int, bool]:
    _LIVE.add(_Cycle())  # garbage at once, yet only a collection frees it
    return len(_LIVE), gc.isenabled()


def test_a_worker_collects_cyclic_garbage_between_items_not_during_them():
    outcomes = run_isolated(make_cycle, range(3 * COLLECT_EVERY), jobs=1)
    live = [o.value[0] for o in outcomes]
    assert not any(o.value[1] for o in outcomes)  # no collection in the middle of an item
    assert max(live) <= COLLECT_EVERY and live[-1] < live[COLLECT_EVERY - 2]  # freed every COLLECT_EVERY items


_KEPT: list[_Cycle] = []


def keep_a_while(item: int) -> int:
    """Item 0 makes a cycle that lives through a young collection (so it grows old), then dies at item 300."""
    if item == 0:
        _KEPT.append(_Cycle())
        _LIVE.add(_KEPT[0])
    elif item == 300:
        _KEPT.clear()
    return len(_LIVE)


def test_old_cyclic_garbage_is_collected_by_the_occasional_full_collection(monkeypatch):
    monkeypatch.setattr(isolate, "FULL_EVERY", 3)  # young collections at items 256 and 512, a full one at 768
    live = [o.value for o in run_isolated(keep_a_while, range(4 * COLLECT_EVERY), jobs=1)]
    assert live[299] == 1  # grown old at 256, dead at 300
    if sys.version_info < (3, 14):  # generational collectors: a young collection leaves old objects alone
        assert live[600] == 1  # (3.14's incremental collector may take some of them in any collection)
    assert live[800] == 0  # the full one at 768 frees it


def test_kept_workers_serve_batch_after_batch_and_stay_isolated():
    """A server's readers: the same processes from one batch to the next (what they set up is kept), a bad item
    still fails only itself, and a worker that died while idle is replaced before it is given anything."""
    workers = Workers(behave, jobs=2, timeout=3, memory_mb=512)
    try:
        first = {o.value for o in workers.run(["pid", "pid", "pid", "pid"])}
        assert len(first) == 2 and all(o.ok for o in workers.run(["a"]))
        assert {o.value for o in workers.run(["pid"] * 6)} == first  # kept, not forked again
        outcomes = workers.run(["a", "abort", "b", "hang", "c"])
        assert [o.value for o in outcomes if o.ok] == ["A", "B", "C"]
        assert "信号 6" in outcomes[1].failure and "读取超时" in outcomes[3].failure
        pids = [int(o.value) for o in workers.run(["pid", "pid", "pid", "pid"])]
        os.kill(pids[0], 9)
        time.sleep(0.5)
        after = workers.run(["pid", "x", "pid", "y"])
        assert all(o.ok for o in after) and pids[0] not in {int(o.value) for o in after if o.value.isdigit()}
        assert workers.run([]) == []
    finally:
        workers.close()


def test_uploads_waiting_together_are_checked_as_one_batch_each_getting_its_own_report(tmp_path):
    """The web checker: threads that ask at once are answered from one batch, each with the reports of its own
    files, in order (a file that is not a workbook gets its own finding, never a neighbour's)."""
    import threading

    from xlkit.campaign.checks import Bounds
    from xlkit.web.checker import Checker

    paths = []
    for k in range(12):
        path = tmp_path / f"file{k}.xlsx"
        path.write_bytes(b"not a workbook %d" % k)
        paths.append(path)
    checker = Checker()
    calls: list[list[str]] = []
    ask = checker._ask

    def recorded(message):  # type: ignore[no-untyped-def]
        calls.append(message[0])
        time.sleep(0.3)  # the checker busy: the other threads queue up meanwhile
        return ask(message)

    checker._ask = recorded  # type: ignore[method-assign]
    answers: dict[int, list[str]] = {}
    try:
        def one(k: int) -> None:
            answers[k] = [Path(r.path).name for r in checker([paths[k], paths[(k + 1) % 12]], (), Bounds())]

        threads = [threading.Thread(target=one, args=(k,)) for k in range(12)]
        for thread in threads:
            thread.start()
            time.sleep(0.01)
        for thread in threads:
            thread.join(60)
    finally:
        checker.close()
    assert {k: v for k, v in answers.items()} == {k: [f"file{k}.xlsx", f"file{(k + 1) % 12}.xlsx"] for k in range(12)}
    assert len(calls) < 12 and sum(len(c) for c in calls) == 24  # batched, every file checked once per ask
