"""The bureau's sessions and logins, decisions on the receipt a page showed, and the defences every answer carries:
over real HTTP (waitress on 127.0.0.1) where cookies matter, the Flask test client for headers."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from campaign import copy_campaign, ledger_rows, make_campaign
from web import PASSWORD, Client, Served, login, receipt_of, token_of, upload

from xlkit.campaign.access import PER_ACCOUNT, PER_ADDRESS, issue_links, reserve_login, session_account, set_password
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.setup import DISTRIBUTED
from xlkit.demo.sample_data import generate_unit_data
from xlkit.intake.identify import open_template_workbook
from xlkit.web import pages, policy
from xlkit.web.app import create_app
from xlkit.web.checker import Checker
from xlkit.write.fill import fill_workbook

ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\nS1,会话单位甲,一局,张一,0730-1\nS2,会话单位乙,二局,张二,0730-2\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory, spec, backend) -> Path:
    """A campaign of two units with a password; S1's return clean and with a warning."""
    root = tmp_path_factory.mktemp("sessions_base")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    make_campaign(root / "c", root / "roster.csv", 2019, backend, deadline="2020-03-31")
    with Ledger(root / "c") as ledger:
        set_password(ledger, PASSWORD)
    template = next((root / "c" / DISTRIBUTED).glob("S1_*.xlsx"))
    layout = open_template_workbook(template, spec).layout
    for name, changes in (("clean", {}), ("warning", {"staff.actual": 500})):
        fill_workbook(template, {**generate_unit_data(layout, "S1"), **changes}, root / f"S1_{name}.xlsx", spec)
    return root


@pytest.fixture(scope="module")
def checker():
    reader = Checker()
    yield reader
    reader.close()


@pytest.fixture
def campaign(base, tmp_path) -> tuple[Path, dict[str, str]]:
    copy_campaign(base, tmp_path / "b")
    folder = tmp_path / "b" / "c"
    with Ledger(folder) as ledger:
        links = {link.unit_code: link.token for link in issue_links(ledger)}
    return folder, links


def serve(folder: Path, checker, **options):  # type: ignore[no-untyped-def]
    server = {k: options.pop(k) for k in ("trusted_proxy", "trusted_proxy_headers") if k in options}
    app = create_app(folder, checker, **options)
    return app, Served(app, **server)


def payload(app, client: Client) -> dict:  # type: ignore[no-untyped-def]
    """What the browser holds in the session cookie (signed, not encrypted: anyone holding it can read it)."""
    return dict(app.session_interface.get_signing_serializer(app).loads(client.cookies["xlkit"]))


def raw_sql(folder: Path, statement: str) -> list[tuple]:
    """A statement on the ledger file itself (the ledger keeps its connection to itself)."""
    return ledger_rows(folder, statement)


def sessions(folder: Path) -> list[tuple]:
    return ledger_rows(folder, "SELECT digest, account, ended, ended_why FROM sessions ORDER BY id")


# ------------------------------------------------------------------ sessions end on the server (item 7)
def test_logout_ends_the_session_on_the_server_and_the_cookie_holds_only_an_id(campaign, checker):
    folder, _links = campaign
    app, served = serve(folder, checker)
    try:
        officer = Client(served.port)
        assert login(officer).status == 303 and officer.get("/admin").status == 200
        held = payload(app, officer)
        assert set(held) == {"sid", "csrf"}  # no flag that says "admin": the server decides
        [(digest, account, ended, _why)] = sessions(folder)
        assert digest == hashlib.sha256(held["sid"].encode()).hexdigest() and account == "admin" and ended is None
        assert all(held["sid"] not in str(row) for row in ledger_rows(folder, "SELECT * FROM sessions"))  # the ledger keeps its digest only
        stolen = dict(officer.cookies)
        board = officer.get("/admin")
        assert officer.post("/admin/logout", {"csrf": board.csrf()}).status == 303
        assert sessions(folder)[0][2] is not None and sessions(folder)[0][3] == "logout"
        replayed = Client(served.port)
        replayed.cookies = stolen  # the cookie from before the logout, still validly signed
        assert replayed.get("/admin").status == 302
        refused = replayed.post("/admin/unit/S1/link", {"csrf": board.csrf()})
        assert refused.status == 403 and "本次操作没有执行" in refused.text and "链接无效" not in refused.text
        with Ledger(folder) as ledger:
            assert [a for a in ledger.actions()] == []
    finally:
        served.close()


def test_a_new_password_ends_every_session(campaign, checker):
    folder, _links = campaign
    _app, served = serve(folder, checker)
    try:
        first, second = Client(served.port), Client(served.port)
        assert login(first).status == login(second).status == 303
        with Ledger(folder) as ledger:  # as `xlkit campaign password` does, from another process
            set_password(ledger, "a-new-password-2020")
        for officer in (first, second):
            moved = officer.get("/admin")
            assert moved.status == 302 and moved.headers["location"].endswith("/admin/login")
            assert "管理密码已更改" in officer.get("/admin/login").text
        assert {why for *_rest, why in sessions(folder)} == {"password"}
        assert login(first).status == 403 and login(first, "a-new-password-2020").status == 303
    finally:
        served.close()


