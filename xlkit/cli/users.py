"""The officers' commands: accounts (`campaign user`), settings (review levels, mail), the audit trail, and the mail
to units (`campaign mail`, `remind`, `mail send`)."""

from __future__ import annotations

import click

from .campaign import _admin_password, campaign
from .common import CliError, reports_errors
from .helptext import command, group

DIRECTORY = click.argument("directory", type=click.Path(file_okay=False))


@campaign.group()
def user() -> None:
    """管理 xlkit serve 的工作人员账号。新增（add）、列出（list）、停用（disable）、改密码（passwd）。"""


@user.command(name="add")
@DIRECTORY
@click.argument("login")
@click.option("--name", required=True, help="工作人员姓名，显示在处理记录中。")
@click.option("--role", required=True, type=click.Choice(["admin", "reviewer", "department"]),
              help="admin 管理员，reviewer 审核员，department 主管部门。")
@click.option("--department", default="", help="主管部门账号所属的主管部门（与名单中的写法一致）。")
@click.option("--password-file", type=click.Path(dir_okay=False), help="存放密码的文件（默认：在命令行输入）。")
@reports_errors
def user_add(directory: str, login: str, name: str, role: str, department: str, password_file: str | None) -> None:
    """新增账号。LOGIN 为登录名。"""
    from ..campaign.accounts import ROLES, add_account
    from ..campaign.ledger import Ledger

    password = _admin_password(password_file, password_file is None) or ""
    with Ledger(directory) as ledger:
        account = add_account(ledger, login, name, role, password, department)
    click.echo(f"已新增账号 {account.login}：{account.name}，{ROLES[account.role]}" + (f"（{account.department}）" if account.department else ""))


@user.command(name="list")
@DIRECTORY
@reports_errors
def user_list(directory: str) -> None:
    """列出全部账号。每个账号一行：登录名、姓名、角色、是否停用。"""
    from ..campaign.accounts import ROLES
    from ..campaign.ledger import Ledger

    with Ledger(directory, readonly=True) as ledger:
        accounts = ledger.accounts()
    for a in accounts:
        click.echo("  ".join(filter(None, [a.login, a.name, ROLES.get(a.role, a.role), a.department, "已停用" if a.disabled else "在用"])))
    click.echo(f"共 {len(accounts)} 个账号")


@user.command(name="disable")
@DIRECTORY
@click.argument("login")
@reports_errors
def user_disable(directory: str, login: str) -> None:
    """停用账号 LOGIN。其登录全部退出；用 user passwd 可重新启用。"""
    from ..campaign.accounts import disable_account
    from ..campaign.ledger import Ledger

    with Ledger(directory) as ledger:
        disable_account(ledger, login)
    click.echo(f"账号 {login} 已停用，其登录已全部退出")


@user.command(name="passwd")
@DIRECTORY
@click.argument("login")
@click.option("--password-file", type=click.Path(dir_okay=False), help="存放新密码的文件（默认：在命令行输入）。")
@reports_errors
def user_passwd(directory: str, login: str, password_file: str | None) -> None:
    """更改账号 LOGIN 的密码。停用的账号随之重新启用；其登录全部退出。"""
    from ..campaign.accounts import change_password
    from ..campaign.ledger import Ledger

    password = _admin_password(password_file, password_file is None) or ""
    with Ledger(directory) as ledger:
        change_password(ledger, login, password)
    click.echo(f"账号 {login} 的密码已更改，其登录已全部退出")


@campaign.command()
@DIRECTORY
@click.option("--review", type=click.Choice(["one-level", "two-level"]), help="one-level 由财政部门审核；two-level 由主管部门先初审。")
@click.option("--mail", "mail_mode", type=click.Choice(["smtp", "outbox", "off"]),
              help="smtp 发送邮件；outbox 把邮件写成 .eml 文件放入 outbox/；off 不发邮件。")
@reports_errors
def settings(directory: str, review: str | None, mail_mode: str | None) -> None:
    """更改报送任务的设置。每次更改都记入审计记录。"""
    from dataclasses import replace

    from ..campaign.accounts import cli_actor
    from ..campaign.ledger import Ledger
    from ..campaign.mail import MailSettings, configure_mail, mail_settings
    from ..campaign.review import REVIEWS, review_mode, set_review

    with Ledger(directory) as ledger:
        if review:
            set_review(ledger, review)
        if mail_mode == "off":
            with ledger.writing():
                ledger.set_meta("mail", "")
                ledger.add_audit(cli_actor().entry("setting", text="邮件：停用"))
        elif mail_mode:
            configure_mail(ledger, replace(mail_settings(ledger) or MailSettings(), mode=mail_mode))
        mail = mail_settings(ledger)
        click.echo(f"审核方式：{REVIEWS[review_mode(ledger)]}；邮件：" + ("未设置" if mail is None else "写入 outbox/" if mail.mode == "outbox"
                                                               else f"SMTP {mail.host}:{mail.port}，发件人 {mail.sender}"))


@campaign.command()
@DIRECTORY
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="要写出的 CSV（UTF-8 BOM）。")
@reports_errors
def audit(directory: str, output: str) -> None:
    """导出全部审计记录。每次收件、处理、说明和账号变更，及其经办人、时间和来源地址。"""
    from pathlib import Path

    from ..campaign.accounts import write_audit
    from ..campaign.ledger import Ledger

    with Ledger(directory, readonly=True) as ledger:
        count = write_audit(ledger, Path(output))
    click.echo(f"审计记录 {count} 条：{output}")


