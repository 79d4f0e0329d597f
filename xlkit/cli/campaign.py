"""The campaign commands: a folder with a ledger that remembers every file, decision and explanation."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .common import CliError, bounds, dumps, reports_errors
from .helptext import command, group


def db_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--db-password-file", type=click.Path(dir_okay=False),
                           help="存放数据库密码的文件（台账只记它的路径，不记密码）。")(command)
    command = click.option("--blobs", type=click.Choice(["folder", "database"]), default="folder", show_default=True,
                           help="收到的文件存放在哪里：folder 为目录中的 archive/（多台机器共用该目录），"
                                "database 为台账的数据库，多台机器只共用数据库（仅限 PostgreSQL）。")(command)
    command = click.option("--schema", help="本报送任务的 PostgreSQL schema（默认：由目录名生成）。")(command)
    return click.option("--db", metavar="URL", help="台账存入 PostgreSQL：postgresql://USER@HOST:PORT/DBNAME（不含密码）。")(command)


ZONE_OPTION = click.option("--timezone", "zone", default="Asia/Shanghai", show_default=True, metavar="ZONE",
                           help="显示时间所用的本地时区（IANA 时区名）。")


@group()
def campaign() -> None:
    """建立和核对报送任务。报送任务目录中有台账、存档和下发的工作簿。"""


@campaign.command(name="init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--roster", "roster_path", required=True, type=click.Path(dir_okay=False), help="单位名单（CSV 或 xlsx）。")
@click.option("--year", required=True, type=click.IntRange(2000, 2100), metavar="YEAR", help="报送年度。")
@click.option("--spec", "spec_paths", multiple=True, type=click.Path(), help="表式文件或文件夹（第一个为现行表式）；可重复。")
@click.option("--deadline", metavar="YYYY-MM-DD", help="截止日期（xlkit status 显示剩余天数）。")
@click.option("--previous", type=click.Path(file_okay=False), help="上年的报送任务目录：预填上年数，汇总表中做上年对比。")
@click.option("--require-explanations", is_flag=True, help="警告未填说明的文件，xlkit accept 不予确认。")
@click.option("--password", help="下发工作簿的保护密码。")
@click.option("--issuer", help="制表的财政部门（默认：表式中的）。")
@click.option("--admin-password-file", type=click.Path(dir_okay=False), help="存放 xlkit serve 管理密码的文件。")
@click.option("--admin-password", "ask_password", is_flag=True, help="在命令行输入 xlkit serve 的管理密码。")
@click.option("--review", type=click.Choice(["one-level", "two-level"]), default="one-level", show_default=True,
              help="one-level 由财政部门审核；two-level 由各主管部门先初审其单位，再由财政部门确认。")
@db_options
@reports_errors
def init(directory: str, roster_path: str, year: int, spec_paths: tuple[str, ...], deadline: str | None, previous: str | None,
         require_explanations: bool, password: str | None, issuer: str | None, admin_password_file: str | None, ask_password: bool,
         review: str, db: str | None, schema: str | None, blobs: str, db_password_file: str | None) -> None:
    """建立报送任务。在 DIRECTORY 中写入台账和名单副本，distributed/ 中每个单位一份工作簿。"""
    from ..campaign.access import MIN_PASSWORD
    from ..campaign.setup import DISTRIBUTED, init_campaign

    admin = _admin_password(admin_password_file, ask_password)
    if admin is not None and len(admin) < MIN_PASSWORD:  # refused before anything is created
        raise CliError(f"管理密码至少 {MIN_PASSWORD} 个字符")
    where = _location(Path(directory), db, schema, blobs, db_password_file)
    results = init_campaign(directory, roster_path, year, spec_paths, deadline, previous, require_explanations, password, issuer,
                            notice=lambda text: click.echo(text, err=True), where=where)
    click.echo(f"报送任务 {directory}：{year} 年度，{len(results)} 个单位，模板在 {Path(directory) / DISTRIBUTED}"
               + (f"，截止 {deadline}" if deadline else "") + (f"，上年任务 {previous}" if previous else ""))
    if admin is not None:
        _set_password(directory, admin)
    if review != "one-level":
        from ..campaign.ledger import Ledger
        from ..campaign.review import REVIEWS, set_review

        with Ledger(directory) as ledger:
            set_review(ledger, review)
        click.echo(f"审核方式：{REVIEWS[review]}；主管部门的账号用 xlkit campaign user add … --role department 建立")


def _location(folder: Path, db: str | None, schema: str | None, blobs: str, password_file: str | None) -> Any:
    """The database a new or migrated campaign's ledger goes to (None: the folder's SQLite file)."""
    from ..campaign.ledger import Location
    from ..campaign.ledger.location import SCHEMA_NAME, check_address, default_schema

    if db is None:
        if schema or blobs != "folder" or password_file:
            raise CliError("--schema、--blobs 和 --db-password-file 只用于 PostgreSQL 台账：请同时给出 --db postgresql://…")
        return None
    check_address(db)
    if schema is not None and not SCHEMA_NAME.fullmatch(schema):
        raise CliError(f"schema 名称「{schema}」无效：用小写字母、数字和下划线，以字母或下划线开头，至多 63 个字符")
    return Location(db, schema or default_schema(folder), blobs, str(Path(password_file).resolve()) if password_file else "")


def _admin_password(path: str | None, ask: bool) -> str | None:
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"无法读取密码文件 {path}（{exc.strerror if isinstance(exc, OSError) and exc.strerror else '不是 UTF-8 文本'}）") from None
    if ask:
        return str(click.prompt("管理密码", hide_input=True, confirmation_prompt=True))
    return None


def _set_password(directory: str, password: str) -> None:
    from ..campaign.access import set_password
    from ..campaign.ledger import Ledger

    with Ledger(directory) as ledger:
        set_password(ledger, password)
    click.echo("管理密码已设置（scrypt 摘要保存在台账中）")


@campaign.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--file", "password_file", type=click.Path(dir_okay=False), help="存放密码的文件（默认：在命令行输入）。")
@reports_errors
def password(directory: str, password_file: str | None) -> None:
    """设置或更改 xlkit serve 的管理密码。"""
    _set_password(directory, _admin_password(password_file, password_file is None) or "")


@campaign.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--base-url", default="http://127.0.0.1:8750", show_default=True, metavar="URL", help="单位访问 xlkit serve 的地址。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="要写出的 CSV（默认：直接显示）。")
@click.option("--unit", "units", multiple=True, metavar="UNIT", help="只处理这些单位（单位编码，可重复）；默认：名单中全部单位。")
@click.option("--revoke", is_flag=True, help="作废这些单位的链接，不发新链接。")
@reports_errors
def links(directory: str, base_url: str, output: str | None, units: tuple[str, ...], revoke: bool) -> None:
    """生成各单位专属的报送链接。链接形如 URL/u/<token>；新链接发出，旧链接即作废；台账只存令牌的摘要。"""
    from ..campaign.access import issue_links, revoke_links, write_links
    from ..campaign.ledger import Ledger

    with Ledger(directory) as ledger:
        if revoke:
            if not units:
                raise CliError("作废链接须指明单位：--unit 单位编码（可重复）")
            click.echo(f"已作废 {revoke_links(ledger, list(units))} 个链接")
            return
        issued = issue_links(ledger, list(units) or None)
    if output:
        write_links(issued, base_url, Path(output))
        click.echo(f"{len(issued)} 个单位的报送链接：{output}（旧链接已作废；链接只在此文件中出现，请妥善发送）")
    else:
        for link in issued:
            click.echo(f"{link.unit_code},{link.unit_name},{link.url(base_url)}")


@campaign.command()
@click.argument("directory", type=click.Path(file_okay=False))
@ZONE_OPTION
@reports_errors
def verify(directory: str, zone: str) -> None:
    """核对台账与存档。每个文件都在、摘要都对；有不符时退出码为 1。"""
    from ..campaign.integrity import verify as run

    count, problems, notes = run(directory, zone)
    for line in problems:
        click.echo(f"不符 {line}")
    for line in notes:
        click.echo(f"提示 {line}")
    click.echo(f"核对存档 {count} 个：" + (f"{len(problems)} 处不符" if problems else "全部完好"))
    if problems:
        sys.exit(1)


@campaign.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--to", "db", required=True, metavar="URL",
              help="目标数据库 postgresql://USER@HOST:PORT/DBNAME（不含密码：用 PGPASSWORD、.pgpass 或 --db-password-file）。")
@click.option("--schema", help="本报送任务的 PostgreSQL schema（默认：由目录名生成）。")
@click.option("--db-password-file", type=click.Path(dir_okay=False),
              help="存放数据库密码的文件（台账只记它的路径，不记密码）。")
@click.option("--blobs", type=click.Choice(["folder", "database"]), default="folder", show_default=True,
              help="database：把 archive/ 中收到的文件也复制进数据库（archive/ 保持原样）。")
@reports_errors
def migrate(directory: str, db: str, schema: str | None, db_password_file: str | None, blobs: str) -> None:
    """把台账从 SQLite 迁移到 PostgreSQL。迁移后先核对（逐行比对，再核对存档），通过后目录 DIRECTORY 才改用新台账。
    请先停止本报送任务的 xlkit serve 和收件；迁移失败时 SQLite 台账保持原样。"""
    from ..campaign.migrate import MIGRATED, migrate_campaign

    where = _location(Path(directory), db, schema, blobs, db_password_file)
    counts = migrate_campaign(directory, where)
    click.echo(f"台账已迁移到 {where.database} 的 schema {where.schema}：" + "，".join(f"{t} {n} 行" for t, n in counts.items() if n))
    click.echo(f"核对通过（逐行比对，存档全部完好）；目录中的 ledger.json 记下了新地址，原 SQLite 台账保留为 {MIGRATED}")
    if blobs == "database":
        click.echo("收到的文件已存入数据库，此后从数据库读取；目录中的 archive/ 原样保留，不再使用（核对后可另行备份或删除）")


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--note", default="", help="随每条收件记录保存的备注（如文件怎样送来）。")
@click.option("--by", default="", help="收件人。")
@bounds
@reports_errors
def receive(directory: str, inputs: tuple[str, ...], note: str, by: str, jobs: int | None, timeout: float, memory_mb: int) -> None:
    """收件：把文件记入报送任务。INPUTS 为文件或文件夹（其中全部文件），逐个存档、审核，更新各单位的状态。
    有文件未记录时退出码为 1；台账中途出错时为 2（每个文件仍会列出：台账恢复后再运行同一命令即可）。"""
    from ..campaign.checks import Bounds
    from ..campaign.receive import Interrupted
    from ..campaign.receive import receive as run
    from ..intake.discover import collect_files

    paths = collect_files(list(inputs))
    if not paths:
        raise CliError(f"{'、'.join(inputs)} 中没有找到文件")
    interrupted = None
    with click.progressbar(length=len(paths), label="收件", file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
        try:
            results = run(directory, paths, note, by, Bounds(jobs, timeout, memory_mb), progress=lambda: bar.update(1))
        except Interrupted as exc:
            results, interrupted = exc.results, exc
    for r in results:
        where = f" [{r.unit_code}]" if r.unit_code else ""
        click.echo(f"{r.label} {r.name}{where}" + (f"：{r.reason}" if r.reason else ""))
    recorded = sum(1 for r in results if r.receipt)
    click.echo(f"收到 {len(results)} 个文件：已记录 {recorded}，未记录 {len(results) - recorded}")
    if interrupted is not None:
        raise CliError(str(interrupted))
    if recorded < len(results):
        sys.exit(1)


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("sha256")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="取出的文件写到这里。")
@reports_errors
def archive(directory: str, sha256: str, output: str) -> None:
    """从存档取出收到的文件。按 SHA256 摘要取出，与原件逐字节相同。"""
    from ..campaign.integrity import copy_out

    size = copy_out(directory, sha256, output)
    click.echo(f"已取出 {output}（{size} 字节）")


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON（供程序读取）。")
@click.option("--reminders", type=click.Path(dir_okay=False), help="另写出催报名单（尚未确认的单位），.xlsx 或 .csv。")
@ZONE_OPTION
@reports_errors
def status(directory: str, as_json: bool, reminders: str | None, zone: str) -> None:
    """各单位的报送情况。名单中每个单位一行：状态、主管部门、联系人、最近收件、距截止天数。"""
    from ..bureau.clock import bureau_zone
    from ..campaign.ledger import Ledger
    from ..campaign.mail import given_up, unsent
    from ..campaign.runs import describe, unfinished
    from ..campaign.state import STATUS_LABELS, parse_deadline, unit_states

    local = bureau_zone(zone)
    with Ledger(directory, readonly=True) as ledger:
        states = unit_states(ledger)
        deadline = parse_deadline(ledger.meta("deadline"))
        year = ledger.meta("year")
        broken = unfinished(ledger)
        (waiting, failing), lost = unsent(ledger), len(given_up(ledger))
    today = datetime.now(local).date()
    entries = [s.to_dict(local, deadline, today) for s in states]
    counts = Counter(s.status for s in states if s.in_roster)
    if as_json:
        click.echo(dumps({"year": year, "deadline": deadline.isoformat() if deadline else None, "today": today.isoformat(),
                          "counts": {key: counts.get(key, 0) for key in STATUS_LABELS}, "units": entries,
                          "unfinished_runs": [{"run": u.run, "started_at": u.started_at, "files": u.files, "recorded": u.recorded}
                                              for u in broken],
                          "mail": {"unsent": waiting, "failing": failing, "given_up": lost}}))
    else:
        for e in entries:
            last = f"{e['last_file']}（{e['last_received']}）" if e["last_file"] else ""
            click.echo("  ".join(str(p) for p in (e["unit_code"] or "—", e["unit_name"], e["department"], e["label"], e["step"],
                                                   e["contact"], e["phone"], last) if p))
        days = f"，距截止 {(deadline - today).days} 天" if deadline else ""
        click.echo(f"{year} 年度，名单 {sum(counts.values())} 个单位{days}：" + "，".join(
            f"{label} {counts.get(key, 0)}" for key, label in STATUS_LABELS.items()))
        for line in describe(broken, local):
            click.echo(f"提示 {line}")
        if waiting or lost:
            click.echo(f"提示 邮件：待发 {waiting} 封（其中 {failing} 封发送失败、等待重试），已放弃 {lost} 封；"
                       "xlkit mail send DIR 立即发送，xlkit campaign audit 可查失败原因")
    if reminders:
        from ..campaign.reminders import write_reminders  # the workbook machinery only when a list is asked for

        listed = write_reminders(directory, reminders, local)
        click.echo(f"催报名单：{listed} 个单位（{reminders}）", err=as_json)


RECEIPT_OPTION = click.option("--receipt", type=click.IntRange(1), metavar="N", help="针对哪一次收件（编号见 xlkit history）；"
                              "该单位已报送更新的文件时不予处理。默认：当前文件，先显示出来。")


def _decided_receipt(directory: str, unit: str, receipt: int | None, zone: str) -> int:
    """The receipt a decision is made on: the one given, or the unit's current one, said before deciding (a file
    arriving meanwhile makes the decision refused, not silently about that file)."""
    if receipt is not None:
        return receipt
    from ..bureau.clock import bureau_zone
    from ..campaign.actions import describe
    from ..campaign.ledger import Ledger
    from ..campaign.state import state_of

    with Ledger(directory, readonly=True) as ledger:
        current = state_of(ledger, unit).current
    if current is None:
        return 0  # the library says why nothing can be decided
    click.echo(f"针对当前文件：{describe(current, bureau_zone(zone))}")
    return current.id


@command(name="return")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("unit")
@click.option("--reason", required=True, help="退回原因（印在审核意见上）。")
@click.option("--by", default="", help="经办人。")
@click.option("--contact", default="", help="审核意见上印的财政部门联系方式。")
@click.option("--issuer", help="审核意见上的财政部门名称（默认：表式中的）。")
@RECEIPT_OPTION
@ZONE_OPTION
@reports_errors
def return_(directory: str, unit: str, reason: str, by: str, contact: str, issuer: str | None, receipt: int | None, zone: str) -> None:
    """退回单位的当前文件。UNIT 为单位编码；写明原因，并写出该单位的审核意见。"""
    from ..campaign.actions import return_unit

    if not reason.strip():
        raise CliError("退回须写明原因（--reason）")
    chosen = _decided_receipt(directory, unit, receipt, zone)
    decision = return_unit(directory, unit, reason, by, zone, contact, issuer, receipt=chosen or None)
    click.echo(f"{decision.unit.name}（{unit}）：{decision.unit.label}；审核意见 {decision.letter}")


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("unit")
@click.option("--by", default="", help="经办人。")
@click.option("--require-explanations", is_flag=True, default=None, help="有警告未填说明时不予确认（默认：按报送任务的设置）。")
@RECEIPT_OPTION
@ZONE_OPTION
@reports_errors
def accept(directory: str, unit: str, by: str, require_explanations: bool | None, receipt: int | None, zone: str) -> None:
    """确认单位的当前文件（有警告的也可确认）。UNIT 为单位编码。"""
    from ..campaign.actions import accept_unit

    chosen = _decided_receipt(directory, unit, receipt, zone)
    decision = accept_unit(directory, unit, by, require_explanations or None, receipt=chosen or None, zone=zone)
    click.echo(f"{decision.unit.name}（{unit}）：{decision.unit.label}")


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("unit")
@ZONE_OPTION
@reports_errors
def history(directory: str, unit: str, zone: str) -> None:
    """单位的全部收件和处理记录，按时间先后。UNIT 为单位编码。"""

    from ..campaign.actions import history as run

    state, lines = run(directory, unit, zone)
    click.echo(f"{state.name}（{state.code}）{state.department}：{state.label}")
    for line in lines:
        click.echo("  " + line)


COMMANDS = [campaign, receive, archive, status, return_, accept, history]
