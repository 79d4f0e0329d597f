"""The ledger on PostgreSQL: init --db, the folder's address, migrate from SQLite, an unreachable or vanishing server,
and two `xlkit serve` processes on one campaign (one killed mid-wave). The campaign, web and session tests run on
this backend too (conftest's `backend`); these are the parts only a server has."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pgserver
import pytest
from campaign import filled_returns, ledger_rows, make_campaign
from click.testing import CliRunner
from web import Client, receipt_of, token_of, upload

from xlkit.campaign.access import issue_links
from xlkit.campaign.actions import accept_unit, history, return_unit
from xlkit.campaign.integrity import verify
from xlkit.campaign.ledger import Ledger, LedgerUnavailable
from xlkit.campaign.receive import receive
from xlkit.campaign.state import unit_states
from xlkit.cli import main
from xlkit.web.app import create_app

XLKIT = [sys.executable, "-m", "xlkit"]
ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\n" + "".join(f"P{k:03d},单位{k},一局,张{k},0730-{k}\n" for k in range(1, 101))


@pytest.fixture(scope="module")
def files(tmp_path_factory, spec) -> Path:
    """A roster of 100 units and P001's and P002's workbooks, filled."""
    return filled_returns(tmp_path_factory.mktemp("pg_files"), ROSTER, ("P001", "P002"), spec)


def statuses(folder: Path) -> dict[str, str]:
    with Ledger(folder, readonly=True) as ledger:
        return {s.code: s.status for s in unit_states(ledger)}


def test_init_with_db_records_the_address_and_every_command_finds_it(pg_server, files, tmp_path):
    folder, secret = tmp_path / "c", tmp_path / "pw.txt"
    secret.write_text("not-needed-by-trust-but-never-written\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(main, ["campaign", "init", str(tmp_path / "x"), "--roster", str(files / "roster.csv"), "--year", "2019",
                                   "--db", pg_server.url.replace("xlkit@", "xlkit:secret@")])
    assert refused.exit_code == 2 and "不能写密码" in refused.output and not (tmp_path / "x").exists()
    made = runner.invoke(main, ["campaign", "init", str(folder), "--roster", str(files / "roster.csv"), "--year", "2019",
                                "--db", pg_server.url, "--schema", "city_2019", "--db-password-file", str(secret)])
    assert made.exit_code == 0, made.output
    settings = json.loads((folder / "ledger.json").read_text(encoding="utf-8"))
    assert settings == {"database": pg_server.url, "schema": "city_2019", "blobs": "folder", "password_file": str(secret)}
    assert not (folder / "ledger.sqlite").exists()
    assert all(b"never-written" not in p.read_bytes() for p in folder.rglob("*") if p.is_file())  # the address, never the password
    again = runner.invoke(main, ["campaign", "init", str(tmp_path / "d"), "--roster", str(files / "roster.csv"), "--year", "2019",
                                 "--db", pg_server.url, "--schema", "city_2019"])
    assert again.exit_code == 2 and "已有报送任务 city_2019" in again.output  # a schema in use is never replaced
    got = runner.invoke(main, ["receive", str(folder), str(files / "P001.xlsx")])
    assert got.exit_code == 0 and "已记录 1" in got.output, got.output
    assert statuses(folder)["P001"] == "received"
    for args in (["status", str(folder)], ["campaign", "verify", str(folder)], ["history", str(folder), "P001"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0 and "Traceback" not in result.output, (args, result.output)
    assert ledger_rows(folder, "SELECT COUNT(*) FROM receipts") == [(1,)]


def test_an_unreachable_database_is_one_line_naming_the_host(pg_server, files, tmp_path):
    port = pgserver.free_port()
    away = pg_server.url.replace(f":{pg_server.port}/", f":{port}/")
    folder = tmp_path / "c"
    made = subprocess.run([*XLKIT, "campaign", "init", str(folder), "--roster", str(files / "roster.csv"), "--year", "2019", "--db", away],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 2 and f"127.0.0.1:{port}" in made.stderr and "Traceback" not in made.stderr
    assert not (folder / "ledger.json").exists()
    folder.mkdir(exist_ok=True)
    (folder / "ledger.json").write_text(json.dumps({"database": away, "schema": "gone"}), encoding="utf-8")
    for args in (["status", str(folder)], ["receive", str(folder), str(files / "P001.xlsx")]):
        run = subprocess.run([*XLKIT, *args], capture_output=True, text=True, timeout=120)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and lines[0].startswith("错误：") and f"127.0.0.1:{port}" in lines[0], run.stderr


def test_migrate_moves_everything_and_a_failed_one_leaves_sqlite_as_it_was(pg_server, files, tmp_path, spec):
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, "sqlite")
    receive(folder, [files / "P001.xlsx", files / "P002.xlsx"])
    return_unit(folder, "P001", "请补充说明", by="审核员")
    accept_unit(folder, "P002", by="审核员")
    with Ledger(folder) as ledger:
        issue_links(ledger, ["P003"])
    before = statuses(folder), history(folder, "P001")[1], (folder / "ledger.sqlite").read_bytes()
    runner = CliRunner()

    away = pg_server.url.replace(f":{pg_server.port}/", f":{pgserver.free_port()}/")
    failed = runner.invoke(main, ["campaign", "migrate", str(folder), "--to", away])
    assert failed.exit_code == 2 and "无法连接台账数据库" in failed.output
    blob = next((folder / "archive").glob("??/*"))
    blob.chmod(0o644)
    original = blob.read_bytes()
    blob.write_bytes(b"changed")  # verify fails on the copy: the new schema is dropped, the folder keeps SQLite
    failed = runner.invoke(main, ["campaign", "migrate", str(folder), "--to", pg_server.url, "--schema", "moved"])
    assert failed.exit_code == 2 and "核对未通过" in failed.output and "仍是原来的 SQLite" in failed.output, failed.output
    assert not (folder / "ledger.json").exists() and (folder / "ledger.sqlite").read_bytes() == before[2]
    assert not (folder / ".migrate-check").exists()
    blob.write_bytes(original)

    moved = runner.invoke(main, ["campaign", "migrate", str(folder), "--to", pg_server.url, "--schema", "moved"])
    assert moved.exit_code == 0 and "核对通过" in moved.output, moved.output
    assert (folder / "ledger.json").exists() and (folder / "ledger.sqlite.migrated").exists() and not (folder / "ledger.sqlite").exists()
    assert statuses(folder) == before[0] and history(folder, "P001")[1] == before[1]
    assert verify(folder)[1] == []
    later = receive(folder, [Path(shutil.copy(files / "P001.xlsx", tmp_path / "P001_again.xlsx"))])[0]
    assert later.receipt == 3 and statuses(folder)["P001"] == "resubmitted"  # ids continue after the copied ones
    assert runner.invoke(main, ["campaign", "migrate", str(folder), "--to", pg_server.url]).exit_code == 2  # once only


@pytest.fixture
def own_server():
    """A server of this test's own, to stop and start again."""
    server = pgserver.PgServer()
    yield server
    server.stop()


