"""Units told by e-mail, against a real SMTP server on 127.0.0.1 (aiosmtpd): the acknowledgement, the 退回 with its
letter attached, reminders, Chinese through the encodings, a server that refuses (retried, recorded), one that is
down (the upload still succeeds), and the outbox."""

from __future__ import annotations

import email
import shutil
import socket
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from web import Client, Served, upload

from xlkit.campaign.access import issue_links
from xlkit.campaign.actions import return_unit
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.mail import ATTEMPTS, MailSettings, configure_mail, send_pending
from xlkit.campaign.receive import receive
from xlkit.campaign.setup import DISTRIBUTED, init_campaign
from xlkit.cli import main
from xlkit.demo.sample_data import generate_unit_data
from xlkit.intake.identify import open_template_workbook
from xlkit.web.app import create_app
from xlkit.web.checker import Checker
from xlkit.write.fill import fill_workbook

ROSTER = ("单位编码,单位名称,主管部门,联系人,联系电话,邮箱\nM1,邮件单位甲,一局,张一,0730-1,m1@单位.example.cn\n"
          "M2,邮件单位乙,一局,张二,0730-2,m2@example.cn\nM3,没有邮箱的单位,二局,张三,0730-3,\n")


class Inbox:
    """What the server received; `refuse`: answer every recipient with a permanent refusal."""

    def __init__(self, refuse: bool = False):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller

    servers = []

    def start(refuse: bool = False) -> tuple[Inbox, int]:
        inbox = Inbox(refuse)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
        controller.start()
        servers.append(controller)
        return inbox, controller.port

    yield start
    for controller in servers:
        controller.stop()


@pytest.fixture(scope="module")
def base(tmp_path_factory, spec) -> Path:
    root = tmp_path_factory.mktemp("mail")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    init_campaign(root / "c", root / "roster.csv", 2019, deadline="2020-03-31")
    for code, changes in (("M1", {}), ("M2", {"score": None})):
        template = next((root / "c" / DISTRIBUTED).glob(f"{code}_*.xlsx"))
        layout = open_template_workbook(template, spec).layout
        data = {k: v for k, v in {**generate_unit_data(layout, code), **changes}.items() if v is not None}
        fill_workbook(template, data, root / f"{code}.xlsx", spec)
    return root


@pytest.fixture
def folder(base, tmp_path) -> Path:
    shutil.copytree(base, tmp_path / "b")
    return tmp_path / "b" / "c"


def _set_up(folder: Path, port: int, mode: str = "smtp") -> None:
    with Ledger(folder) as ledger:
        configure_mail(ledger, MailSettings(mode, "127.0.0.1", port, "jxk@财政.example.cn"))


