"""Whole commands as a user runs them, against python-calamine reading the same files (issue #27).

`xlkit check DIR --json` and `xlkit consolidate DIR -o … --csv …`, each a fresh process (start-up, reader processes,
JSON or summary and CSV all count), beside python-calamine reading every sheet of the same files in one process
(its loop only: the baseline the issue names, without its start-up). The three run alternately, `--rounds` times,
so that the ratio is taken in the same minutes on a machine whose speed drifts; `--before TREE` runs the two xlkit
commands with the code of another source tree too (`git archive <commit> | tar -x -C TREE`), alternately with this
one: a before/after pair. Prints each run, then the best of each: ms per file, the ratio to calamine, peak memory.
Usage: python bench/commands_bench.py [--n 1000] [--rounds 3] [--jobs 2] [--before TREE] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from consolidate_bench import generate, run_measured  # noqa: E402  (beside this script)

CALAMINE = """
import sys, time
from pathlib import Path
from python_calamine import CalamineWorkbook
files = sorted(Path(sys.argv[1]).glob("*.xlsx"))
start = time.perf_counter()
for path in files:
    book = CalamineWorkbook.from_path(str(path))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
print(time.perf_counter() - start)
"""


def calamine_seconds(folder: Path) -> float:
    """python-calamine's loop over every file, every sheet's values, in one process."""
    out = subprocess.run([sys.executable, "-c", CALAMINE, str(folder)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def children_cpu() -> float:
    """CPU seconds of every process this one has waited for, and theirs (the readers of an xlkit command)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(tree: Path, args: list[str]) -> tuple[float, int, int, float]:
    """`python -m xlkit …` run from `tree` (its own xlkit package is the one imported): wall seconds, peak PSS, RSS,
    and CPU seconds of the whole process tree (less moved than the wall by other work on the machine)."""
    cwd, cpu = Path.cwd(), children_cpu()
    os.chdir(tree)
    try:
        return (*run_measured([sys.executable, "-m", "xlkit", *args]), children_cpu() - cpu)
    finally:
        os.chdir(cwd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="filled unit workbooks (15 shapes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--before", type=Path, help="another source tree whose xlkit runs alternately with this one")
    parser.add_argument("--reuse", action="store_true", help="reuse generated files from an earlier run")
    parser.add_argument("--no-consolidate", action="store_true", help="time `xlkit check` only")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()  # the commands run from each tree
    folder = args.workdir / f"units_{args.n}"
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; "
          f"jobs {args.jobs}; {args.n} files in {folder}")
    generate(folder, args.n, args.jobs, args.reuse)
    trees = {"now": ROOT, **({"before": args.before.resolve()} if args.before else {})}
    runs: dict[str, list[tuple[float, int, int, float]]] = {}
    out = args.workdir / "commands"
    out.mkdir(parents=True, exist_ok=True)
    for round_ in range(1, args.rounds + 1):
        print(f"round {round_} (load average {os.getloadavg()[0]:.1f})")
        seconds = calamine_seconds(folder)
        runs.setdefault("calamine", []).append((seconds, 0, 0, seconds))
        print(f"  calamine, every sheet, 1 process: {seconds / args.n * 1000:.2f} ms/file")
        for name, tree in trees.items():
            result = measured(tree, ["check", str(folder), "--json", "--jobs", str(args.jobs)])
            runs.setdefault(f"check {name}", []).append(result)
            print(f"  xlkit check --json ({name}): {result[0] / args.n * 1000:.2f} ms/file, CPU {result[3] / args.n * 1000:.2f} ms/file, "
                  f"peak {result[1] / 2**20:.0f} MiB PSS")
            if args.no_consolidate:
                continue
            result = measured(tree, ["consolidate", str(folder), "-o", str(out / f"summary_{name}.xlsx"),
                                     "--csv", str(out / f"summary_{name}.csv"), "--jobs", str(args.jobs)])
            runs.setdefault(f"consolidate {name}", []).append(result)
            print(f"  xlkit consolidate ({name}): {result[0] / args.n * 1000:.2f} ms/file, CPU {result[3] / args.n * 1000:.2f} ms/file, "
                  f"peak {result[1] / 2**20:.0f} MiB PSS")
    calamine = min(r[0] for r in runs["calamine"]) / args.n * 1000
    print()
    print(f"N = {args.n:,}, {args.rounds} rounds alternating, best of each; load average now {os.getloadavg()[0]:.1f}")
    print("| what | wall ms/file (best; all) | ÷ calamine | CPU ms/file, all processes (best) | peak memory PSS (RSS summed) |")
    print("|---|---|---|---|---|")
    for name, results in runs.items():
        ms = sorted(r[0] / args.n * 1000 for r in results)
        best = min(results, key=lambda r: r[0])
        cpu = min(r[3] for r in results) / args.n * 1000
        memory = f"{best[1] / 2**20:.0f} MiB ({best[2] / 2**20:.0f} MiB)" if best[1] else "—"
        print(f"| {name} | {ms[0]:.2f}; {', '.join(f'{m:.2f}' for m in ms)} | {ms[0] / calamine:.2f} | {cpu:.2f} | {memory} |")

if __name__ == "__main__":
    main()