def test_an_idle_session_ends_and_a_used_one_lives(campaign, checker):
    folder, _links = campaign
    _app, served = serve(folder, checker, session_idle_minutes=1.5 / 60)
    try:
        officer = Client(served.port)
        assert login(officer).status == 303
        time.sleep(2.5)
        assert officer.get("/admin").status == 302
        assert "长时间未操作" in officer.get("/admin/login").text and sessions(folder)[0][3] == "idle"
    finally:
        served.close()
    with Ledger(folder) as ledger:  # the idle clock restarts at each use (the ledger's own clock, no sleeping)
        from xlkit.campaign.access import open_session

        token = open_session(ledger, "127.0.0.1")
        raw_sql(folder, "UPDATE sessions SET last_seen = last_seen - 3000 WHERE ended IS NULL")
        assert session_account(ledger, token, idle=3600) == ("admin", "")
        seen = raw_sql(folder, "SELECT last_seen FROM sessions WHERE ended IS NULL")[0][0]
        assert abs(seen - time.time()) < 60
        raw_sql(folder, "UPDATE sessions SET last_seen = last_seen - 3601 WHERE ended IS NULL")
        assert session_account(ledger, token, idle=3600) == (None, "idle")
        assert session_account(ledger, token, idle=10**9) == (None, "idle")  # ended stays ended
        assert session_account(ledger, "no-such-session", idle=3600) == (None, "")


# ------------------------------------------------------------------ logins (items 9 and 14)
def test_a_wrong_password_is_said_on_the_login_page(campaign, checker):
    folder, _links = campaign
    _app, served = serve(folder, checker)
    try:
        answer = login(Client(served.port), "wrong-password")
        assert answer.status == 403 and "密码不正确" in answer.text and 'name="password"' in answer.text
        assert "链接无效" not in answer.text
    finally:
        served.close()


def test_forty_parallel_attempts_check_no_more_than_allowed(campaign, checker):
    folder, _links = campaign
    _app, served = serve(folder, checker)
    try:
        first = Client(served.port)
        token = first.get("/admin/login").csrf()

        def attempt(_n: int) -> tuple[int, str, str]:
            client = Client(served.port)
            client.cookies = dict(first.cookies)
            answer = client.post("/admin/login", {"csrf": token, "password": "wrong-password"})
            return answer.status, answer.text, answer.headers.get("retry-after", "")

        with ThreadPoolExecutor(40) as pool:
            answers = list(pool.map(attempt, range(40), timeout=300))
        checked = [a for a in answers if a[0] == 403]
        waiting = [a for a in answers if a[0] == 429]
        assert len(checked) == PER_ADDRESS.free and len(waiting) == 40 - PER_ADDRESS.free, [a[0] for a in answers]
        assert all("密码不正确" in text for _s, text, _r in checked)
        assert all("尝试次数过多" in text and "秒后再试" in text and 0 < int(after) <= 16 for _s, text, after in waiting)
        assert "尝试次数过多" in login(first).text  # the right password waits too: it is not checked
    finally:
        served.close()


def test_attempts_are_keyed_by_address_behind_a_trusted_proxy(campaign, checker):
    folder, _links = campaign
    _app, served = serve(folder, checker, trusted_proxy="127.0.0.1", trusted_proxy_headers="x-forwarded-for x-forwarded-proto")
    try:
        def attempt(address: str, password: str = "wrong-password") -> int:
            client = Client(served.port)
            page = client.request("GET", "/admin/login", headers={"X-Forwarded-For": address})
            body = f"csrf={page.csrf()}&password={password}".encode()
            return client.request("POST", "/admin/login", body, {"X-Forwarded-For": address,
                                                                  "Content-Type": "application/x-www-form-urlencoded"}).status

        assert [attempt("198.51.100.7") for _ in range(6)] == [403] * 5 + [429]  # one guesser behind the proxy
        assert attempt("203.0.113.9", PASSWORD) == 303  # the bureau, elsewhere, is not locked out
        keys = dict(((r[0], r[1]), r[2]) for r in raw_sql(folder, "SELECT account, address, failures FROM login_attempts"))
        assert keys[("admin", "198.51.100.7")] == 5 and ("admin", "203.0.113.9") not in keys and keys[("admin", "*")] == 5
    finally:
        served.close()


