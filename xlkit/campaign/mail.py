"""Units told by e-mail: an acknowledgement after each receipt (with its check result), the reason and the 审核意见
letter on 退回, and the 催报 reminder. Messages are queued in the ledger as they happen and sent afterwards (the
server's background `Postman`, or `xlkit mail send`), so mail never holds up an upload or a decision; a failure is
recorded and tried again later, each time waiting longer. The `mail` setting says how: SMTP (the password read at
sending from a file or an environment variable, never kept in the folder) or `outbox` (.eml files in outbox/)."""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from ..bureau.clock import bureau_zone, local_time
from ..bureau.distribute import UNSAFE_FILENAME
from ..bureau.letters import letters_to_pdf
from ..errors import CampaignError, XlkitError
from .accounts import Actor, cli_actor
from .checks import registry_of
from .ledger import Ledger, Mail, now
from .reminders import TODO
from .state import UnitState, parse_deadline, state_of, unit_states

OUTBOX = "outbox"
ATTEMPTS = 8  # tries before a message is given up (about four hours of waiting in all)
FIRST_WAIT, MAX_WAIT = 60.0, 3600.0
HOLD = 300.0  # seconds a sender holds a message it is sending
REMIND = ("not-sent", "failed", "returned")  # units the 催报 mail goes to
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
logger = logging.getLogger("xlkit.mail")
SYSTEM = Actor("", "邮件发送", "system", "", socket.gethostname())


