"""Benchmark the intake app: upload-to-result time of a normal return, over real HTTP on 127.0.0.1.

Each round a unit uploads its filled workbook (POST, checked in a reader process, recorded in the ledger) and
fetches the result page; prints the median and the slowest of the rounds.
Usage: python bench/web_bench.py [--rounds 20] [--workdir /tmp/bench_web]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from web import PASSWORD, Client, Served, receipt_of, upload  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_web"))
    args = parser.parse_args()

    from xlkit.campaign.access import issue_links, set_password
    from xlkit.campaign.ledger import Ledger
    from xlkit.campaign.setup import DISTRIBUTED, init_campaign
    from xlkit.demo.sample_data import generate_unit_data
    from xlkit.form.load import load_spec
    from xlkit.intake.identify import open_template_workbook
    from xlkit.web.app import create_app
    from xlkit.web.checker import Checker
    from xlkit.write.fill import fill_workbook

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    roster = args.workdir / "roster.csv"
    roster.write_text("单位编码,单位名称,主管部门\nU1,基准单位,一局\n", encoding="utf-8")
    folder = args.workdir / "c"
    init_campaign(folder, roster, 2019)
    spec = load_spec()
    template = next((folder / DISTRIBUTED).glob("U1_*.xlsx"))
    layout = open_template_workbook(template, spec).layout
    filled = args.workdir / "U1.xlsx"
    fill_workbook(template, generate_unit_data(layout, "U1"), filled, spec)
    with Ledger(folder) as ledger:
        set_password(ledger, PASSWORD)
        token = issue_links(ledger)[0].token
    checker = Checker()
    served = Served(create_app(folder, checker))
    try:
        client = Client(served.port)
        times = []
        for round_number in range(args.rounds + 1):
            data = filled.read_bytes() + f"\0{round_number}".encode()  # new bytes each round: a real check each time
            start = time.perf_counter()
            answer = upload(client, token, "U1.xlsx", data)
            page = client.get(f"/u/{token}?r={receipt_of(answer)}")
            assert "未发现问题" in page.text, "the return should be clean"
            if round_number:  # the first round warms the checker up (it loads the specs)
                times.append(time.perf_counter() - start)
    finally:
        served.close()
        checker.close()
    print(f"upload-to-result, a normal return ({filled.stat().st_size // 1024} KB), {len(times)} rounds: "
          f"median {1000 * statistics.median(times):.0f} ms, slowest {1000 * max(times):.0f} ms")


if __name__ == "__main__":
    main()