def test_backoff_doubles_per_address_and_slower_for_the_account(tmp_path, base):
    folder = tmp_path / "c"
    copy_campaign(base / "c", folder)
    with Ledger(folder) as ledger:
        at = 1_000_000.0
        waits = []
        for _ in range(10):  # each attempt made as soon as it is allowed
            wait = reserve_login(ledger, "10.0.0.1", at=at)
            waits.append(round(wait))
            if wait:
                at += wait
                assert reserve_login(ledger, "10.0.0.1", at=at) == 0
        assert waits == [0, 0, 0, 0, 0, 15, 30, 60, 120, 240]
        assert PER_ADDRESS.delay(50) == PER_ADDRESS.cap == 300
        assert [PER_ACCOUNT.delay(n) for n in (19, 20, 21, 22, 23, 24, 40)] == [0, 2, 2, 4, 4, 8, 120]
        for n in range(10):  # many addresses (a botnet, or colleagues behind one NAT): the account's count grows slower
            assert reserve_login(ledger, f"10.1.0.{n}", at=at) == 0
        assert reserve_login(ledger, "10.9.9.9", at=at) == 2  # the account's 20th failure: everyone waits, briefly
        assert reserve_login(ledger, "10.9.9.9", at=at + 3 * 3600) == 0  # an hour after the last wait, forgotten


def _reserve_many(folder: str) -> int:
    with Ledger(folder) as ledger:
        return sum(1 for _ in range(10) if reserve_login(ledger, "192.0.2.1") == 0)


def test_attempts_are_reserved_atomically_across_processes(tmp_path, base):
    folder = tmp_path / "c"
    copy_campaign(base / "c", folder)
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        passed = sum(pool.map(_reserve_many, [str(folder)] * 4, timeout=120))
    assert passed == PER_ADDRESS.free