@dataclass(frozen=True)
class MailSettings:
    mode: str = "smtp"  # smtp / outbox
    host: str = ""
    port: int = 25
    sender: str = ""
    user: str = ""
    password_file: str = ""  # a path, read when sending
    password_env: str = ""  # or the name of an environment variable
    starttls: bool = False

    def password(self) -> str:
        if self.password_file:
            try:
                return Path(self.password_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                raise CampaignError(f"无法读取邮件密码文件 {self.password_file}") from None
        if self.password_env:
            if self.password_env not in os.environ:
                raise CampaignError(f"没有设置环境变量 {self.password_env}（邮件服务器的密码）")
            return os.environ[self.password_env]
        return ""


def mail_settings(ledger: Ledger) -> MailSettings | None:
    """None while mail is not set up (nothing is queued then)."""
    stored = ledger.meta("mail")
    return MailSettings(**json.loads(stored)) if stored else None


def configure_mail(ledger: Ledger, settings: MailSettings, by: Actor | None = None) -> None:
    if settings.mode not in ("smtp", "outbox"):
        raise CampaignError(f"邮件方式只能是 smtp 或 outbox，得到「{settings.mode}」")
    if settings.mode == "smtp" and not (settings.host and "@" in settings.sender):
        raise CampaignError("发送邮件须写明邮件服务器（--smtp-host）和发件地址（--from）")
    if settings.user and not (settings.password_file or settings.password_env):
        raise CampaignError("写了 --user 就要给出密码文件（--password-file）或环境变量（--password-env）；密码不保存在报送任务目录中")
    actor = by or cli_actor()
    with ledger.writing():
        ledger.set_meta("mail", json.dumps(asdict(settings), ensure_ascii=False))
        shown = "写入 outbox/" if settings.mode == "outbox" else f"SMTP {settings.host}:{settings.port}，发件人 {settings.sender}"
        ledger.add_audit(actor.entry("setting", text=f"邮件：{shown}"))


# ------------------------------------------------------------------ what is said
def _campaign(ledger: Ledger) -> tuple[str, str, str]:
    """(the campaign as people name it, its deadline as said, the issuer)."""
    spec = registry_of(ledger).current
    deadline = parse_deadline(ledger.meta("deadline"))
    return f"{ledger.meta('year')}年度{spec.template.title}", f"{deadline:%Y年%m月%d日}" if deadline else "未定", spec.template.issuer


def _message(ledger: Ledger, state: UnitState, kind: str, headline: str, lines: list[str], attachments: tuple[str, ...] = ()) -> Mail | None:
    email = ledger.unit_emails().get(state.code, "")
    if not email:
        return None
    campaign, deadline, issuer = _campaign(ledger)
    subject = f"【{campaign}】{state.name}：{headline}"
    body = "\n".join([f"{state.name}（单位编码 {state.code}）：", "", *lines, "",
                      f"报送任务：{campaign}", f"截止日期：{deadline}", f"当前状态：{state.label}（{state.step}）", "",
                      "详情请打开财政部门发给本单位的报送链接查看。本邮件由系统自动发送，请勿直接回复。", issuer])
    return Mail(0, now(), kind, state.code, email, subject, body, attachments, 0, time.time(), None, "")


def _queue(ledger: Ledger, mail: Mail | None) -> int:
    return ledger.queue_mail(mail) if mail is not None else 0


def queue_receipts(ledger: Ledger, receipts: list[tuple[str, int]]) -> None:
    """An acknowledgement for each (unit code, receipt id) just recorded; a failure is logged, never raised: the
    receipt stands whatever happens to its mail."""
    if not receipts or mail_settings(ledger) is None:
        return
    zone = bureau_zone("Asia/Shanghai")
    for code, receipt_id in receipts:
        try:
            state = state_of(ledger, code)
            r = next(r for r in state.receipts if r.id == receipt_id)
            result = (f"{r.errors} 个错误，须修改后重新报送" if r.errors else "未发现错误") + (f"；{r.warnings} 个警告" if r.warnings else "")
            lines = [f"已收到贵单位报送的文件 {r.name}（收件 {r.id}，{local_time(r.received_at, zone)}）。", f"检查结果：{result}。"]
            if r.summary:
                lines.append(f"第一个问题：{r.summary}")
            _queue(ledger, _message(ledger, state, "receipt", f"已收到报表（收件 {r.id}）", lines))
        except (XlkitError, StopIteration, OSError, ValueError):
            logger.exception("the acknowledgement of receipt %s could not be queued", receipt_id)


def queue_decision(ledger: Ledger, state: UnitState, kind: str, reason: str, letter: Path | None) -> None:
    """On 退回: the reason, with the letter attached (its PDF too, made when sending where LibreOffice is installed)."""
    if kind != "return" or mail_settings(ledger) is None:
        return
    try:
        attached = (str(letter.relative_to(ledger.folder)),) if letter is not None else ()
        lines = ["贵单位报送的文件已被退回，请按审核意见修改后重新报送。", f"退回原因：{reason}", "审核意见书附在本邮件中。"]
        _queue(ledger, _message(ledger, state, "return", "报表已退回，请修改后重新报送", lines, attached))
    except (XlkitError, OSError, ValueError):
        logger.exception("the 退回 mail of %s could not be queued", state.code)


def reminders(ledger: Ledger, today: datetime | None = None) -> tuple[list[Mail], list[UnitState]]:
    """The 催报 messages for every roster unit not yet sent, failed or returned; and those units without an address."""
    day = (today or datetime.now(bureau_zone("Asia/Shanghai"))).date()
    deadline = parse_deadline(ledger.meta("deadline"))
    out: list[Mail] = []
    missing: list[UnitState] = []
    for state in unit_states(ledger):
        if not state.in_roster or state.status not in REMIND:
            continue
        days = (deadline - day).days if deadline else None
        left = "" if days is None else f"距截止还有 {days} 天。" if days >= 0 else f"已超过截止日期 {-days} 天。"
        lines = [f"贵单位的报表当前为“{state.label}”，请{TODO[state.status]}。{left}"]
        found = _message(ledger, state, "remind", "催报：请尽快报送", lines)
        if found is None:
            missing.append(state)
        else:
            out.append(found)
    return out, missing


def queue_reminders(ledger: Ledger) -> tuple[int, list[UnitState]]:
    found, missing = reminders(ledger)
    with ledger.writing():
        for mail in found:
            ledger.queue_mail(mail)
    return len(found), missing


# ------------------------------------------------------------------ sending
def build(folder: Path, mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = mail.recipient
    message["Date"] = datetime.now().astimezone()
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "xlkit.local")
    message.set_content(mail.body)
    for relative in mail.attachments:
        path = folder / relative
        files = [path, *letters_to_pdf([path], timeout=120)] if path.suffix == ".xlsx" else [path]
        for item in files:
            kind = XLSX if item.suffix == ".xlsx" else "application/pdf"
            maintype, subtype = kind.split("/")
            message.add_attachment(item.read_bytes(), maintype=maintype, subtype=subtype, filename=item.name)
    return message


def eml_name(mail: Mail) -> str:
    return UNSAFE_FILENAME.sub("_", f"{mail.id:05d}_{mail.unit_code}_{mail.kind}") + ".eml"


def write_eml(folder: Path, mail: Mail, message: EmailMessage, target: Path | None = None) -> Path:
    out = target or folder / OUTBOX
    out.mkdir(parents=True, exist_ok=True)
    path = out / eml_name(mail)
    path.write_bytes(message.as_bytes())
    return path


def said(exc: BaseException, settings: MailSettings) -> str:
    """A sending failure in the bureau's words (never the exception's name)."""
    where = f"{settings.host}:{settings.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"邮件服务器 {where} 登录失败（用户名或密码不对）"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, refusal = next(iter(exc.recipients.values()))
        return f"邮件服务器 {where} 拒收收件人（{code} {refusal.decode('utf-8', 'replace')}）"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        shown = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"邮件服务器 {where} 拒绝发送（{exc.smtp_code} {shown}）"
    if isinstance(exc, ConnectionRefusedError):
        return f"无法连接邮件服务器 {where}（拒绝连接：服务器未运行或端口不对）"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"连接邮件服务器 {where} 超时"
    if isinstance(exc, smtplib.SMTPException):
        return f"与邮件服务器 {where} 通信失败"
    if isinstance(exc, CampaignError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"无法连接邮件服务器 {where}（{exc.strerror or '网络错误'}）"
    if isinstance(exc, ValueError):
        return f"邮件无法编码：地址含中文等非 ASCII 字符，而邮件服务器 {where} 不支持 SMTPUTF8"
    return f"发送失败（{where}）"


def _deliver(settings: MailSettings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.host, settings.port, timeout=30) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.user:
            smtp.login(settings.user, settings.password())
        smtp.send_message(message)


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0
    given_up: int = 0


def send_pending(folder: str | Path, at: float | None = None, limit: int = 200) -> Sent:
    """Every queued message due by `at` (default: now), at most `limit`: sent, or written to outbox/; a failure is
    recorded and tried again after a wait that doubles (1 minute … 1 hour), until ATTEMPTS tries."""
    done = Sent()
    with Ledger(folder) as ledger:
        settings = mail_settings(ledger)
        if settings is None:
            return done
        stamp = time.time() if at is None else at
        due = [m for m in ledger.mails(pending_only=True) if m.next_at <= stamp][:limit]
        for mail in due:
            if not ledger.take_mail(mail.id, stamp, HOLD):
                continue  # another sender has it
            try:
                message = build(ledger.folder, mail, settings.sender or "xlkit@localhost")
                if settings.mode == "outbox":
                    write_eml(ledger.folder, mail, message)
                else:
                    _deliver(settings, message)
            except (OSError, smtplib.SMTPException, CampaignError, ValueError) as exc:  # ValueError: an address it cannot encode
                give_up = mail.attempts + 1 >= ATTEMPTS
                wait = min(MAX_WAIT, FIRST_WAIT * 2 ** mail.attempts)
                reason = said(exc, settings)
                with ledger.writing():
                    ledger.mail_failed(mail.id, now(), reason, stamp + wait, give_up)
                    ledger.add_audit(SYSTEM.entry("mail-failed", mail.unit_code, text=f"{mail.subject} → {mail.recipient}：{reason}"
                                                  + ("（已放弃）" if give_up else "")))
                done.failed += 1
                done.given_up += give_up
                continue
            ledger.mail_sent(mail.id, now(), "outbox" if settings.mode == "outbox" else "sent")
            done.sent += 1
    return done


class Postman:
    """The server's sender: every `interval` seconds, what is due; stopped with the server."""

    def __init__(self, folder: str | Path, interval: float = 30.0):
        self.folder, self.interval = Path(folder), interval
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="xlkit-mail", daemon=True)

    def start(self) -> Postman:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                send_pending(self.folder)
            except XlkitError:
                logger.exception("sending the queued mail failed; tried again in %s s", self.interval)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=60)


def unsent(ledger: Ledger) -> tuple[int, int]:
    """(messages waiting, of which have failed at least once) — `xlkit status` says so."""
    pending = ledger.mails(pending_only=True)
    return len(pending), sum(1 for m in pending if m.attempts)


def given_up(ledger: Ledger) -> list[Mail]:
    return [m for m in ledger.mails() if m.outcome == "given-up"]
