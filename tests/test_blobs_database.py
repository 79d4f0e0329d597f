"""`--blobs database`: a PostgreSQL campaign keeping received files' bytes in its database. Received, checked,
consolidated and given back without an archive/ folder; verify re-hashes the stored bytes; a damaged copy is named,
then healed by the same bytes arriving again; web uploads; `campaign migrate --blobs database`."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from campaign import filled_returns, ledger_rows, make_campaign
from click.testing import CliRunner

from xlkit.campaign.access import issue_links
from xlkit.campaign.account import consolidate_campaign
from xlkit.campaign.integrity import copy_out, verify
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.receive import receive
from xlkit.cli import main
from xlkit.errors import CampaignError
from xlkit.web.app import create_app

ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\n" + "".join(f"B{k:03d},单位{k},一局,张{k},0730-{k}\n" for k in range(1, 6))


@pytest.fixture(scope="module")
def files(tmp_path_factory, spec) -> Path:
    """A roster of 5 units and B001's and B002's workbooks, filled."""
    return filled_returns(tmp_path_factory.mktemp("blob_files"), ROSTER, ("B001", "B002"), spec)


def _schema(folder: Path) -> str:
    return str(json.loads((folder / "ledger.json").read_text(encoding="utf-8"))["schema"])


def _sql(url: str, folder: Path, statement: str, params: tuple = ()) -> None:
    """A change under the ledger's operations, as damage from outside would make it."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{_schema(folder)}"')
        conn.execute(statement, params)


def test_receive_check_consolidate_copy_out_verify_and_heal(pg_server, files, tmp_path, monkeypatch):
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, pg_server.url, blobs="database")
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # where the checker's copies go: seen empty after
    results = receive(folder, [files / "B001.xlsx", files / "B002.xlsx", Path(shutil.copy(files / "B001.xlsx", tmp_path / "again.xlsx"))])
    assert [r.unit_code for r in results] == ["B001", "B002", "B001"] and all(r.receipt for r in results)  # read from the database's bytes
    assert not (folder / "archive").exists() and list(private.iterdir()) == []
    data = {code: (files / f"{code}.xlsx").read_bytes() for code in ("B001", "B002")}
    shas = {code: hashlib.sha256(b).hexdigest() for code, b in data.items()}
    assert sorted(ledger_rows(folder, "SELECT sha256, LENGTH(data) FROM blob_data")) == sorted(
        (shas[c], len(data[c])) for c in data)  # the same bytes once

    _sql(pg_server.url, folder, "DELETE FROM checks")  # consolidation checks again, from the database's bytes
    consolidation, checked = consolidate_campaign(str(folder))
    assert checked == 2 and list(private.iterdir()) == []
    assert {s.unit_code for s in consolidation.all_files if s.unit_code} >= {"B001", "B002"}

    out = tmp_path / "out.xlsx"
    assert copy_out(folder, shas["B002"], out) == len(data["B002"]) and out.read_bytes() == data["B002"]
    runner = CliRunner()
    cli_out = tmp_path / "cli.xlsx"
    assert runner.invoke(main, ["archive", str(folder), shas["B001"], "-o", str(cli_out)]).exit_code == 0
    assert cli_out.read_bytes() == data["B001"]
    assert verify(folder)[:2] == (2, [])
    clean = runner.invoke(main, ["campaign", "verify", str(folder)])
    assert clean.exit_code == 0 and "全部完好" in clean.output and "未登记" not in clean.output

    damaged = bytearray(data["B001"])
    damaged[len(damaged) // 2] ^= 0xFF
    _sql(pg_server.url, folder, "UPDATE blob_data SET data = %s WHERE sha256 = %s", (bytes(damaged), shas["B001"]))
    _sql(pg_server.url, folder, "UPDATE blob_data SET data = %s WHERE sha256 = %s", (data["B002"][:100], shas["B002"]))
    told = runner.invoke(main, ["campaign", "verify", str(folder)])
    assert told.exit_code == 1, told.output
    assert f"不符 {shas['B001']}：内容与摘要不符" in told.output
    assert f"不符 {shas['B002']}：大小不符（台账 {len(data['B002'])} 字节，数据库中 100 字节）" in told.output
    with pytest.raises(CampaignError, match="内容与摘要不符"):
        copy_out(folder, shas["B001"], tmp_path / "no.xlsx")
    assert not (tmp_path / "no.xlsx").exists()

    healed = receive(folder, [Path(shutil.copy(files / "B001.xlsx", tmp_path / "B001_3.xlsx")), files / "B002.xlsx"])
    assert all(r.receipt for r in healed)
    assert verify(folder)[1] == []
    assert sorted(ledger_rows(folder, "SELECT sha256, data FROM blob_data")) == sorted((shas[c], data[c]) for c in data)


def test_web_upload_keeps_the_bytes_in_the_database(pg_server, files, tmp_path):
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, pg_server.url, blobs="database")
    with Ledger(folder) as ledger:
        token = issue_links(ledger, ["B002"])[0].token
    app = create_app(folder).test_client()
    page = app.get(f"/u/{token}").get_data(as_text=True)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    with (files / "B002.xlsx").open("rb") as handle:
        answer = app.post(f"/u/{token}/upload", data={"csrf": csrf, "file": (handle, "B002.xlsx")})
    assert answer.status_code == 303 and "?r=" in answer.headers["Location"]
    data = (files / "B002.xlsx").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    assert ledger_rows(folder, "SELECT unit_code, sha256, errors FROM receipts") == [("B002", sha, 0)]
    assert ledger_rows(folder, "SELECT data FROM blob_data") == [(data,)]
    assert not (folder / "archive").exists() and verify(folder)[1] == []


