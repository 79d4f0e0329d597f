"""The summary workbook's share of `xlkit consolidate`, its fast path and its plain path run alternately.

Each run is the whole command in a fresh process (start-up, reading and checking, the account, the summary and the
CSV written after it), timed end to end with the peak memory of its process tree as `consolidate_bench` measures
it; inside, `write_summary` is timed, the fast path (`fast=True`, the default) or the plain one (`fast=False`).
Usage: python bench/consolidate_bench.py --summary-share [--sizes 1000,10000] [--rounds 2] [--reuse] [--in-process]
(or python bench/summary_share.py with the same options). `--in-process`: write_summary alone, both paths alternately
on one consolidation read once (no command, no CSV beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# the command as `python -m xlkit` runs it, with write_summary and the CSV's writing timed
WRAPPER = """
import atexit, json, os, sys, time
import xlkit.bureau.consolidate as consolidate
import xlkit.bureau.summary as summary
fast, times = os.environ["XLKIT_BENCH_FAST"] == "1", {}
def timed(name, function, **extra):
    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **extra, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.perf_counter() - start
    return run
summary.write_summary = timed("summary", summary.write_summary, fast=fast)
consolidate.write_wide_csv = timed("csv", consolidate.write_wide_csv)
atexit.register(lambda: open(os.environ["XLKIT_BENCH_TIMES"], "w").write(json.dumps(times)))
from xlkit.cli import main
main(prog_name="xlkit")
"""


def measure(n: int, folder: Path, workdir: Path, jobs: int, fast: bool) -> dict[str, float]:
    """One run of the whole command: seconds end to end, in write_summary and in the CSV's writing; peak PSS and RSS."""
    from consolidate_bench import run_measured

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        times_path = handle.name
    os.environ.update(XLKIT_BENCH_FAST="1" if fast else "0", XLKIT_BENCH_TIMES=times_path)
    try:
        elapsed, pss, rss = run_measured([sys.executable, "-c", WRAPPER, "consolidate", str(folder), "-o", str(workdir / f"summary_{n}.xlsx"),
                                          "--csv", str(workdir / f"summary_{n}.csv"), "--jobs", str(jobs)])
        times = json.loads(Path(times_path).read_text())
    finally:
        os.unlink(times_path)
    return {"whole": elapsed, "summary": times["summary"], "csv": times.get("csv", 0.0), "pss": pss, "rss": rss}


def summary_share(sizes: list[int], rounds: int, jobs: int, workdir: Path, reuse: bool) -> None:
    from consolidate_bench import generate

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; jobs {jobs}")
    rows = []
    for n in sizes:
        folder = workdir / f"units_{n}"
        print(f"generating {n} filled unit workbooks in {folder} …")
        generate(folder, n, jobs, reuse)
        for k in range(rounds):
            for fast in (True, False) if k % 2 == 0 else (False, True):  # alternately, so drift falls on both
                print(f"N = {n}, round {k + 1}, {'fast' if fast else 'plain'} path:")
                rows.append((n, k + 1, fast, measure(n, folder, workdir, jobs, fast), os.getloadavg()[0]))
    print()
    print("| N | round | summary path | xlkit consolidate, whole command | write_summary | share | the CSV after it "
          "| peak memory (PSS; RSS summed) | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, k, fast, m, load in rows:
        print(f"| {n:,} | {k} | {'fast' if fast else 'plain'} | {m['whole']:.1f} s ({m['whole'] / n * 1000:.2f} ms/file) "
              f"| {m['summary']:.2f} s | {m['summary'] / m['whole']:.1%} | {m['csv']:.2f} s "
              f"| {m['pss'] / 2**20:.0f} MiB ({m['rss'] / 2**20:.0f} MiB) | {load:.1f} |")


def in_process(sizes: list[int], rounds: int, jobs: int, workdir: Path, reuse: bool) -> None:
    """write_summary alone, fast and plain path alternately on one consolidation read once (no CSV beside it)."""
    import time

    from consolidate_bench import generate

    from xlkit.bureau.consolidate import consolidate
    from xlkit.bureau.summary import write_summary

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}")
    for n in sizes:
        folder = workdir / f"units_{n}"
        generate(folder, n, jobs, reuse)
        result = consolidate([folder], jobs=jobs)
        for k in range(rounds):
            for fast in (True, False) if k % 2 == 0 else (False, True):
                start = time.perf_counter()
                write_summary(result, workdir / f"summary_{n}.xlsx", fast=fast)
                print(f"| {n:,} | {k + 1} | {'fast' if fast else 'plain'} | {time.perf_counter() - start:.2f} s "
                      f"| {os.getloadavg()[0]:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000", help="numbers of unit workbooks to consolidate")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each path per size, taken alternately")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--reuse", action="store_true", help="reuse generated files from an earlier run of the same code")
    parser.add_argument("--in-process", action="store_true", help="write_summary alone on one consolidation, no command around it")
    args, _rest = parser.parse_known_args(argv)
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    (in_process if args.in_process else summary_share)(sizes, args.rounds, args.jobs, args.workdir, args.reuse)


if __name__ == "__main__":
    main()
