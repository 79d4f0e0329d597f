"""Officers with their own accounts, two levels of review, and who did what: every route tried by every role over
real HTTP against one table, the steps of a two-level campaign, the trail and its export, and the accounts' CLI."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from web import PASSWORD, Client, Served, login

from xlkit.campaign.access import issue_links, set_password
from xlkit.campaign.accounts import Actor, add_account, change_password, disable_account
from xlkit.campaign.actions import accept_unit, history, pass_unit, return_unit
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.review import set_review
from xlkit.campaign.setup import DISTRIBUTED, init_campaign
from xlkit.campaign.state import state_of
from xlkit.cli import main
from xlkit.demo.sample_data import generate_unit_data
from xlkit.errors import CampaignError
from xlkit.intake.identify import open_template_workbook
from xlkit.web.app import create_app
from xlkit.web.checker import Checker
from xlkit.write.fill import fill_workbook

ROSTER = ("单位编码,单位名称,主管部门,联系人,联系电话,邮箱\nA1,甲单位一,一局,张一,0730-1,a1@example.cn\nA2,甲单位二,一局,张二,0730-2,\n"
          "B1,乙单位一,二局,李一,0730-3,b1@example.cn\nC1,丙单位一,三局,王一,0730-4,\n")
OFFICERS = {"rev": ("审核员甲", "reviewer", ""), "dept1": ("一局初审", "department", "一局"), "dept2": ("二局初审", "department", "二局")}
OFFICER_PASSWORD = "officer-pass-2019"


@pytest.fixture(scope="module")
def base(tmp_path_factory, spec) -> Path:
    """A two-level campaign: 一局 and 二局 have officers, 三局 none; A1, A2, B1, C1 have each sent a clean file."""
    root = tmp_path_factory.mktemp("officers")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    folder = root / "c"
    init_campaign(folder, root / "roster.csv", 2019, deadline="2020-03-31")
    with Ledger(folder) as ledger:
        set_password(ledger, PASSWORD)
        for login_, (name, role, department) in OFFICERS.items():
            add_account(ledger, login_, name, role, OFFICER_PASSWORD, department)
        set_review(ledger, "two-level")
    for code in ("A1", "A2", "B1", "C1"):
        template = next((folder / DISTRIBUTED).glob(f"{code}_*.xlsx"))
        layout = open_template_workbook(template, spec).layout
        fill_workbook(template, generate_unit_data(layout, code), root / f"{code}.xlsx", spec)
    return root


@pytest.fixture
def campaign(base, tmp_path) -> Path:
    shutil.copytree(base, tmp_path / "b")
    return tmp_path / "b" / "c"


def _receive_all(folder: Path) -> None:
    from xlkit.campaign.receive import receive

    receive(folder, [folder.parent / f"{code}.xlsx" for code in ("A1", "A2", "B1", "C1")], by="收件员")


def test_two_levels_department_first_then_the_bureau(campaign):
    folder = campaign
    _receive_all(folder)
    dept1 = Actor("dept1", "一局初审", "department", "一局", "10.0.0.1")
    dept2 = Actor("dept2", "二局初审", "department", "二局", "10.0.0.2")
    reviewer = Actor("rev", "审核员甲", "reviewer", "", "10.0.0.9")
    with Ledger(folder) as ledger:
        assert {s: state_of(ledger, s).step for s in ("A1", "B1", "C1")} == {
            "A1": "待主管部门初审（一局）", "B1": "待主管部门初审（二局）", "C1": "待财政部门确认"}  # 三局 has no officer
    with pytest.raises(CampaignError, match="尚未经一局初审通过"):
        accept_unit(folder, "A1", actor=reviewer)
    with pytest.raises(CampaignError, match="不属于二局"):
        pass_unit(folder, "A1", dept2)
    with pytest.raises(CampaignError, match="初审通过由主管部门作出"):
        pass_unit(folder, "A1", reviewer)
    assert pass_unit(folder, "A1", dept1).unit.status == "passed"
    with pytest.raises(CampaignError, match="不在主管部门初审这一步"):
        pass_unit(folder, "A1", dept1)
    with Ledger(folder) as ledger:
        assert state_of(ledger, "A1").step == "待财政部门确认" and state_of(ledger, "A1").holder == "bureau"
    with pytest.raises(CampaignError, match="确认由财政部门作出"):
        accept_unit(folder, "A1", actor=dept1)
    assert accept_unit(folder, "A1", actor=reviewer).unit.status == "confirmed"
    returned = return_unit(folder, "B1", "附表未填", actor=dept2)  # the department's 退回: back to the unit, with a letter
    assert returned.unit.status == "returned" and returned.letter is not None and returned.letter.exists()
    assert returned.unit.step == "待单位修改再报"
    alone = accept_unit(folder, "C1", actor=reviewer)  # 三局 has no officer: the bureau decides alone, and says so
    assert alone.unit.status == "confirmed"
    _state, lines = history(folder, "C1")
    assert any("该主管部门没有审核账号，由财政部门直接确认" in line and "账号 rev（审核员），10.0.0.9" in line for line in lines)
    _state, lines = history(folder, "B1")
    assert any("主管部门退回（二局初审）：附表未填" in line and "账号 dept2（主管部门），10.0.0.2" in line for line in lines)
    _state, lines = history(folder, "A1")
    assert [line.split("  ", 1)[1].split("（")[0] for line in lines] == ["收到文件 A1.xlsx", "主管部门初审通过", "确认"]
    shown = json.loads(CliRunner().invoke(main, ["status", str(folder), "--json"]).stdout)
    steps = {u["unit_code"]: (u["status"], u["holder"], u["step"]) for u in shown["units"]}
    assert steps["A2"] == ("received", "department", "待主管部门初审（一局）") and steps["B1"][1] == "unit"
    assert shown["counts"]["confirmed"] == 2 and "passed" in shown["counts"]
    text = CliRunner().invoke(main, ["status", str(folder)]).stdout
    assert "待主管部门初审（一局）" in text and "待单位修改再报" in text


def test_one_level_is_as_before(campaign):
    folder = campaign
    with Ledger(folder) as ledger:
        set_review(ledger, "one-level")
    _receive_all(folder)
    with Ledger(folder) as ledger:
        assert state_of(ledger, "A1").step == "待财政部门确认"
    assert accept_unit(folder, "A1", by="审核员").unit.status == "confirmed"  # no 初审 needed
    with pytest.raises(CampaignError, match="只在两级审核时初审"):
        pass_unit(folder, "A2", Actor("dept1", "一局初审", "department", "一局"))


ROUTES = [  # (method, path, what a form posts) — every route of the app
    ("GET", "/", None), ("GET", "/admin/login", None), ("GET", "/admin", None), ("GET", "/admin/unit/A1", None),
    ("GET", "/admin/unit/B1", None), ("GET", "/admin/unit/NOPE", None), ("POST", "/admin/unit/A1/pass", {"receipt": "{A1}"}),
    ("POST", "/admin/unit/B1/pass", {"receipt": "{B1}"}), ("POST", "/admin/unit/B1/return", {"receipt": "{B1}", "reason": "x"}),
    ("POST", "/admin/unit/A2/accept", {"receipt": "{A2}"}), ("POST", "/admin/unit/A2/link", {}),
    ("GET", "/admin/download/summary.xlsx", None), ("GET", "/admin/download/summary.csv", None),
    ("GET", "/admin/download/reminders.xlsx", None), ("GET", "/admin/download/audit.csv", None),
    ("GET", "/admin/letters/{letter}", None), ("GET", "/admin/password", None), ("GET", "/admin/accounts", None),
    ("GET", "/u/{token}", None), ("GET", "/u/{token}/letters/{letter}", None), ("GET", "/admin/review", None),
]
# what each may see: the status answered (a redirect 303 is a decision taken, or refused with a message on the page)
SEES = {
    "none": [200, 200, 302, 302, 302, 302, 403, 403, 403, 403, 403, 302, 302, 302, 302, 302, 302, 302, 200, 404, 302],
    "admin": [200, 200, 200, 200, 200, 404, 403, 403, 303, 303, 303, 200, 200, 200, 200, 200, 200, 200, 200, 404, 200],
    "rev": [200, 200, 200, 200, 200, 404, 403, 403, 303, 303, 303, 200, 200, 200, 200, 200, 200, 403, 200, 404, 200],
    "dept1": [200, 200, 200, 200, 404, 404, 303, 404, 404, 403, 403, 200, 200, 200, 404, 404, 200, 403, 200, 404, 404],
}


def test_every_route_by_every_role(campaign, tmp_path):
    folder = campaign
    _receive_all(folder)
    dept2 = Actor("dept2", "二局初审", "department", "二局")
    letter = Path(str(return_unit(folder, "B1", "退回给二局的单位", actor=dept2).letter)).name
    from xlkit.campaign.receive import receive

    receive(folder, [folder.parent / "B1.xlsx"], by="再报")  # B1 again: decidable
    with Ledger(folder) as ledger:
        token = issue_links(ledger, ["C1"])[0].token
        current = {code: str(state_of(ledger, code).current.id) for code in ("A1", "A2", "B1")}  # type: ignore[union-attr]
    checker = Checker()
    served = Served(create_app(folder, checker))
    try:
        for who, expected in SEES.items():
            answers = []
            for method, path, fields in ROUTES:
                client = Client(served.port)
                if who != "none":
                    page = client.get("/admin/login")
                    assert client.post("/admin/login", {"csrf": page.csrf(), "login": who,
                                                         "password": PASSWORD if who == "admin" else OFFICER_PASSWORD}).status == 303
                url = path.format(letter=quote(letter), token=token)
                if method == "GET":
                    answers.append(client.get(url).status)
                else:
                    csrf = client.get("/admin/login").csrf()
                    form = {k: v.format(**current) for k, v in (fields or {}).items()}
                    answers.append(client.post(url, {"csrf": csrf, **form}).status)
            assert dict(zip([f"{m} {p}" for m, p, _f in ROUTES], answers, strict=True)) == \
                dict(zip([f"{m} {p}" for m, p, _f in ROUTES], expected, strict=True)), who
        officer = Client(served.port)
        login(officer, OFFICER_PASSWORD)  # without a login the form is admin's: this password is not admin's
        assert officer.get("/admin").status == 302
        dept = Client(served.port)
        page = dept.get("/admin/login")
        dept.post("/admin/login", {"csrf": page.csrf(), "login": "dept1", "password": OFFICER_PASSWORD})
        board = dept.get("/admin").text
        assert "甲单位一" in board and "甲单位二" in board and "乙单位一" not in board and "丙单位一" not in board
        summary = dept.get("/admin/download/summary.csv").body.decode("utf-8-sig")
        assert "A1" in summary and "B1" not in summary and "C1" not in summary
        reminders = dept.get("/admin/download/reminders.xlsx")
        import io

        import openpyxl

        cells = [str(c.value) for row in openpyxl.load_workbook(io.BytesIO(reminders.body)).worksheets[0].iter_rows() for c in row]
        assert "甲单位二" in cells and "乙单位一" not in cells and "当前环节" in cells
    finally:
        served.close()
        checker.close()
    with Ledger(folder) as ledger:
        passed = [(e.unit_code, e.kind, e.login) for e in ledger.audit() if e.kind == "pass"]
    assert passed == [("A1", "pass", "dept1")]


def test_accounts_sessions_and_own_password(campaign):
    folder = campaign
    checker = Checker()
    served = Served(create_app(folder, checker))
    try:
        officer = Client(served.port)
        page = officer.get("/admin/login")
        assert officer.post("/admin/login", {"csrf": page.csrf(), "login": "rev", "password": OFFICER_PASSWORD}).status == 303
        form = officer.get("/admin/password")
        wrong = officer.post("/admin/password", {"csrf": form.csrf(), "current": "nope", "new": "n" * 9, "again": "n" * 9})
        assert wrong.status == 400 and "当前密码不正确" in wrong.text
        short = officer.post("/admin/password", {"csrf": form.csrf(), "current": OFFICER_PASSWORD, "new": "short", "again": "short"})
        assert short.status == 400 and "至少 8 个字符" in short.text
        done = officer.post("/admin/password", {"csrf": form.csrf(), "current": OFFICER_PASSWORD, "new": "a-new-one-2020",
                                                "again": "a-new-one-2020"})
        assert done.status == 303 and officer.get("/admin").status == 302  # logged out with the old password
        page = officer.get("/admin/login")
        assert officer.post("/admin/login", {"csrf": page.csrf(), "login": "rev", "password": "a-new-one-2020"}).status == 303
        with Ledger(folder) as ledger:
            disable_account(ledger, "rev")
        assert officer.get("/admin").status == 302 and "账号已停用" in officer.get("/admin/login").text
        page = officer.get("/admin/login")
        refused = officer.post("/admin/login", {"csrf": page.csrf(), "login": "rev", "password": "a-new-one-2020"})
        assert refused.status == 403 and "账号或密码不正确" in refused.text
        for _n in range(5):  # per account and address: a sixth try waits
            officer.post("/admin/login", {"csrf": page.csrf(), "login": "dept1", "password": "wrong-wrong"})
        waits = officer.post("/admin/login", {"csrf": page.csrf(), "login": "dept1", "password": OFFICER_PASSWORD})
        assert waits.status == 429 and "Retry-After" in {k.title(): v for k, v in waits.headers.items()}
        other = Client(served.port)  # another account from the same address is not held up
        page = other.get("/admin/login")
        assert other.post("/admin/login", {"csrf": page.csrf(), "login": "dept2", "password": OFFICER_PASSWORD}).status == 303
    finally:
        served.close()
        checker.close()
    with Ledger(folder) as ledger:
        changes = [(e.kind, e.login, e.text) for e in ledger.audit() if e.kind.startswith("account")]
        with pytest.raises(CampaignError, match="已存在"):
            add_account(ledger, "rev", "重复", "reviewer", OFFICER_PASSWORD)
        with pytest.raises(CampaignError, match="名单中没有主管部门「四局」"):
            add_account(ledger, "d4", "四局", "department", OFFICER_PASSWORD, "四局")
        change_password(ledger, "rev", "enabled-again-1")
        assert not ledger.account("rev").disabled  # type: ignore[union-attr]
    assert ("account-passwd", "rev", "rev") in changes and ("account-disable", "", "rev") not in changes
    assert [k for k, who, _t in changes if who == "rev"] == ["account-passwd"]  # the officer changed their own password
    assert sum(1 for k, _w, t in changes if k == "account-disable" and t == "rev") == 1


def test_the_accounts_command_line_and_the_audit_export(campaign, tmp_path):
    folder = campaign
    runner = CliRunner()
    secret = tmp_path / "pw.txt"
    secret.write_text("cli-password-1\n", encoding="utf-8")
    added = runner.invoke(main, ["campaign", "user", "add", str(folder), "zhang", "--name", "张三", "--role", "department",
                                 "--department", "三局", "--password-file", str(secret)])
    assert added.exit_code == 0 and "已新增账号 zhang：张三，主管部门（三局）" in added.output
    bad = runner.invoke(main, ["campaign", "user", "add", str(folder), "li", "--name", "李四", "--role", "reviewer",
                               "--department", "三局", "--password-file", str(secret)])
    assert bad.exit_code == 2 and "只有主管部门的账号才写 --department" in bad.output
    assert runner.invoke(main, ["campaign", "user", "disable", str(folder), "zhang"]).exit_code == 0
    listed = runner.invoke(main, ["campaign", "user", "list", str(folder)]).output
    assert "zhang  张三  主管部门  三局  已停用" in listed and "共 5 个账号" in listed
    assert runner.invoke(main, ["campaign", "user", "passwd", str(folder), "zhang", "--password-file", str(secret)]).exit_code == 0
    assert "三局  在用" in runner.invoke(main, ["campaign", "user", "list", str(folder)]).output
    changed = runner.invoke(main, ["campaign", "settings", str(folder), "--review", "one-level", "--mail", "outbox"])
    assert changed.exit_code == 0 and "一级审核" in changed.output and "outbox" in changed.output
    _receive_all(folder)
    out = tmp_path / "audit.csv"
    exported = runner.invoke(main, ["campaign", "audit", str(folder), "-o", str(out)])
    assert exported.exit_code == 0
    rows = list(csv.reader(out.open(encoding="utf-8-sig")))
    assert rows[0][:4] == ["序号", "时间（UTC）", "事项", "账号"]
    kinds = [r[2] for r in rows[1:]]
    assert kinds.count("新增账号") == 5 and "停用账号" in kinds and "更改设置" in kinds and kinds.count("收件") == 4
    assert all(r[6] for r in rows[1:])  # every record names where it came from
    before = out.read_bytes()
    runner.invoke(main, ["campaign", "audit", str(folder), "-o", str(out)])
    assert out.read_bytes() == before  # exporting changes nothing: records are only ever added
