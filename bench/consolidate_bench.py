"""Benchmark `xlkit consolidate` end to end against three baselines measured in the same run.

Prints ms per file, ratios and peak memory (summed over the process tree). Baselines: (a) formulas recomputing,
(b) openpyxl reading values, (c) python-calamine reading values, beside xlkit's in-process check of the same files.
Usage: python bench/consolidate_bench.py [--sizes 1000,10000] [--formulas-sample 5] [--jobs 2] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_unit(args: tuple[int, str]) -> None:
    """One filled unit workbook with its own code, name and sub-unit names."""
    from xlkit.demo.sample_data import generate_unit_data
    from xlkit.form.load import load_spec
    from xlkit.form.params import make_params
    from xlkit.form.placement import build_layout
    from xlkit.write.build import write_workbook

    number, folder = args
    spec = load_spec()
    code = f"B{number:06d}"
    subs = [f"所属机构{k}" for k in range(1, 1 + number % 3)]
    params = make_params(spec, {"unit_code": code, "unit_name": f"基准单位{number}", "year": 2019,
                                "parent_name": f"部门{number % 7}"}, {"projects": 3 + number % 5}, {"sub_units": subs})
    layout = build_layout(spec, params)
    write_workbook(layout, generate_unit_data(layout, code), Path(folder) / f"{code}.xlsx")


DISTINCT = 1000  # workbooks built one by one (0.25 s each); beyond them, copies under their own unit code and name


def clone_unit(args: tuple[int, str]) -> None:
    """Unit `number` as a copy of a built unit's workbook with the code and name replaced in every part, so that
    N = 10,000 takes a minute to generate instead of 40 (the values repeat every DISTINCT units)."""
    number, folder = args
    source = number % DISTINCT
    old_code, new_code = f"B{source:06d}".encode(), f"B{number:06d}".encode()
    old_name = re.compile(f"基准单位{source}(?![0-9])".encode())
    new_name = f"基准单位{number}".encode()
    with zipfile.ZipFile(Path(folder) / f"B{source:06d}.xlsx") as original, \
            zipfile.ZipFile(Path(folder) / f"B{number:06d}.xlsx", "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = old_name.sub(new_name, original.read(info).replace(old_code, new_code))
            copy.writestr(info, data, zipfile.ZIP_DEFLATED)


def generate(folder: Path, n: int, jobs: int, reuse: bool) -> None:
    if reuse and folder.exists() and len(list(folder.glob("*.xlsx"))) == n:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    built = folder.parent / f"units_{DISTINCT}"  # the first DISTINCT units of a larger run are those of the N = 1,000 run
    with ProcessPoolExecutor(jobs) as pool:
        if n > DISTINCT and len(list(built.glob("*.xlsx"))) == DISTINCT:
            for path in built.glob("*.xlsx"):
                shutil.copyfile(path, folder / path.name)
        else:
            list(pool.map(make_unit, [(i, str(folder)) for i in range(min(n, DISTINCT))], chunksize=16))
        list(pool.map(clone_unit, [(i, str(folder)) for i in range(DISTINCT, n)], chunksize=64))


def tree_pids(root_pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                children.setdefault(int(handle.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def rss(pids: list[int]) -> int:
    """Summed RSS of processes, in bytes (from /proc/PID/statm: cheap to read)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def pss(pids: list[int]) -> int:
    """Summed PSS of processes, in bytes. PSS counts a page shared by n processes (the readers are forked from the
    parent) as 1/n in each, so the sum is the memory the job really holds; RSS counts it n times. Reading it makes
    the kernel walk every page of each process: about 9 ms of CPU for this job's processes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                total += sum(int(line.split()[1]) * 1024 for line in handle if line.startswith("Pss:"))
        except (OSError, IndexError, ValueError):
            continue
    return total


PAGE = os.sysconf("SC_PAGE_SIZE")


def run_measured(command: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak summed PSS and peak summed RSS of a command and its processes. RSS is sampled every 0.1 s,
    PSS every 0.5 s and the process list every second: PSS at 0.1 s took a tenth of a core from the 2-core run it
    measured (the peak it finds lasts seconds: the unit table grows steadily and the summary takes several)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_pss = peak_rss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_pss, peak_rss
        pids, listed, shared = [process.pid], 0.0, 0.0
        while not done.is_set():
            now = time.perf_counter()
            if now - listed > 1.0:
                pids, listed = tree_pids(process.pid), now
            if now - shared > 0.5:
                peak_pss, shared = max(peak_pss, pss(pids)), now
            peak_rss = max(peak_rss, rss(pids))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - start
    if process.returncode != 0:  # every generated unit must be accepted, or the figures mean nothing
        raise SystemExit(f"command failed ({process.returncode}): {' '.join(command)}\n{output}")
    print("   ", output.strip().splitlines()[-1])
    return elapsed, peak_pss, peak_rss


def baseline_openpyxl(files: list[Path]) -> float:
    import openpyxl

    start = time.perf_counter()
    for path in files:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            for _row in sheet.iter_rows(values_only=True):
                pass
        book.close()
    return (time.perf_counter() - start) / len(files)


def baseline_calamine(files: list[Path]) -> float:
    """python-calamine (Rust) reading every sheet's values: the speed of just reading a workbook."""
    from python_calamine import CalamineWorkbook

    start = time.perf_counter()
    for path in files:
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
    return (time.perf_counter() - start) / len(files)


