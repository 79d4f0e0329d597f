"""The ledger on SQLite and on PostgreSQL side by side: receive ms/file (files one by one, and --batch-files in one
receive with the receipts' transactions plain, one per file, and batched, receive.BATCH per transaction, alternately
in the same minutes), and uploads per second through 1 and 4 `xlkit serve` processes on one campaign (real HTTP on
127.0.0.1, 8 clients at once).

Every file has the same bytes under its own name, so its check is cached after the first and what is measured is
the ledger's share of a receipt (archive, run, receipt, status), not the reader's. PostgreSQL: a private server
started here (initdb, pg_ctl; tests/pgserver.py) unless --db names one.
Usage: python bench/ledger_bench.py [--files 100] [--batch-files 1000] [--rounds 2] [--uploads 200] [--no-uploads]
       [--db postgresql://…] [--workdir /tmp/bench_ledger]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import pgserver  # noqa: E402
from campaign import make_campaign  # noqa: E402
from web import Client, receipt_of, token_of, upload  # noqa: E402

UNITS = 100
ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\n" + "".join(f"B{k:03d},单位{k},一局,张{k},0730-{k}\n" for k in range(1, UNITS + 1))


def filled(work: Path) -> Path:
    from xlkit.campaign.setup import DISTRIBUTED
    from xlkit.demo.sample_data import generate_unit_data
    from xlkit.form.load import load_spec
    from xlkit.intake.identify import open_template_workbook
    from xlkit.write.fill import fill_workbook

    spec = load_spec()
    (work / "roster.csv").write_text(ROSTER, encoding="utf-8")
    make_campaign(work / "template", work / "roster.csv", 2019, "sqlite")
    template = next((work / "template" / DISTRIBUTED).glob("B001_*.xlsx"))
    fill_workbook(template, generate_unit_data(open_template_workbook(template, spec).layout, "B001"), work / "B001.xlsx", spec)
    return work / "B001.xlsx"


def receive_ms(folder: Path, source: Path, count: int) -> float:
    from xlkit.campaign.receive import receive

    copies = folder.parent / "copies"
    copies.mkdir(exist_ok=True)
    paths = [Path(shutil.copy(source, copies / f"B{k % UNITS + 1:03d}_{k}.xlsx")) for k in range(count)]
    receive(folder, paths[:1])  # the check cached: the rest is the ledger's work
    start = time.perf_counter()
    for path in paths[1:]:
        receive(folder, [path])
    return (time.perf_counter() - start) * 1000 / (count - 1)


def batch_ms(folder: Path, source: Path, count: int, batch: int) -> float:
    """`count` new files in one receive, `batch` receipts to a transaction (1: the plain path)."""
    import xlkit.campaign.receive as receiving

    copies = folder.parent / "copies"
    copies.mkdir(exist_ok=True)
    paths = [Path(shutil.copy(source, copies / f"B{k % UNITS + 1:03d}_{k}.xlsx")) for k in range(count + 1)]
    receiving.receive(folder, paths[:1])  # the check cached: the rest is the ledger's work
    saved, receiving.BATCH = receiving.BATCH, batch
    try:
        start = time.perf_counter()
        results = receiving.receive(folder, paths[1:])
        elapsed = time.perf_counter() - start
    finally:
        receiving.BATCH = saved
    assert all(r.receipt and not r.repeated for r in results)
    return elapsed * 1000 / count


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def uploads_per_second(folder: Path, data: bytes, servers: int, uploads: int) -> float:
    from xlkit.campaign.access import issue_links
    from xlkit.campaign.ledger import Ledger

    with Ledger(folder) as ledger:
        tokens = [token_of(link.url("http://x")) for link in issue_links(ledger)]
    ports = [free_port() for _ in range(servers)]
    processes = [subprocess.Popen([sys.executable, "-m", "xlkit", "serve", str(folder), "--port", str(p)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in ports]
    try:
        for port in ports:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
        receipt_of(upload(Client(ports[0]), tokens[0], "warm.xlsx", data))  # the check cached

        def send(k: int) -> int:
            return receipt_of(upload(Client(ports[k % servers]), tokens[k % len(tokens)], f"u{k}.xlsx", data))

        start = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(uploads), timeout=1800))
        return uploads / (time.perf_counter() - start)
    finally:
        for process in processes:
            process.kill()
            process.wait()


def main() -> None:
    from xlkit.campaign.receive import BATCH

    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--batch-files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2, help="Plain and batched runs, alternately, this many times each.")
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--no-uploads", action="store_true", help="Receive only: no `xlkit serve` processes.")
    parser.add_argument("--db", help="A PostgreSQL database to use (default: a private server started here).")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_ledger"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    source = filled(args.workdir)
    server = None if args.db else pgserver.PgServer()
    try:
        url = args.db or server.url  # type: ignore[union-attr]
        rows: list[tuple[Any, ...]] = []
        for name, backend in (("SQLite", "sqlite"), ("PostgreSQL", url)):
            figures: list[float | str] = []
            for servers in (0, 1, 4):
                folder = args.workdir / f"{name}-{servers}" / "c"
                folder.parent.mkdir()
                make_campaign(folder, args.workdir / "roster.csv", 2019, backend)
                if servers == 0:
                    figures.append(receive_ms(folder, source, args.files))
                elif args.no_uploads:
                    figures.append("-")
                else:
                    figures.append(uploads_per_second(folder, source.read_bytes(), servers, args.uploads))
            runs: dict[int, list[float]] = {1: [], BATCH: []}
            for k in range(args.rounds):
                for batch in (1, BATCH):  # alternately, in the same minutes
                    folder = args.workdir / f"{name}-batch{batch}-{k}" / "c"
                    folder.parent.mkdir()
                    make_campaign(folder, args.workdir / "roster.csv", 2019, backend)
                    runs[batch].append(batch_ms(folder, source, args.batch_files, batch))
            rows.append((name, figures[0], "–".join(f"{v:.2f}" for v in runs[1]), "–".join(f"{v:.2f}" for v in runs[BATCH]), *figures[1:]))
        print(f"{'ledger':<12} {'one by one':>11} {f'{args.batch_files} at once, plain':>24} {f'batched ({BATCH})':>16} "
              f"{'uploads/s, 1 server':>20} {'4 servers':>10}  (receive: ms/file)")
        for name, ms, plain, batched, one, four in rows:
            shown = [f"{v:.1f}" if isinstance(v, float) else v for v in (ms, one, four)]
            print(f"{name:<12} {shown[0]:>11} {plain:>24} {batched:>16} {shown[1]:>20} {shown[2]:>10}")
        print(f"({args.files} files received one by one; {args.batch_files} in one receive, plain and batched alternately, {args.rounds} "
              f"rounds; {args.uploads} uploads by 8 clients; {os.cpu_count()} cores)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