def _gone_mid_receive(folder: Path, inputs: list[Path], server: pgserver.PgServer) -> None:
    """In a forked child (as `xlkit receive` would): the server stops before the second receipt; exit 3 when the
    error names the server's host, as the command's one line does."""
    import xlkit.campaign.receive as receiving

    real, calls = Ledger.add_receipt, [0]
    receiving.BATCH = 1  # a transaction per receipt: the first stays recorded

    def then_gone(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] == 2:
            server.halt()
        return real(self, *args, **kwargs)

    Ledger.add_receipt = then_gone  # type: ignore[method-assign]
    try:
        receive(folder, inputs)
    except LedgerUnavailable as exc:
        os._exit(3 if f"127.0.0.1:{server.port}" in str(exc) else 4)
    os._exit(0)


def test_a_server_gone_mid_receive_records_nothing_half_and_a_rerun_finishes(own_server, files, tmp_path):
    import multiprocessing

    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, own_server.url)
    inputs = [files / "P001.xlsx", files / "P002.xlsx"]
    child = multiprocessing.get_context("fork").Process(target=_gone_mid_receive, args=(folder, inputs, own_server))
    child.start()
    child.join(timeout=300)
    assert child.exitcode == 3
    assert len(list((folder / "archive").glob("??/*"))) == 2  # the archive keeps what it took

    own_server.start()  # the web app, when its server goes: a clear answer, no receipt
    with Ledger(folder) as ledger:
        token = issue_links(ledger, ["P003"])[0].token
        assert len(ledger.receipts()) == 1
    app = create_app(folder).test_client()
    page = app.get(f"/u/{token}").get_data(as_text=True)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    own_server.halt()
    with (files / "P001.xlsx").open("rb") as handle:
        answer = app.post(f"/u/{token}/upload", data={"csrf": csrf, "file": (handle, "P003.xlsx")})
    assert answer.status_code == 503 and "系统暂时无法接收，请稍后再试" in answer.get_data(as_text=True)
    own_server.start()

    assert all(r.receipt for r in receive(folder, inputs))  # the same batch again: the rest recorded
    with Ledger(folder) as ledger:
        assert sorted(r.unit_code for r in ledger.receipts()) == ["P001", "P002"]  # each file once: none for P003
    assert verify(folder)[1] == []