def check_in_process(files: list[Path]) -> float:
    """xlkit's own check of each file in this process (no reader processes): the figure to set beside calamine's."""
    from xlkit.form.registry import SpecRegistry
    from xlkit.intake.check import check_file

    registry = SpecRegistry.default()
    start = time.perf_counter()
    for path in files:
        check_file(path, registry)
    return (time.perf_counter() - start) / len(files)


def steady_check_and_calamine(files: list[Path], rounds: int = 5) -> tuple[float, float, float]:
    """Seconds per file: xlkit's check in steady state and calamine, best of `rounds` taken alternately (this
    machine's speed drifts from minute to minute), and the first pass, which sets up each shape's layout.

    Steady state is a long run's: every layout set up, its formulas generated (`Calculator.HOT` is lowered so
    that a 200-file sample gets there at once, as a run of thousands does after 64 files of a shape)."""
    from xlkit.form.compute import Calculator

    Calculator.HOT = 1
    first = check_in_process(files)
    calamine, check = [], []
    for _ in range(rounds):
        calamine.append(baseline_calamine(files))
        check.append(check_in_process(files))
    return min(check), min(calamine), first


def baseline_formulas(files: list[Path]) -> float:
    import formulas

    start = time.perf_counter()
    for path in files:
        formulas.ExcelModel().loads(str(path)).finish().calculate()
    return (time.perf_counter() - start) / len(files)


def main() -> None:
    if "--summary-share" in sys.argv[1:]:  # the summary workbook's share of the command instead (bench/summary_share.py)
        from summary_share import main as summary_share

        summary_share([arg for arg in sys.argv[1:] if arg != "--summary-share"])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--summary-share", action="store_true",
                        help="measure the summary workbook's share of `xlkit consolidate` instead, fast and plain path alternately "
                             "(--rounds N; see bench/summary_share.py)")
    parser.add_argument("--sizes", default="1000,10000", help="numbers of unit workbooks to consolidate, one run each")
    parser.add_argument("--formulas-sample", type=int, default=5, help="files timed with the formulas baseline (slow)")
    parser.add_argument("--openpyxl-sample", type=int, default=300, help="files timed with the openpyxl baseline")
    parser.add_argument("--check-sample", type=int, default=200, help="files timed in process with calamine and check_file")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--reuse", action="store_true", help="reuse generated files from an earlier run of the same code")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",")})
    xlkit = [sys.executable, "-m", "xlkit"]
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; jobs {args.jobs}")
    results = {}
    for n in sizes:
        folder = args.workdir / f"units_{n}"
        print(f"generating {n} filled unit workbooks in {folder} …")
        generate(folder, n, args.jobs, args.reuse)
        print(f"xlkit consolidate, N = {n}:")
        elapsed, pss, rss = run_measured([*xlkit, "consolidate", str(folder), "-o", str(args.workdir / f"summary_{n}.xlsx"),
                                          "--csv", str(args.workdir / f"summary_{n}.csv"), "--jobs", str(args.jobs)])
        results[n] = (elapsed / n * 1000, pss, rss)
    files = sorted((args.workdir / f"units_{sizes[0]}").glob("*.xlsx"))
    sample = files[: args.openpyxl_sample]
    print(f"baseline (b) openpyxl read-only, all values, {len(sample)} files, 1 process …")
    openpyxl_ms = baseline_openpyxl(sample) * 1000
    checked = files[: args.check_sample]
    print(f"baseline (c) python-calamine, all values, and xlkit check_file in process, {len(checked)} files, best of 5 …")
    check_s, calamine_s, first_s = steady_check_and_calamine(checked)
    check_ms, calamine_ms, first_ms = check_s * 1000, calamine_s * 1000, first_s * 1000
    sample = files[: args.formulas_sample]
    print(f"baseline (a) formulas ExcelModel().loads().finish().calculate(), {len(sample)} files, 1 process …")
    formulas_ms = baseline_formulas(sample) * 1000
    print()
    print(f"| N | xlkit consolidate, end to end ({args.jobs} processes) | peak memory (PSS; RSS summed) | vs (a) formulas "
          "| vs (b) openpyxl | vs (c) calamine |")
    print("|---|---|---|---|---|---|")
    for n, (ms, pss, rss) in sorted(results.items()):
        print(f"| {n:,} | {ms:.2f} ms/file | {pss / 2**20:.0f} MiB ({rss / 2**20:.0f} MiB) | {formulas_ms / ms:.0f}x faster "
              f"| {openpyxl_ms / ms:.1f}x faster | {ms / calamine_ms:.2f}x its time |")
    print()
    print("| baseline, per file, 1 process | ms/file |")
    print("|---|---|")
    print(f"| (a) formulas: ExcelModel().loads().finish().calculate() | {formulas_ms:.0f} |")
    print(f"| (b) openpyxl: read-only, every sheet's values | {openpyxl_ms:.1f} |")
    print(f"| (c) python-calamine: every sheet's values (best of 5) | {calamine_ms:.2f} |")
    print(f"| xlkit check_file in process, steady state (best of 5); ratio to (c), target ≤ 2 | {check_ms:.2f}; "
          f"{check_ms / calamine_ms:.2f} |")
    print(f"| xlkit check_file in process, first pass (each shape's layout set up) | {first_ms:.2f} |")


if __name__ == "__main__":
    main()
