"""Benchmark `xlkit consolidate` end to end against two baselines measured in the same run.

Prints ms per file, ratios and peak memory (the sum over the process tree). Baselines: (a) formulas recomputing,
(b) openpyxl reading values, (c) python-calamine reading values, beside xlkit's in-process check of the same files.
Usage: python bench/consolidate_bench.py [--n 1000] [--small 200] [--formulas-sample 10] [--jobs 2]
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
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(make_unit, [(i, str(folder)) for i in range(min(n, DISTINCT))], chunksize=16))
        list(pool.map(clone_unit, [(i, str(folder)) for i in range(DISTINCT, n)], chunksize=64))


def tree_rss(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_measured(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak tree RSS of a command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    elapsed = time.perf_counter() - start
    if process.returncode != 0:  # every generated unit must be accepted, or the figures mean nothing
        raise SystemExit(f"command failed ({process.returncode}): {' '.join(command)}\n{output}")
    print("   ", output.strip().splitlines()[-1])
    return elapsed, peak


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
    check_file(files[0], registry)  # layouts and formulas compiled once, as in a reader process
    start = time.perf_counter()
    for path in files:
        check_file(path, registry)
    return (time.perf_counter() - start) / len(files)


def baseline_formulas(files: list[Path]) -> float:
    import formulas

    start = time.perf_counter()
    for path in files:
        formulas.ExcelModel().loads(str(path)).finish().calculate()
    return (time.perf_counter() - start) / len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--small", type=int, default=200, help="a smaller run, to show memory does not grow with N")
    parser.add_argument("--formulas-sample", type=int, default=10, help="files timed with the formulas baseline (slow)")
    parser.add_argument("--check-sample", type=int, default=200, help="files timed in process with calamine and check_file")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--reuse", action="store_true", help="reuse generated files from an earlier run of the same code")
    args = parser.parse_args()
    xlkit = [sys.executable, "-m", "xlkit"]
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; jobs {args.jobs}")
    results = {}
    for n in sorted({args.small, args.n}):
        folder = args.workdir / f"units_{n}"
        print(f"generating {n} filled unit workbooks in {folder} …")
        generate(folder, n, args.jobs, args.reuse)
        print(f"xlkit consolidate, N = {n}:")
        elapsed, peak = run_measured([*xlkit, "consolidate", str(folder), "-o", str(args.workdir / f"summary_{n}.xlsx"),
                                      "--csv", str(args.workdir / f"summary_{n}.csv"), "--jobs", str(args.jobs)])
        results[n] = (elapsed / n * 1000, peak)
    files = sorted((args.workdir / f"units_{args.n}").glob("*.xlsx"))
    print(f"baseline (b) openpyxl read-only, all values, {len(files)} files, 1 process …")
    openpyxl_ms = baseline_openpyxl(files) * 1000
    checked = files[: args.check_sample]
    print(f"baseline (c) python-calamine, all values, and xlkit check_file in process, {len(checked)} files, best of 3 …")
    calamine_ms = min(baseline_calamine(checked) for _ in range(3)) * 1000
    check_ms = min(check_in_process(checked) for _ in range(3)) * 1000
    sample = files[: args.formulas_sample]
    print(f"baseline (a) formulas ExcelModel().loads().finish().calculate(), {len(sample)} files, 1 process …")
    formulas_ms = baseline_formulas(sample) * 1000
    per_file, peak = results[args.n]
    print()
    print("| measure | value |")
    print("|---|---|")
    for n, (ms, mem) in sorted(results.items()):
        print(f"| xlkit consolidate, N = {n}, end to end ({args.jobs} processes) | {ms:.1f} ms/file, peak {mem / 2**20:.0f} MiB |")
    print(f"| (a) formulas recompute per file (1 process) | {formulas_ms:.0f} ms/file |")
    print(f"| (b) openpyxl read all values per file (1 process) | {openpyxl_ms:.1f} ms/file |")
    print(f"| (c) python-calamine read all values per file (1 process, best of 3) | {calamine_ms:.2f} ms/file |")
    print(f"| xlkit check_file per file, in process (1 process, best of 3) | {check_ms:.2f} ms/file |")
    print(f"| xlkit vs (a) | {formulas_ms / per_file:.0f}x faster |")
    print(f"| xlkit vs (b) | {openpyxl_ms / per_file:.2f}x |")
    print(f"| check_file / calamine (target ≤ 2) | {check_ms / calamine_ms:.1f} |")


if __name__ == "__main__":
    main()
