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
    """Officers' accounts of `xlkit serve`: add, list, disable, passwd."""


@user.command(name="add")
@DIRECTORY
@click.argument("login")
@click.option("--name", required=True, help="The officer's name (姓名), shown in the history.")
@click.option("--role", required=True, type=click.Choice(["admin", "reviewer", "department"]),
              help="admin 管理员, reviewer 审核员, department 主管部门.")
@click.option("--department", default="", help="The 主管部门 (as the roster names it) of a department's officer.")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the password (default: ask).")
@reports_errors
def user_add(directory: str, login: str, name: str, role: str, department: str, password_file: str | None) -> None:
    """Add officer LOGIN."""
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
    """Every account, with its role and whether it is disabled."""
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
    """Disable LOGIN: its sessions end; `user passwd` enables it again."""
    from ..campaign.accounts import disable_account
    from ..campaign.ledger import Ledger

    with Ledger(directory) as ledger:
        disable_account(ledger, login)
    click.echo(f"账号 {login} 已停用，其登录已全部退出")


@user.command(name="passwd")
@DIRECTORY
@click.argument("login")
@click.option("--password-file", type=click.Path(dir_okay=False), help="File holding the new password (default: ask).")
@reports_errors
def user_passwd(directory: str, login: str, password_file: str | None) -> None:
    """A new password for LOGIN (a disabled account is enabled again); its sessions end."""
    from ..campaign.accounts import change_password
    from ..campaign.ledger import Ledger

    password = _admin_password(password_file, password_file is None) or ""
    with Ledger(directory) as ledger:
        change_password(ledger, login, password)
    click.echo(f"账号 {login} 的密码已更改，其登录已全部退出")


@campaign.command()
@DIRECTORY
@click.option("--review", type=click.Choice(["one-level", "two-level"]), help="Review by the bureau alone, or 主管部门 first.")
@click.option("--mail", "mail_mode", type=click.Choice(["smtp", "outbox", "off"]), help="Send mail, write .eml files to outbox/, or none.")
@reports_errors
def settings(directory: str, review: str | None, mail_mode: str | None) -> None:
    """Change a campaign's settings (each change is recorded in the audit trail)."""
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
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="CSV to write (UTF-8 with BOM).")
@reports_errors
def audit(directory: str, output: str) -> None:
    """Export the whole audit trail: every receipt, decision, 说明 and account change, with who, when and from where."""
    from pathlib import Path

    from ..campaign.accounts import write_audit
    from ..campaign.ledger import Ledger

    with Ledger(directory, readonly=True) as ledger:
        count = write_audit(ledger, Path(output))
    click.echo(f"审计记录 {count} 条：{output}")


@campaign.command(name="mail")
@DIRECTORY
@click.option("--smtp-host", required=True, help="The SMTP server.")
@click.option("--smtp-port", type=click.IntRange(1, 65535), default=25, show_default=True)
@click.option("--from", "sender", required=True, help="The sender's address.")
@click.option("--user", default="", help="SMTP login, if the server asks for one.")
@click.option("--password-file", default="", help="File holding the SMTP password (its path is kept, never the password).")
@click.option("--password-env", default="", help="Or: the environment variable holding the SMTP password.")
@click.option("--starttls", is_flag=True, help="Upgrade the connection with STARTTLS.")
@reports_errors
def mail_setup(directory: str, smtp_host: str, smtp_port: int, sender: str, user: str, password_file: str, password_env: str,
               starttls: bool) -> None:
    """Set up outgoing mail: units are told of each receipt, each 退回 (with the letter) and reminded by `xlkit remind`."""
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
@click.option("--dry-run", is_flag=True, help="Write the messages as .eml files (to --outbox) instead of sending them.")
@click.option("--outbox", type=click.Path(file_okay=False), help="Where --dry-run writes (default: DIRECTORY/outbox).")
@reports_errors
def remind(directory: str, dry_run: bool, outbox: str | None) -> None:
    """Mail the 催报 reminder to every unit not yet sent, failed or returned."""
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
    """The mail queue of a campaign."""


@mail_group.command(name="send")
@DIRECTORY
@reports_errors
def mail_send(directory: str) -> None:
    """Send every queued message that is due (what `xlkit serve` does in the background)."""
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