def test_init_takes_blobs_database_only_with_a_database(pg_server, files, tmp_path):
    runner = CliRunner()
    alone = runner.invoke(main, ["campaign", "init", str(tmp_path / "x"), "--roster", str(files / "roster.csv"), "--year", "2019",
                                 "--blobs", "database"])
    assert alone.exit_code == 2 and "--db postgresql://" in alone.output and not (tmp_path / "x").exists()
    folder = tmp_path / "c"
    made = runner.invoke(main, ["campaign", "init", str(folder), "--roster", str(files / "roster.csv"), "--year", "2019",
                                "--db", pg_server.url, "--blobs", "database"])
    assert made.exit_code == 0, made.output
    assert json.loads((folder / "ledger.json").read_text(encoding="utf-8"))["blobs"] == "database"
    got = runner.invoke(main, ["receive", str(folder), str(files / "B001.xlsx")])
    assert got.exit_code == 0 and "已记录 1" in got.output, got.output
    assert not (folder / "archive").exists() and ledger_rows(folder, "SELECT COUNT(*) FROM blob_data") == [(1,)]


def test_migrate_with_blobs_database_copies_the_archive_and_verifies_it(pg_server, files, tmp_path):
    folder = tmp_path / "c"
    make_campaign(folder, files / "roster.csv", 2019, "sqlite")
    receive(folder, [files / "B001.xlsx", files / "B002.xlsx"])
    before = (folder / "ledger.sqlite").read_bytes()
    runner = CliRunner()
    blob = next((folder / "archive").glob("??/*"))
    blob.chmod(0o644)
    original = blob.read_bytes()
    blob.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # a changed file is copied as found, and verify refuses it
    failed = runner.invoke(main, ["campaign", "migrate", str(folder), "--to", pg_server.url, "--blobs", "database"])
    assert failed.exit_code == 2 and "核对未通过" in failed.output and f"{blob.name}：内容与摘要不符" in failed.output, failed.output
    assert not (folder / "ledger.json").exists() and (folder / "ledger.sqlite").read_bytes() == before
    blob.write_bytes(original)

    moved = runner.invoke(main, ["campaign", "migrate", str(folder), "--to", pg_server.url, "--blobs", "database"])
    assert moved.exit_code == 0 and "核对通过" in moved.output and "存入数据库" in moved.output, moved.output
    assert json.loads((folder / "ledger.json").read_text(encoding="utf-8"))["blobs"] == "database"
    shutil.rmtree(folder / "archive")  # from now on the bytes come from the database
    assert verify(folder)[:2] == (2, [])
    sha = hashlib.sha256((files / "B001.xlsx").read_bytes()).hexdigest()
    assert copy_out(folder, sha, tmp_path / "out.xlsx") and (tmp_path / "out.xlsx").read_bytes() == (files / "B001.xlsx").read_bytes()
