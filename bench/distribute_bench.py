"""Benchmark `distribute` (what `xlkit distribute` and `campaign init` run): ms per workbook for the fast path
(each shape written once, the units' copies personalised, over the cores) and the plain path (every workbook built),
measured alternately in the same run, each in a fresh process, with its peak memory.

The roster is the consolidate bench's: N units of 15 shapes (0–2 sub-units, 3–7 projects), each with its own code
and name. The plain path takes about a quarter of a second a workbook, so by default it runs on the first
--plain-n units (the time per workbook does not depend on N: no state is kept between units).
Usage: python bench/distribute_bench.py [--n 1000] [--plain-n 100] [--rounds 2] [--workdir /tmp/bench_distribute]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_roster(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["unit_code", "unit_name", "parent_name", "sub_units", "projects"])
        for i in range(n):
            writer.writerow([f"B{i:06d}", f"基准单位{i}", f"部门{i % 7}", "；".join(f"所属机构{k}" for k in range(1, 1 + i % 3)), 3 + i % 5])
    return path


def one(path: str, n: int, fast: bool, out: str) -> None:
    """In a fresh process: distribute the roster's first n units; prints JSON (seconds, peak RSS of this process and
    of its largest worker, in MiB)."""
    from xlkit.bureau.distribute import distribute
    from xlkit.bureau.roster import load_roster
    from xlkit.form.load import load_spec

    spec = load_spec()
    roster = load_roster(path)
    roster.units = roster.units[:n]
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    results = distribute(spec, roster, 2019, out, issuer="岳阳市财政局", fast=fast)
    seconds = time.perf_counter() - start
    assert len(results) == n and {r.status for r in results} == {"created"}
    print(json.dumps({"seconds": seconds, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "worker_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--plain-n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_distribute"))
    parser.add_argument("--one", nargs=4, metavar=("ROSTER", "N", "FAST", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one[0], int(args.one[1]), args.one[2] == "fast", args.one[3])
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    roster = write_roster(args.workdir / f"roster_{args.n}.csv", args.n)
    print(f"distribute, N = {args.n} ({os.cpu_count()} cores); plain path on the first {args.plain_n}", flush=True)
    for round_ in range(1, args.rounds + 1):
        for name, n in (("plain", args.plain_n), ("fast", args.n)):
            done = subprocess.run([sys.executable, __file__, "--one", str(roster), str(n), name, str(args.workdir / name)],
                                  capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"round {round_}  {name:<5} {n:>6} workbooks  {figures['seconds'] / n * 1000:8.2f} ms/workbook  "
                  f"peak {figures['peak_mib']:6.0f} MiB (largest worker {figures['worker_peak_mib']:.0f} MiB)", flush=True)
    shutil.rmtree(args.workdir / "plain", ignore_errors=True)
    shutil.rmtree(args.workdir / "fast", ignore_errors=True)


if __name__ == "__main__":
    main()