# ------------------------------------------------------------------ TLS (item 8)
def test_https_sets_a_secure_host_cookie_and_hsts(campaign, checker):
    folder, _links = campaign
    plain = create_app(folder, checker).test_client().get("/admin/login")
    assert "Strict-Transport-Security" not in plain.headers and "Secure" not in plain.headers["Set-Cookie"]
    secure = create_app(folder, checker, https=True).test_client().get("/admin/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookie = secure.headers["Set-Cookie"]
    assert cookie.startswith("__Host-xlkit=") and "; Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie


# ------------------------------------------------------------------ decisions name their receipt (item 10)
def test_a_decision_on_a_receipt_no_longer_current_is_refused(campaign, checker, base):
    folder, links = campaign
    _app, served = serve(folder, checker)
    try:
        unit = Client(served.port)
        first = receipt_of(upload(unit, links["S1"], "S1.xlsx", (base / "S1_clean.xlsx").read_bytes()))
        officer = Client(served.port)
        assert login(officer).status == 303
        page = officer.get("/admin/unit/S1")  # the officer reads receipt `first`
        assert re.findall(r'name="receipt" value="(\d+)"', page.text) == [str(first)] * 2
        second = receipt_of(upload(unit, links["S1"], "S1_新.xlsx", (base / "S1_warning.xlsx").read_bytes()))  # meanwhile
        for action, fields in (("accept", {}), ("return", {"reason": "请核实"})):
            answer = officer.post(f"/admin/unit/S1/{action}", {"csrf": page.csrf(), "receipt": str(first), **fields})
            assert answer.status == 303
            shown = officer.get("/admin/unit/S1").text
            flash = shown.split('class="flash" role="status">', 1)[1].split("</div>", 1)[0]
            assert f"（收件 {second}，S1_新.xlsx" in flash and f"针对的是收件 {first}" in flash, flash
        with Ledger(folder) as ledger:
            assert ledger.actions() == []  # neither was recorded: the new file was not seen
        missing = officer.post("/admin/unit/S1/accept", {"csrf": page.csrf()})  # a form without the receipt decides nothing
        assert missing.status == 303 and "页面已过期" in officer.get("/admin/unit/S1").text
        no_reason = officer.post("/admin/unit/S1/return", {"csrf": page.csrf(), "receipt": str(second), "reason": "  "})
        assert no_reason.status == 303
        said = officer.get("/admin/unit/S1").text
        assert "退回须写明原因" in said and "--reason" not in said
        assert officer.post("/admin/unit/S1/accept", {"csrf": page.csrf(), "receipt": str(second)}).status == 303
        with Ledger(folder) as ledger:
            assert [(a.kind, a.receipt) for a in ledger.actions()] == [("accept", second)]
    finally:
        served.close()


# ------------------------------------------------------------------ defence in depth (item 15)
def test_the_csp_allows_our_style_and_script_by_hash_only(campaign, checker):
    folder, links = campaign
    client = create_app(folder, checker).test_client()
    answer = client.get(f"/u/{links['S1']}")
    csp = answer.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-hashes" not in csp
    html = answer.get_data(as_text=True)
    [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
    [script] = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert f"style-src {policy.hash_source(style)};" in csp and f"script-src {policy.hash_source(script)};" in csp
    assert '"Noto Sans CJK SC","Microsoft YaHei",sans-serif' in style and "&#34;" not in style  # the CSS as written
    assert 'getElementById("drop")' in script
    for path in ("/", "/admin/login", f"/u/{links['S1']}"):
        assert " style=" not in client.get(path).get_data(as_text=True)  # an inline style attribute would be blocked


def test_a_new_link_stays_on_the_server_and_never_takes_the_host_header(campaign, checker):
    folder, links = campaign
    app, served = serve(folder, checker)
    try:
        officer = Client(served.port)
        assert login(officer).status == 303
        board = officer.request("GET", "/admin", headers={"Host": "evil.example"})
        assert "新生成的报送链接以" in board.text and "evil.example" not in board.text
        made = officer.request("POST", "/admin/unit/S2/link", f"csrf={board.csrf()}".encode(),
                               {"Host": "evil.example", "Content-Type": "application/x-www-form-urlencoded"})
        assert made.status == 303
        assert set(payload(app, officer)) <= {"sid", "csrf", "flash"}
        shown = officer.request("GET", "/admin/unit/S2", headers={"Host": "evil.example"})
        link = shown.text.split("<code>", 1)[1].split("</code>", 1)[0]
        assert "evil.example" not in link and token_of(link) not in str(officer.cookies)
        assert Client(served.port).get(f"/u/{token_of(link)}").status == 200 and links["S2"] != token_of(link)
        assert "<code>" not in officer.get("/admin/unit/S2").text  # shown once
    finally:
        served.close()
    configured = create_app(folder, checker, base_url="https://tb.example.gov.cn/").test_client()
    listening = create_app(folder, checker, listen="http://10.0.0.5:8750").test_client()
    for client, start in ((configured, "https://tb.example.gov.cn/u/"), (listening, "http://10.0.0.5:8750/u/")):
        page = client.get("/admin/login")
        client.post("/admin/login", data={"csrf": page.get_data(as_text=True).split('name="csrf" value="')[1].split('"')[0],
                                           "password": PASSWORD})
        board = client.get("/admin").get_data(as_text=True)
        assert ("新生成的报送链接以" in board) is (start.startswith("http://"))  # said on the board only when not configured
        csrf = board.split('name="csrf" value="')[1].split('"')[0]
        client.post("/admin/unit/S2/link", data={"csrf": csrf})
        shown = client.get("/admin/unit/S2").get_data(as_text=True)
        assert shown.split("<code>", 1)[1].startswith(start)


def test_pages_hold_no_inline_handlers():
    """The CSP allows two texts by hash: the templates hold no other script or style."""
    templates = "".join(getattr(pages, name) for name in ("LAYOUT", "UNIT", "LOGIN", "BOARD", "DETAIL", "ERROR"))
    assert templates.count("<script>") == 1 and templates.count("<style>") == 1
    assert not re.search(r"\son[a-z]+=|\sstyle=|javascript:", templates)


def test_serve_passes_tls_proxy_and_idle_settings(campaign, monkeypatch):
    from click.testing import CliRunner

    import xlkit.web.serving
    from xlkit.cli import main

    folder, _links = campaign
    seen: dict = {}
    monkeypatch.setattr(xlkit.web.serving, "serve", lambda app, **options: seen.update(app=app, **options))
    answer = CliRunner().invoke(main, ["serve", str(folder), "--https", "--trusted-proxy", "127.0.0.1", "--session-idle-minutes", "5"])
    assert answer.exit_code == 0, answer.output
    assert (seen["trusted_proxy"], seen["trusted_proxy_headers"], seen["url_scheme"]) == ("127.0.0.1", "x-forwarded-for x-forwarded-proto", "https")
    app = seen["app"]
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_NAME"] == "__Host-xlkit"
    assert "以 https://127.0.0.1:8750 开头" in answer.output  # no --base-url: links start with the address listened on
    seen.clear()
    plain = CliRunner().invoke(main, ["serve", str(folder), "--base-url", "https://tb.example.gov.cn"])
    assert plain.exit_code == 0 and "trusted_proxy" not in seen and seen["url_scheme"] == "http" and "开头" not in plain.output
    assert not seen["app"].config["SESSION_COOKIE_SECURE"]


@pytest.mark.sqlite_only
def test_a_ledger_from_before_sessions_gets_their_tables(campaign, checker):
    folder, _links = campaign
    with sqlite3.connect(folder / "ledger.sqlite") as db:
        db.executescript("DROP TABLE sessions; DROP TABLE login_attempts;")
    client = create_app(folder, checker).test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    token = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/admin/login", data={"csrf": token, "password": PASSWORD}).status_code == 303
    assert client.get("/admin").status_code == 200 and len(sessions(folder)) == 1
