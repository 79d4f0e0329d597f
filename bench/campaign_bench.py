"""Benchmark the campaign ledger: receive N units, re-consolidate after one new receipt, grow to many receipts.

Prints seconds, ms per file, how many files each step checked, ledger and archive sizes, and the time of `status`.
Usage: python bench/campaign_bench.py [--n 1000] [--receipts 10000] [--workdir /tmp/bench] [--reuse]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from consolidate_bench import generate, make_unit  # noqa: E402


def timed(label: str, work, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = work(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:<58} {seconds:8.2f} s", flush=True)
    return result, seconds


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--receipts", type=int, default=10000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--reuse", action="store_true", help="Reuse generated unit workbooks of the same N.")
    args = parser.parse_args()

    from xlkit.campaign.account import consolidate_campaign
    from xlkit.campaign.ledger import LEDGER, Ledger
    from xlkit.campaign.receive import receive
    from xlkit.campaign.setup import init_campaign
    from xlkit.campaign.state import unit_states

    units = args.workdir / f"units_{args.n}"
    timed(f"generate {args.n} unit workbooks", generate, units, args.n, os.cpu_count() or 1, args.reuse)
    files = sorted(units.glob("*.xlsx"))
    roster = args.workdir / f"roster_{args.n}.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["单位编码", "单位名称", "主管部门", "联系人", "联系电话"])
        writer.writerows([[p.stem, f"基准单位{int(p.stem[1:])}", f"部门{int(p.stem[1:]) % 7}", "联系人", "0730-0"] for p in files])
    campaign = args.workdir / f"campaign_{args.n}"
    pristine = args.workdir / f"campaign_{args.n}.pristine"
    shutil.rmtree(campaign, ignore_errors=True)
    if not (args.reuse and pristine.exists()):
        shutil.rmtree(pristine, ignore_errors=True)
        timed("campaign init (ledger + distribute)", init_campaign, pristine, roster, 2019)
    shutil.copytree(pristine, campaign)

    _, seconds = timed(f"receive {len(files)} files (archive + check + record)", receive, campaign, files)
    print(f"{'':<58} {1000 * seconds / len(files):8.2f} ms per file")
    (result, checked), _ = timed("consolidate --campaign (all from the cache)", consolidate_campaign, str(campaign))
    print(f"{'':<58} {checked:8d} files checked, {len(result.included)} units in the totals")

    changed = args.workdir / "changed"
    shutil.rmtree(changed, ignore_errors=True)
    changed.mkdir()
    make_unit((0, str(changed)))  # unit 0 sends a corrected file: same unit, new bytes
    with (changed / "B000000.xlsx").open("ab") as handle:
        handle.write(b"\0")  # trailing bytes after the zip: a different file that reads the same
    timed("receive one new file", receive, campaign, [changed / "B000000.xlsx"])
    cli = [sys.executable, "-m", "xlkit", "consolidate", "--campaign", str(campaign), "-o", str(args.workdir / "campaign_summary.xlsx")]
    start = time.perf_counter()
    run = subprocess.run(cli, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(f"{'re-run xlkit consolidate --campaign after one receipt (CLI)':<58} {seconds:8.2f} s   [{run.stderr.strip().splitlines()[0]}]")
    (result, checked), _ = timed("re-run consolidate_campaign in-process", consolidate_campaign, str(campaign))
    print(f"{'':<58} {checked:8d} files checked")
    from xlkit.bureau.summary import write_summary

    timed("  of which not included: write_summary of the result", write_summary, result, args.workdir / "s.xlsx")

    batches = max(0, -(-(args.receipts - len(files) - 1) // len(files)))
    start = time.perf_counter()
    for batch in range(batches):  # every unit sends again, each file different bytes: a new blob and a new check each
        again = args.workdir / "again"
        shutil.rmtree(again, ignore_errors=True)
        again.mkdir()
        copies = []
        for path in files:
            copy = again / path.name
            copy.write_bytes(path.read_bytes() + f"\0{batch}".encode())  # bytes after the zip: reads the same
            copies.append(copy)
        receive(campaign, copies, note=f"第 {batch + 2} 批")
    seconds = time.perf_counter() - start
    with Ledger(campaign) as ledger:
        count = len(ledger.receipts())
        cached = ledger.cache_size()
    print(f"{f'{batches} more batches of {len(files)} new files':<58} {seconds:8.2f} s   ({count} receipts, {cached[0]} cached checks)")
    ledger_bytes = sum(p.stat().st_size for p in campaign.glob(LEDGER + "*"))
    print(f"{'ledger size (sqlite + wal)':<58} {ledger_bytes / 1e6:8.1f} MB   archive {folder_bytes(campaign / 'archive') / 1e6:.1f} MB, "
          f"{cached[1] / cached[0] / 1e3:.1f} KB per cached check")

    def states() -> int:
        with Ledger(campaign) as ledger:
            return len(unit_states(ledger))

    timed(f"unit_states over {count} receipts (in-process)", states)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "xlkit", "status", str(campaign), "--json"], capture_output=True, check=True)
    print(f"{'xlkit status --json (CLI, with interpreter start)':<58} {time.perf_counter() - start:8.2f} s")


if __name__ == "__main__":
    main()