def test_receipt_and_return_mail_arrive_in_chinese_with_the_letter(folder, smtp):
    inbox, port = smtp()
    _set_up(folder, port)
    receive(folder, [folder.parent / "M1.xlsx", folder.parent / "M2.xlsx"], by="收件员")
    assert send_pending(folder).sent == 2
    first = {m["To"]: m for m in inbox.messages}
    ack = first["m1@单位.example.cn"]  # an internationalised domain survives too
    assert ack["Subject"] == "【2019年度部门（单位）整体支出绩效自评表】邮件单位甲：已收到报表（收件 1）"
    text = ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "邮件单位甲（单位编码 M1）" in text and "检查结果：未发现错误" in text and "截止日期：2020年03月31日" in text
    assert "2019年度部门（单位）整体支出绩效自评表" in text
    assert "须修改后重新报送" in first["m2@example.cn"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    decision = return_unit(folder, "M2", "自评得分未填写，请补填")
    assert send_pending(folder).sent == 1
    sent_back = inbox.messages[-1]
    assert "报表已退回" in sent_back["Subject"] and "邮件单位乙" in sent_back["Subject"]
    assert "退回原因：自评得分未填写，请补填" in sent_back.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    attached = {part.get_filename(): part.get_content() for part in sent_back.iter_attachments()}
    assert decision.letter is not None and attached[decision.letter.name] == decision.letter.read_bytes()
    if shutil.which("soffice"):
        pdf = decision.letter.with_suffix(".pdf").name
        assert attached[pdf][:5] == b"%PDF-"
    assert send_pending(folder).sent == 0  # each message once
    with Ledger(folder) as ledger:
        assert [m.outcome for m in ledger.mails()] == ["sent", "sent", "sent"]


def test_a_refusing_server_is_retried_with_backoff_and_each_failure_recorded(folder, smtp):
    inbox, port = smtp(refuse=True)
    _set_up(folder, port)
    receive(folder, [folder.parent / "M1.xlsx"])
    start = time.time()
    assert send_pending(folder, at=start).failed == 1
    assert send_pending(folder, at=start + 1).failed == 0  # not yet: it waits a minute
    assert send_pending(folder, at=start + 61).failed == 1  # then again, and twice as long after
    assert send_pending(folder, at=start + 62).failed == 0
    with Ledger(folder) as ledger:
        [mail] = ledger.mails()
        failures = ledger.mail_failures(mail.id)
        trail = [e.text for e in ledger.audit("M1") if e.kind == "mail-failed"]
    assert mail.attempts == 2 and mail.outcome == "" and mail.next_at >= start + 61 + 120
    assert len(failures) == 2 and all("拒收收件人（550 5.1.1 mailbox unavailable）" in err for _m, _at, err in failures)
    assert len(trail) == 2 and "m1@单位.example.cn" in trail[0]
    moment = start + 200
    for _n in range(ATTEMPTS):  # bounded: it gives up after ATTEMPTS tries, and says so
        send_pending(folder, at=moment)
        moment += 4000
    with Ledger(folder) as ledger:
        assert ledger.mails()[0].outcome == "given-up" and len(ledger.mail_failures()) == ATTEMPTS
    assert not inbox.messages
    shown = CliRunner().invoke(main, ["status", str(folder)]).output
    assert "已放弃 1 封" in shown


def test_a_server_that_is_down_never_holds_up_an_upload(folder, spec):
    down = free_port()  # nothing listens there
    _set_up(folder, down)
    with Ledger(folder) as ledger:
        token = issue_links(ledger, ["M1"])[0].token
    checker = Checker()
    served = Served(create_app(folder, checker))
    try:
        answer = upload(Client(served.port), token, "M1.xlsx", (folder.parent / "M1.xlsx").read_bytes())
        assert answer.status == 303 and "?r=" in answer.headers["location"]  # received, whatever the mail does
    finally:
        served.close()
        checker.close()
    assert send_pending(folder).failed == 1
    with Ledger(folder) as ledger:
        assert "拒绝连接" in ledger.mail_failures()[0][2]
        assert [e.address for e in ledger.audit("M1") if e.kind == "receipt"] == ["127.0.0.1"]
    status = CliRunner().invoke(main, ["status", str(folder)]).output
    assert "邮件：待发 1 封（其中 1 封发送失败、等待重试）" in status
    sent = CliRunner().invoke(main, ["mail", "send", str(folder)])
    assert sent.exit_code == 0 and "待发 1 封" in sent.output  # not due yet: waits its minute


def test_reminders_dry_run_outbox_and_the_cli(folder, smtp, tmp_path):
    runner = CliRunner()
    dry = runner.invoke(main, ["remind", str(folder), "--dry-run", "--outbox", str(tmp_path / "out")])
    assert dry.exit_code == 0 and "催报邮件 2 封（未发送）" in dry.output and "无邮箱 M3 没有邮箱的单位" in dry.output
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 2
    message = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "催报" in message["Subject"] and "请尽快报送" in body and ("距截止" in body or "已超过截止日期" in body)
    assert runner.invoke(main, ["remind", str(folder)]).exit_code == 2  # no mail set up: said, nothing queued
    inbox, port = smtp()
    secret = tmp_path / "smtp.txt"
    secret.write_text("s3cret-pass\n", encoding="utf-8")
    setup = runner.invoke(main, ["campaign", "mail", str(folder), "--smtp-host", "127.0.0.1", "--smtp-port", str(port),
                                 "--from", "jxk@example.cn", "--user", "jxk", "--password-file", str(secret)])
    assert setup.exit_code == 0 and "1 个单位在名单中没有邮箱" in setup.output
    assert "s3cret-pass" not in (folder / "ledger.sqlite").read_bytes().decode("utf-8", "replace")  # only the file's path is kept
    assert runner.invoke(main, ["campaign", "settings", str(folder), "--mail", "outbox"]).exit_code == 0
    sent = runner.invoke(main, ["remind", str(folder)])
    assert sent.exit_code == 0 and "催报邮件 2 封已排队" in sent.output and "成功 2" in sent.output
    written = sorted((folder / "outbox").glob("*.eml"))
    assert len(written) == 2 and not inbox.messages  # the outbox setting writes instead of sending
    assert "邮件单位" in email.message_from_bytes(written[0].read_bytes(), policy=policy.default)["Subject"]