def _serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*XLKIT, "serve", str(folder), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(port: int, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no server on {port}")


def test_two_servers_one_ledger_and_one_killed_mid_wave(pg_server, files, tmp_path):
    """100 units upload through two `xlkit serve` processes at once; then a second wave, one server SIGKILLed in
    the middle: every upload answered 已收到 is in the ledger exactly once, statuses agree, verify is clean."""
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, pg_server.url)
    with Ledger(folder) as ledger:
        tokens = {link.unit_code: token_of(link.url("http://x")) for link in issue_links(ledger)}
    data = (files / "P001.xlsx").read_bytes()  # the same bytes for all: checked once, the cache serves the rest
    ports = [pgserver.free_port(), pgserver.free_port()]
    servers = [_serve(folder, port) for port in ports]
    try:
        for port in ports:
            _wait_for(port)
        codes = sorted(tokens)
        answered: list[int] = []

        def send(k: int) -> int | None:
            code = codes[k % len(codes)]
            try:
                response = upload(Client(ports[k % 2]), tokens[code], f"{code}.xlsx", data)
            except (OSError, http.client.HTTPException):
                return None  # cut off by the kill: acknowledged nothing
            if response.status != 303 or "?r=" not in response.headers.get("location", ""):
                return None
            return receipt_of(response)

        with ThreadPoolExecutor(8) as pool:  # wave one: 100 uploads, bounded in count and time
            first = [r for r in pool.map(send, range(100), timeout=600) if r]
        assert len(first) == 100 and len(set(first)) == 100
        answered += first

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(send, k) for k in range(100, 200)]
            end = time.monotonic() + 120
            while sum(f.done() for f in futures) < 20 and time.monotonic() < end:
                time.sleep(0.05)
            servers[1].send_signal(signal.SIGKILL)  # the middle of the wave
            second = [f.result(timeout=300) for f in futures]
        answered += [r for r in second if r]
        assert 20 <= len([r for r in second if r]) < 100  # some answered before the kill, those to the dead server not
    finally:
        for server in servers:
            server.kill()
            server.wait()
    with Ledger(folder, readonly=True) as ledger:
        receipts = ledger.receipts()
    ids = [r.id for r in receipts]
    assert len(ids) == len(set(ids)) and set(answered) <= set(ids)  # every acknowledged upload, once
    assert len(receipts) - len(answered) <= 8  # at most the uploads in flight on the killed server (one per thread)
    assert set(statuses(folder).values()) <= {"received", "resubmitted", "failed"} and verify(folder)[1] == []
    assert ledger_rows(folder, "SELECT COUNT(*) FROM claims") in ([(0,)], [(1,)], [(2,)])  # a dead server's claim is dead, not held


