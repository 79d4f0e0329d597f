"""How tests/data/ledger_v1.sqlite was made: a ledger written by xlkit before the ledger's seam (schema "1"), kept so
that the migration test opens a real old ledger. Run once with that release (`python tests/data/make_ledger_v1.py`);
it writes the ledger and tests/data/ledger_v1.json (the secrets the test logs in with)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

from xlkit.campaign.access import issue_links, open_session, reserve_login, set_password
from xlkit.campaign.actions import accept_unit, return_unit
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.receive import receive
from xlkit.campaign.setup import DISTRIBUTED, init_campaign
from xlkit.demo.sample_data import generate_unit_data
from xlkit.form.load import load_spec
from xlkit.intake.identify import open_template_workbook
from xlkit.write.fill import fill_workbook

ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\nU1,甲单位,一局,张一,0730-1\nU2,乙单位,一局,张二,0730-2\nU3,丙单位,二局,张三,0730-3\n"
HERE = Path(__file__).parent


def main() -> None:
    spec = load_spec(None)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
        folder = root / "c"
        init_campaign(folder, root / "roster.csv", 2019, deadline="2020-03-31")
        filled = []
        for path in sorted((folder / DISTRIBUTED).glob("U[12]*.xlsx")):
            layout = open_template_workbook(path, spec).layout
            fill_workbook(path, generate_unit_data(layout, path.name[:2]), root / path.name, spec)
            filled.append(root / path.name)
        receive(folder, filled, note="第一批", by="李四")
        accept_unit(folder, "U1", by="王五")
        return_unit(folder, "U2", "请补充说明", by="王五")
        with Ledger(folder) as ledger:
            links = {link.unit_code: link.token for link in issue_links(ledger)}
            set_password(ledger, "管理密码12345")
            reserve_login(ledger, "10.0.0.9")
            session = open_session(ledger, "10.0.0.1")
            with ledger.writing() as db:
                db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('web_secret', 'f' || hex(randomblob(31)))")
                receipt = db.execute("SELECT id FROM receipts WHERE unit_code = 'U2'").fetchone()[0]
                db.execute("INSERT INTO explanations(receipt, issue, text, at) VALUES (?, 0, '当年新增项目', '2020-03-02T01:00:00+00:00')",
                           (receipt,))
        with sqlite3.connect(folder / "ledger.sqlite") as db:
            db.execute("VACUUM")
        shutil.copyfile(folder / "ledger.sqlite", HERE / "ledger_v1.sqlite")
        (HERE / "ledger_v1.json").write_text(json.dumps({"links": links, "password": "管理密码12345", "session": session},
                                                        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