@campaign.command(name="mail")
@DIRECTORY
@click.option("--smtp-host", required=True, metavar="HOST", help="SMTP 服务器。")
@click.option("--smtp-port", type=click.IntRange(1, 65535), default=25, show_default=True, metavar="PORT", help="SMTP 端口。")
@click.option("--from", "sender", required=True, metavar="ADDRESS", help="发件人地址。")
@click.option("--user", default="", help="SMTP 登录名（服务器要求时）。")
@click.option("--password-file", default="", metavar="FILE", help="存放 SMTP 密码的文件（只记它的路径，不记密码）。")
@click.option("--password-env", default="", metavar="NAME", help="或：存放 SMTP 密码的环境变量。")
@click.option("--starttls", is_flag=True, help="用 STARTTLS 加密连接。")
@reports_errors
def mail_setup(directory: str, smtp_host: str, smtp_port: int, sender: str, user: str, password_file: str, password_env: str,
               starttls: bool) -> None:
    """设置发送邮件。每次收件、每次退回（附审核意见）都通知单位；xlkit remind 发催报邮件。"""
    from pathlib import Path

    from ..campaign.ledger import Ledger
    from ..campaign.mail import MailSettings, configure_mail
    from ..campaign.setup import campaign_roster

    if password_file and not Path(password_file).is_file():
        raise CliError(f"密码文件 {password_file} 不存在")
    settings = MailSettings("smtp", smtp_host, smtp_port, sender, user, str(Path(password_file).resolve()) if password_file else "",
                            password_env, starttls)
    with Ledger(directory) as ledger:
        configure_mail(ledger, settings)
        ledger.put_unit_emails((u.code, u.email) for u in campaign_roster(ledger).units if u.email)  # the roster's 邮箱, as it is now
        missing = [u.code for u in ledger.units() if u.code not in ledger.unit_emails()]
    click.echo(f"邮件已设置：SMTP {smtp_host}:{smtp_port}，发件人 {sender}" + ("，STARTTLS" if starttls else ""))
    if missing:
        click.echo(f"提示：{len(missing)} 个单位在名单中没有邮箱（邮箱 列），不会收到邮件：{'、'.join(missing[:20])}"
                   + ("……" if len(missing) > 20 else ""), err=True)


@command()
@DIRECTORY
@click.option("--dry-run", is_flag=True, help="只把邮件写成 .eml 文件（写到 --outbox），不发送。")
@click.option("--outbox", type=click.Path(file_okay=False), help="--dry-run 写到这里（默认：DIRECTORY/outbox）。")
@reports_errors
def remind(directory: str, dry_run: bool, outbox: str | None) -> None:
    """发催报邮件。发给尚未报送、审核不通过或已退回的单位。"""
    from pathlib import Path

    from ..campaign.ledger import Ledger
    from ..campaign.mail import OUTBOX, build, mail_settings, queue_reminders, reminders, send_pending, write_eml

    with Ledger(directory) as ledger:
        settings = mail_settings(ledger)
        if dry_run:
            found, missing = reminders(ledger)
            target = Path(outbox) if outbox else ledger.folder / OUTBOX
            sender = settings.sender if settings and settings.sender else "xlkit@localhost"
            for n, mail in enumerate(found, 1):
                write_eml(ledger.folder, mail.__class__(**{**mail.__dict__, "id": n}), build(ledger.folder, mail, sender), target)
            click.echo(f"催报邮件 {len(found)} 封（未发送）：{target}")
        else:
            if settings is None:
                raise CliError("尚未设置邮件：请先运行 xlkit campaign mail DIR …，或用 --dry-run 只写出邮件")
            queued, missing = queue_reminders(ledger)
            click.echo(f"催报邮件 {queued} 封已排队")
    if not dry_run:
        done = send_pending(directory)
        click.echo(f"发送：成功 {done.sent}，失败 {done.failed}（失败的稍后重试；xlkit status 可查看）")
    for state in missing:
        click.echo(f"无邮箱 {state.code} {state.name}（{state.label}）：请电话催报 {state.contact} {state.phone}".rstrip())


@group(name="mail")
def mail_group() -> None:
    """报送任务的邮件队列。"""


@mail_group.command(name="send")
@DIRECTORY
@reports_errors
def mail_send(directory: str) -> None:
    """立即发送队列中到期的邮件。xlkit serve 运行时在后台做同样的事。"""

    from ..campaign.ledger import Ledger
    from ..campaign.mail import given_up, send_pending, unsent

    done = send_pending(directory)
    with Ledger(directory, readonly=True) as ledger:
        waiting, failing = unsent(ledger)
        lost = given_up(ledger)
        failures = {m: err for m, _at, err in ledger.mail_failures()}
    click.echo(f"发送：成功 {done.sent}，失败 {done.failed}；待发 {waiting} 封（其中曾失败 {failing} 封）")
    for mail in lost:
        click.echo(f"已放弃 {mail.unit_code} {mail.recipient}：{mail.subject}（{failures.get(mail.id, '')}）")


COMMANDS = [remind, mail_group]