def test_a_session_made_on_one_server_is_valid_on_another(pg_server, files, tmp_path):
    """Two `xlkit serve` processes on one campaign whose files are kept in the database: an officer logs in on A;
    the same cookie opens the board on B, a new unit link made on A is shown by B, B takes the CSRF token A made, and
    logging out on B ends the session on A.
    A unit's upload through B is checked by B's checker from the database's bytes (no archive/ anywhere)."""
    from web import PASSWORD, login

    from xlkit.campaign.access import set_password

    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, pg_server.url, blobs="database")
    with Ledger(folder) as ledger:
        set_password(ledger, PASSWORD)
        token = issue_links(ledger, ["P002"])[0].token
    ports = [pgserver.free_port(), pgserver.free_port()]
    servers = [_serve(folder, port) for port in ports]
    try:
        for port in ports:
            _wait_for(port)
        on_a = Client(ports[0])
        assert login(on_a).status == 303 and on_a.cookies
        board_a = on_a.get("/admin")
        assert board_a.status == 200 and "报送情况" in board_a.text
        on_b = Client(ports[1])
        assert on_b.get("/admin").status in (302, 303)  # no session of its own: B sends it to the login page
        on_b.cookies = dict(on_a.cookies)  # the same browser, its next request balanced to B
        board_b = on_b.get("/admin")
        assert board_b.status == 200 and "报送情况" in board_b.text
        made = on_a.post("/admin/unit/P003/link", {"csrf": board_a.csrf()})  # a new link made on A...
        assert made.status == 303 and made.headers["location"].endswith("/admin/unit/P003")
        [(sealed,)] = ledger_rows(folder, "SELECT sealed FROM session_links")
        shown = on_b.get("/admin/unit/P003").text  # ...shown once by B, which answers the redirect
        link = shown.split("新的报送链接（只显示这一次）：<code>", 1)[1].split("</code>", 1)[0]
        assert Client(ports[0]).get(f"/u/{token_of(link)}").status == 200 and "<code>" not in on_a.get("/admin/unit/P003").text
        assert token_of(link) not in str(on_a.cookies) and token_of(link).encode() not in sealed  # neither cookie nor row shows it
        assert ledger_rows(folder, "SELECT COUNT(*) FROM session_links") == [(0,)]
        assert on_b.post("/admin/logout", {"csrf": "not-the-token"}).status == 400  # B checks the token...
        assert on_b.post("/admin/logout", {"csrf": board_a.csrf()}).status == 303  # ...and takes the one A made
        after = on_a.get("/admin")  # A's cookie as it was before the logout: the session row has ended
        assert after.status in (302, 303) and after.headers["location"].endswith("/admin/login")

        uploaded = upload(Client(ports[1]), token, "P002.xlsx", (files / "P002.xlsx").read_bytes())
        assert uploaded.status == 303 and receipt_of(uploaded)
    finally:
        for server in servers:
            server.kill()
            server.wait()
    assert ledger_rows(folder, "SELECT unit_code, errors FROM receipts") == [("P002", 0)]
    assert ledger_rows(folder, "SELECT COUNT(*) FROM blob_data") == [(1,)] and not (folder / "archive").exists()
    assert verify(folder)[1] == []


def test_a_test_run_killed_with_sigkill_leaves_no_server_behind():
    """pg_ctl detaches the private server; its watcher stops it and removes its folder once the process that made it
    is gone, however it ended."""
    why = pgserver.available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no PostgreSQL: {why}")
        pytest.skip(why)
    code = "import pgserver, time; s = pgserver.PgServer(); print(s.port, s.root, flush=True); time.sleep(600)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent)
    try:
        port, root = child.stdout.readline().split()  # type: ignore[union-attr]
        socket.create_connection(("127.0.0.1", int(port)), timeout=5).close()  # it serves
    finally:
        child.kill()
        child.wait(30)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Path(root).exists():
        time.sleep(0.5)
    assert not Path(root).exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(port)), timeout=2).close()
