"""Benchmark the intake app over real HTTP on 127.0.0.1: upload-to-result time of a normal return.

Two measurements, each in one run:
- one unit at a time (`--rounds`): the app in this process, the median and the slowest round;
- `--concurrent N` units at once, through `xlkit serve` started as a user starts it: in each of `--waves` waves
  every unit uploads its own new return at the same moment (a barrier), then fetches its result page; prints
  p50, p95 and the slowest upload-to-result time over all waves (issue #27's target: p95 ≤ 0.5 s at 50 units).
Every upload carries new bytes, so each is a real check, never a cached one.
Usage: python bench/web_bench.py [--rounds 20] [--concurrent 50] [--waves 3] [--servers 1] [--workdir /tmp/bench_web]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from web import PASSWORD, Client, Served, receipt_of, token_of, upload  # noqa: E402


def filled_returns(folder: Path, work: Path, codes: list[str]) -> dict[str, bytes]:
    """Each unit's own template filled with its own generated figures."""
    from xlkit.campaign.setup import DISTRIBUTED
    from xlkit.demo.sample_data import generate_unit_data
    from xlkit.form.load import load_spec
    from xlkit.intake.identify import open_template_workbook
    from xlkit.write.fill import fill_workbook

    spec = load_spec()
    out = {}
    for code in codes:
        template = next((folder / DISTRIBUTED).glob(f"{code}_*.xlsx"))
        target = work / f"{code}.xlsx"
        fill_workbook(template, generate_unit_data(open_template_workbook(template, spec).layout, code), target, spec)
        out[code] = target.read_bytes()
    return out


def one_at_a_time(folder: Path, data: bytes, rounds: int) -> list[float]:
    from xlkit.campaign.access import issue_links, set_password
    from xlkit.campaign.ledger import Ledger
    from xlkit.web.app import create_app
    from xlkit.web.checker import Checker

    with Ledger(folder) as ledger:
        set_password(ledger, PASSWORD)
        token = token_of(issue_links(ledger)[0].url("http://x"))
    checker = Checker()
    served = Served(create_app(folder, checker))
    try:
        client = Client(served.port)
        times = []
        for round_number in range(rounds + 1):
            start = time.perf_counter()
            answer = upload(client, token, "U1.xlsx", data + f"\0{round_number}".encode())  # new bytes: a real check
            page = client.get(f"/u/{token}?r={receipt_of(answer)}")
            assert "未发现问题" in page.text, "the return should be clean"
            if round_number:  # the first round warms the checker up (it loads the specs)
                times.append(time.perf_counter() - start)
        return times
    finally:
        served.close()
        checker.close()


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and every process under it, living or ended (what a server and its checker spent)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        here = todo.pop()
        if here in stats:
            total += sum(int(v) for v in stats[here][11:15]) / tick  # utime, stime, cutime, cstime
        todo += children.get(here, [])
    return total


def at_once(folder: Path, returns: dict[str, bytes], waves: int, servers: int) -> tuple[list[float], float, float]:
    """Upload-to-result seconds of every upload of every wave, through `servers` `xlkit serve` processes on the
    campaign, each unit sent to one of them as a load balancer would; and the CPU seconds the servers (with their
    checkers) and this process's clients spent over the waves."""
    from xlkit.campaign.access import issue_links
    from xlkit.campaign.ledger import Ledger

    with Ledger(folder) as ledger:
        tokens = {link.unit_code: token_of(link.url("http://x")) for link in issue_links(ledger)}
    ports = []
    for _ in range(servers):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
    started = [subprocess.Popen([sys.executable, "-m", "xlkit", "serve", str(folder), "--port", str(p)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for p in ports]
    try:
        codes = sorted(returns)
        port_of = {code: ports[k % servers] for k, code in enumerate(codes)}
        for port, server in zip(ports, started, strict=True):
            end = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > end or server.poll() is not None:
                        said = server.stderr.read().decode() if server.stderr else ""
                        raise SystemExit(f"xlkit serve did not start: {said}") from None
                    time.sleep(0.2)
            code = next(c for c in codes if port_of[c] == port)
            receipt_of(upload(Client(port), tokens[code], "warm.xlsx", returns[code] + b"\0warm"))  # its checker loads the specs
        times: list[float] = []
        server_cpu, client_cpu = sum(cpu_seconds(s.pid) for s in started), time.process_time()
        for wave in range(waves):
            barrier = threading.Barrier(len(codes), timeout=60)

            def send(code: str, wave: int = wave, barrier: threading.Barrier = barrier) -> float:
                client = Client(port_of[code])
                page = client.get(f"/u/{tokens[code]}")
                barrier.wait()
                start = time.perf_counter()
                answer = client.post(f"/u/{tokens[code]}/upload", {"csrf": page.csrf()},
                                     {"file": (f"{code}.xlsx", returns[code] + f"\0{wave}".encode())})
                result = client.get(f"/u/{tokens[code]}?r={receipt_of(answer)}")
                seconds = time.perf_counter() - start
                assert "未发现问题" in result.text, f"{code}: the return should be clean"
                return seconds

            with ThreadPoolExecutor(len(codes)) as pool:
                times += list(pool.map(send, codes, timeout=600))
        return times, sum(cpu_seconds(s.pid) for s in started) - server_cpu, time.process_time() - client_cpu
    finally:
        for server in started:
            server.kill()
            server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--servers", type=int, default=1, help="xlkit serve processes on the campaign (a load balancer before them)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_web"))
    args = parser.parse_args()
    if not (1 <= args.concurrent <= 200 and 1 <= args.waves <= 20 and 0 <= args.rounds <= 500 and 1 <= args.servers <= 8):
        raise SystemExit("--concurrent 1..200, --waves 1..20, --rounds 0..500, --servers 1..8")

    from xlkit.campaign.setup import init_campaign

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    codes = [f"W{k:03d}" for k in range(1, args.concurrent + 1)]
    roster = args.workdir / "roster.csv"
    roster.write_text("单位编码,单位名称,主管部门\n" + "".join(f"{c},基准单位{c[1:]},一局\n" for c in codes), encoding="utf-8")
    folder = args.workdir / "c"
    init_campaign(folder, roster, 2019)
    returns = filled_returns(folder, args.workdir, codes)
    if args.rounds:
        times = one_at_a_time(folder, returns[codes[0]], args.rounds)
        print(f"one unit at a time, a normal return ({len(returns[codes[0]]) // 1024} KB), {len(times)} rounds: "
              f"median {1000 * statistics.median(times):.0f} ms, slowest {1000 * max(times):.0f} ms")
    times, server_cpu, client_cpu = at_once(folder, returns, args.waves, args.servers)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(f"{args.concurrent} units at once through {args.servers} xlkit serve process(es), {args.waves} waves "
          f"({len(times)} uploads, each a new return "
          f"checked in full): p50 {1000 * statistics.median(times):.0f} ms, p95 {1000 * p95:.0f} ms, "
          f"slowest {1000 * times[-1]:.0f} ms (target p95 ≤ 500 ms; {os.cpu_count()} cores)")
    print(f"CPU per upload: the server(s) with their checkers {1000 * server_cpu / len(times):.1f} ms, "
          f"the bench's HTTP clients {1000 * client_cpu / len(times):.1f} ms (on the same cores)")


if __name__ == "__main__":
    main()
