"""The intake app: units upload their returns through their own link; the bureau watches and decides on a board.

Everything goes through the campaign layer (receive, return, accept, the ledger), so a file uploaded here is
recorded exactly as one received from the command line. Flask for routing, sessions and escaping; waitress serves."""

from __future__ import annotations

import hmac
import io
import secrets
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, redirect, request, send_file, session
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from ..bureau.clock import bureau_zone, local_time
from ..bureau.consolidate import write_wide_csv
from ..bureau.letters import shown_text
from ..bureau.summary import write_summary
from ..campaign.access import issue_links, unit_for_token
from ..campaign.account import consolidate_campaign
from ..campaign.accounts import SHOWN_ROLES, Actor, officer
from ..campaign.actions import accept_unit, events, pass_unit, return_unit
from ..campaign.checks import Bounds, Reader, latest_report, registry_of
from ..campaign.ledger import Ledger, LedgerUnavailable, now
from ..campaign.receive import Interrupted, receive
from ..campaign.reminders import write_reminders
from ..campaign.state import STATUS_LABELS, UnitState, parse_deadline, state_of, unit_states
from ..errors import CampaignError
from . import officers, pages, policy, review_page
from .checker import CHECKER_NOTICE, checker_notice
from .limits import FORM_BYTES, MB, WEB_NOTE, LinkGate, LinkLimits, Refused, bound_requests
from .pages import compiled
from .request_ledger import close_request_ledgers, ledger_failed, request_ledger
from .sessions import Guard

ERRORS = {400: ("请求无效", "请求缺少必要的内容或已过期；请刷新页面后重试。"),
          403: ("无权访问", "链接无效或已作废，或未登录。请使用财政部门发给本单位的最新链接。"),
          404: ("页面不存在", "没有这个页面。"), 405: ("请求方式不对", "请从页面上的按钮操作。"),
          413: ("文件过大", "上传的文件超过大小上限，不是本表的报送文件。"),
          415: ("请求方式不对", "提交的内容类型不对；请从页面上的按钮操作。"), 429: ("尝试次数过多", "登录失败次数过多，请稍后再试。"),
          500: ("服务器内部错误", "处理请求时出错，已记录；请稍后重试或联系财政部门。")}
DOWNLOADS = {"summary.xlsx", "summary.csv", "reminders.xlsx", "audit.csv"}


def create_app(folder: str | Path, reader: Reader | None = None, max_upload_mb: int = 20, zone: str = "Asia/Shanghai",
               base_url: str = "", *, session_idle_minutes: float = 60, https: bool = False, listen: str = "",
               limits: LinkLimits | None = None) -> Flask:
    """`https`: served over TLS (directly or behind a proxy): Secure cookie and HSTS. `listen`: the address served on,
    for links made on the board when no `base_url` is given."""
    folder = Path(folder).resolve()  # once: send_file takes a relative path as the package's, not the working folder's
    with Ledger(folder) as ledger:  # a folder that is not a campaign fails here, before serving
        secret = ledger.meta("web_secret") or ledger.web_secret(secrets.token_hex(32))
    app = Flask(__name__, static_folder=None)
    app.config.update(SECRET_KEY=secret, **policy.cookie_config(https),
                      MAX_CONTENT_LENGTH=FORM_BYTES, MAX_FORM_MEMORY_SIZE=FORM_BYTES)  # an upload's: bound_requests
    local = bureau_zone(zone)
    bounds = Bounds(jobs=1, reader=reader)
    guard = Guard(folder, session_idle_minutes)
    incoming = folder / "incoming"
    incoming.mkdir(exist_ok=True)
    for leftover in incoming.glob("upload-*.part"):  # a server killed mid-upload left them; nothing refers to them
        leftover.unlink(missing_ok=True)
    for leftover in incoming.glob("download-*"):
        shutil.rmtree(leftover, ignore_errors=True)

    def page(title: str, body: str, http_status: int = 200, **context: Any) -> tuple[str, int]:
        inner = compiled(app.jinja_env, body).render(csrf=csrf_token(), script=Markup(pages.SCRIPT), roles=SHOWN_ROLES, **context)
        return compiled(app.jinja_env, pages.LAYOUT).render(title=title, heading=title, style=Markup(pages.STYLE), body=Markup(inner),
                                                            flash=session.pop("flash", "")), http_status

    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    close_request_ledgers(app)  # at the end of the app context: after the request's teardowns, which use its ledger
    bound_requests(app, folder, max_upload_mb * MB, LinkGate(folder, limits or LinkLimits(), local))  # first: before the form is read

    @app.before_request
    def protect() -> None:
        if request.method == "POST":
            given = request.form.get("csrf", "")  # parses the body: an oversized upload is refused here (413)
            if not (given and "csrf" in session and hmac.compare_digest(given, str(session["csrf"]))):
                abort(400)
        if request.path.startswith("/admin") and request.path != "/admin/login":
            account, ended = guard.admin()
            if account is not None:
                g.actor = officer(account, request.remote_addr or "")
            else:
                if request.method == "GET":
                    session["flash"] = ended
                    return redirect("/admin/login")  # type: ignore[return-value]
                return page("403 未登录", pages.ERROR, 403, code=403, what="未登录",  # type: ignore[return-value]
                            detail=f"{ended or '未登录或登录已失效。'}本次操作没有执行。")
        return None

    @app.after_request
    def headers(response: Any) -> Any:
        return policy.secure(response, https)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
        code = error.code or 500
        what, detail = (error.what, error.detail) if isinstance(error, Refused) else ERRORS.get(code, (error.name, "请求无法处理。"))
        kept = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]  # 405's Allow, 429's Retry-After
        return (*page(f"{code} {what}", pages.ERROR, code, code=code, what=what, detail=detail), kept)

    @app.errorhandler(LedgerUnavailable)
    def unavailable(error: LedgerUnavailable) -> tuple[str, int, list[tuple[str, str]]]:
        """The ledger's server is away: nothing of this request was recorded (a receipt is one transaction), unless
        an upload's receipt was written before it went (then the unit is told so, not asked to send it again)."""
        ledger_failed()
        app.logger.warning("%s %s: %s", request.method, request.path, error)
        if isinstance(error, Interrupted) and any(r.receipt for r in error.results):
            return (*page("503 暂时无法显示结果", pages.ERROR, 503, code=503, what="暂时无法显示结果",
                          detail="文件已收到并已记录，但系统暂时无法读出审核结果。请稍后重新打开本单位的报送链接查看结果，不必重新提交。"),
                    [("Retry-After", "30")])
        return (*page("503 系统暂时无法接收", pages.ERROR, 503, code=503, what="系统暂时无法接收",
                      detail="系统暂时无法接收，请稍后再试。本次提交没有记录，请稍后重新提交。"), [("Retry-After", "30")])

    @app.errorhandler(Exception)
    def crash(error: Exception) -> tuple[str, int]:
        ledger_failed()
        app.logger.error("%s %s failed", request.method, request.path, exc_info=error)  # the server's log; never the page
        what, detail = ERRORS[500]
        return page(f"500 {what}", pages.ERROR, 500, code=500, what=what, detail=detail)

    def unit_of(token: str, open_ledger: Ledger | None = None) -> str:
        if open_ledger is None:
            with request_ledger(folder) as opened:
                return unit_of(token, opened)
        code = unit_for_token(open_ledger, token)
        if code is None:
            abort(403)
        return code

    @app.get("/")
    def home() -> tuple[str, int]:
        return page("报表报送", pages.ERROR, code="", what="报表报送", detail="请使用财政部门发给本单位的报送链接；财政部门请从 /admin 登录。")

    @app.get("/u/<token>")
    def unit_page(token: str) -> tuple[str, int]:
        with request_ledger(folder) as open_ledger:
            state = state_of(open_ledger, unit_of(token, open_ledger))
            deadline = parse_deadline(open_ledger.meta("deadline"))
            wanted = request.args.get("r", type=int)
            chosen = next((r for r in reversed(state.receipts) if wanted in (None, r.id)), None)
            result = _shown_receipt(open_ledger, chosen, local) if chosen else None
            title = registry_of(open_ledger).current.template.title
            year = open_ledger.meta("year")
        days = (deadline - datetime.now(local).date()).days if deadline else 0
        letters = [Path(a.letter).name for a in state.actions if a.letter]
        return page(f"{state.name} 报表报送", pages.UNIT, unit=state, year=year, form_title=title, deadline=deadline, letters=letters,
                    letters_url=f"/u/{token}/letters/",
                    days_left=f"还有 {days} 天" if days >= 0 else f"已过 {-days} 天", result=result, history=_history(state, local, False),
                    upload_url=f"/u/{token}/upload", explain_url=f"/u/{token}/explain", max_mb=max_upload_mb)

    @app.post("/u/<token>/upload")
    def upload(token: str) -> Any:
        code = g.get("link_slot") or unit_of(token)  # the slot was taken for the token's unit (limits.bound_requests)
        file = request.files.get("file")
        if file is None or not file.filename:
            abort(400)
        handle, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=incoming)  # never the uploaded name
        path = Path(name)
        try:
            with open(handle, "wb") as out:
                file.save(out)
                if out.tell() > max_upload_mb * MB:
                    abort(413)
            with request_ledger(folder) as open_ledger:
                found = open_ledger.unit(code)  # links are issued to roster units only
                unit_name = found.name if found is not None else code
                result = receive(folder, [path], note=WEB_NOTE, by=f"{unit_name}（网页）", bounds=bounds, names=[file.filename], unit=code,
                                 actor=Actor("", f"{unit_name}（网页）", "unit", "", request.remote_addr or ""), ledger=open_ledger)[0]
        finally:
            path.unlink(missing_ok=True)
        if not result.receipt:
            session["flash"] = f"文件未能接收：{result.reason}"
            return redirect(f"/u/{token}", code=303)
        session["flash"] = f"已收到 {result.name}，当前状态：{result.label}"
        return redirect(f"/u/{token}?r={result.receipt}#result", code=303)

    @app.post("/u/<token>/explain")
    def explain(token: str) -> Any:
        code = unit_of(token)
        receipt_id = request.form.get("receipt", type=int)
        with Ledger(folder) as open_ledger:
            receipt = next((r for r in open_ledger.receipts(code) if r.id == receipt_id), None)
            if receipt is None:
                abort(403)
            report = latest_report(open_ledger, receipt.sha256)
            given = open_ledger.explanations(receipt.id)
            notes = [(k, text.strip()[:500]) for k, issue in enumerate(report.issues)
                     if issue.severity == "warning" and not issue.explanation and k not in given
                     and (text := request.form.get(f"note-{k}", "")).strip()]
            with open_ledger.writing():
                open_ledger.add_explanations(receipt.id, notes, now())
                if notes:
                    actor = Actor("", f"{receipt_unit_name(open_ledger, code)}（网页）", "unit", "", request.remote_addr or "")
                    open_ledger.add_audit(actor.entry("explain", code, receipt.id, None, "；".join(text for _k, text in notes)))
        session["flash"] = f"已保存 {len(notes)} 条说明"
        return redirect(f"/u/{token}?r={receipt_id}#result", code=303)

    @app.route("/admin/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return page("财政部门登录", pages.LOGIN)
        ok, error, wait = guard.login(request.form.get("login", ""), request.form.get("password", ""), request.remote_addr or "?")
        if ok:
            return redirect("/admin", code=303)
        answer = app.make_response(page("财政部门登录", pages.LOGIN, 429 if wait else 403, error=error))
        if wait:
            answer.headers["Retry-After"] = str(int(wait) + 1)
        return answer

    @app.post("/admin/logout")
    def logout() -> Any:
        guard.logout()
        return redirect("/admin/login", code=303)

    @app.get("/admin")
    def board() -> tuple[str, int]:
        department, status, q = request.args.get("department", ""), request.args.get("status", ""), request.args.get("q", "").strip()
        actor: Actor = g.actor
        with Ledger(folder) as open_ledger:
            states = [s for s in unit_states(open_ledger) if actor.sees(s.department)]
            year = open_ledger.meta("year")
        roster = [s for s in states if s.in_roster]
        counts = [(label, sum(1 for s in roster if s.status == key)) for key, label in STATUS_LABELS.items()]
        sent = len(roster) - counts[0][1]  # everyone but 未报送
        rate = f"{sent / len(roster):.1%}" if roster else "—"
        shown = [s for s in states if (not department or s.department == department) and (not status or s.status == status)
                 and (not q or q in s.code or q in s.name)]
        return page("报送情况", CHECKER_NOTICE + pages.BOARD, notice=checker_notice(reader, local),
                    year=year, counts=[("应报", len(roster)), ("报送率", rate), *counts],
                    statuses=list(STATUS_LABELS.items()),
                    departments=list(dict.fromkeys(s.department for s in roster)), department=department, status=status, q=q,
                    units=[_row(s, local) for s in shown], link_note=link_note(), actor=actor)

    @app.get("/admin/unit/<code>")
    def detail(code: str) -> tuple[str, int]:
        with Ledger(folder) as open_ledger:
            state = _state_or_404(open_ledger, code, g.actor)
            receipts = [_shown_receipt(open_ledger, r, local) for r in reversed(state.receipts)]
            may = officers.decisions(open_ledger, state, g.actor)
        letters = [Path(a.letter).name for a in state.actions if a.letter]
        return page(f"{state.name} 报送详情", pages.DETAIL, unit=state, receipts=receipts, history=_history(state, local),
                    letters=letters, new_link=guard.take_link(), link_note=link_note(), may=may, actor=g.actor)

    def link_note() -> str:
        """Said on the board when no base URL was given: links then start with the address served on."""
        if base_url:
            return ""
        return f"新生成的报送链接以 {link_base()} 开头（启动服务时未指定单位访问的地址，取本服务监听的地址）。"

    def link_base() -> str:
        return policy.link_base(base_url, listen, request.environ, https)

    @app.post("/admin/unit/<code>/<action>")
    def decide(code: str, action: str) -> Any:
        actor: Actor = g.actor
        with Ledger(folder) as open_ledger:
            _state_or_404(open_ledger, code, actor)  # another department's unit: as if it did not exist
        if action not in ("return", "accept", "pass", "link"):
            abort(404)
        if (action in ("accept", "link") and not actor.bureau) or (action == "pass" and actor.role != "department"):
            abort(403)
        receipt = request.form.get("receipt", type=int)  # the receipt the page showed: refused if no longer current
        try:
            if action in ("return", "accept", "pass") and receipt is None:
                session["flash"] = "页面已过期，请刷新后再决定。"
            elif action == "return":
                reason = request.form.get("reason", "").strip()[:500]
                if not reason:
                    session["flash"] = "退回须写明原因。"
                else:
                    return_unit(folder, code, reason, zone=zone, receipt=receipt, actor=actor,
                                issuer=actor.department if actor.role == "department" else None)
                    session["flash"] = "已退回，审核意见已生成"
            elif action == "accept":
                accept_unit(folder, code, receipt=receipt, actor=actor, zone=zone)
                session["flash"] = "已确认"
            elif action == "pass":
                pass_unit(folder, code, actor, receipt=receipt, zone=zone)
                session["flash"] = "已初审通过，转财政部门确认"
            elif action == "link":
                with Ledger(folder) as open_ledger:
                    link = issue_links(open_ledger, [code])[0]
                guard.keep_link(link.url(link_base()))
                session["flash"] = "已重新生成链接，旧链接已作废"
        except CampaignError as exc:
            session["flash"] = str(exc)
        return redirect(f"/admin/unit/{code}", code=303)

    @app.get("/admin/download/<name>")
    def download(name: str) -> Any:
        actor: Actor = g.actor
        if name not in DOWNLOADS or (name == "audit.csv" and actor.role == "department"):
            abort(404)
        only = actor.department if actor.role == "department" else None  # a department's own units only
        with tempfile.TemporaryDirectory(prefix="download-", dir=incoming) as scratch:  # made on demand, nothing left behind
            out = Path(scratch) / name
            if name == "reminders.xlsx":
                write_reminders(folder, out, local, department=only)
            elif name == "audit.csv":
                officers.write_trail(folder, out)
            else:
                result, _checked = consolidate_campaign(str(folder), bounds, department=only)
                if name == "summary.xlsx":
                    write_summary(result, out, zone)
                else:
                    write_wide_csv(result, out)
            data = io.BytesIO(out.read_bytes())
        return send_file(data, as_attachment=True, download_name=name)

    @app.get("/admin/letters/<name>")
    def letter(name: str) -> Any:
        actor: Actor = g.actor
        return _letter(None, name, None if actor.role != "department" else actor.department)

    @app.get("/u/<token>/letters/<name>")
    def unit_letter(token: str, name: str) -> Any:
        return _letter(unit_of(token), name)

    def _letter(code: str | None, name: str, department: str | None = None) -> Any:
        """Only letters the ledger lists (a unit: its own; a department: its units'), by name: never a path from the
        request."""
        with Ledger(folder) as open_ledger:
            mine = {u.code for u in open_ledger.units() if u.department == department} if department is not None else None
            known = {Path(a.letter).name: a.letter for a in open_ledger.actions(code) if a.letter and (mine is None or a.unit_code in mine)}
        if name not in known:
            abort(404)
        return send_file(folder / known[name], as_attachment=True, download_name=name)

    officers.register(app, folder, page, local)
    review_page.register(app, folder, page, bounds)  # 审核提示 and the 复核 sample
    return app


def receipt_unit_name(ledger: Ledger, code: str) -> str:
    found = ledger.unit(code)
    return found.name if found is not None else code


def _state_or_404(ledger: Ledger, code: str, actor: Actor | None = None) -> UnitState:
    """A unit the actor may see; any other answers as a unit that does not exist."""
    try:
        state = state_of(ledger, code)
    except CampaignError:
        abort(404)
    if actor is not None and not actor.sees(state.department):
        abort(404)
    return state


def _row(state: UnitState, zone: Any) -> dict[str, str]:
    current = state.current
    last = f"{current.name}（{local_time(current.received_at, zone)}）" if current else ""
    return {"code": state.code, "name": state.name, "department": state.department, "contact": state.contact, "phone": state.phone,
            "label": state.label, "last": last, "step": state.step}


def _history(state: UnitState, zone: Any, traced: bool = True) -> list[tuple[str, str]]:
    """Newest first, in the bureau's local time; a unit's page without officers' accounts and addresses."""
    return [(local_time(at, zone), text) for at, text in reversed(events(state, traced=traced))]


def _shown_receipt(ledger: Ledger, receipt: Any, zone: Any) -> dict[str, Any]:
    """A receipt's issues as the page shows them, with the 说明 given in the workbook or afterwards on the web."""
    report = latest_report(ledger, receipt.sha256)
    given = ledger.explanations(receipt.id)
    issues = [{"index": k, "severity": i.severity, "sheet": i.sheet, "cell": i.cell, "label": i.label, "expected": shown_text(i.expected),
               "found": shown_text(i.found), "message": i.message, "explanation": i.explanation or given.get(k, "")}
              for k, i in enumerate(report.issues)]
    if receipt.summary and not any(i["severity"] == "error" for i in issues):
        issues.insert(0, {"index": -1, "severity": "error", "sheet": "", "cell": "", "label": "", "expected": "", "found": "",
                          "message": receipt.summary, "explanation": ""})
    return {"id": receipt.id, "name": receipt.name, "time": local_time(receipt.received_at, zone), "issues": issues}

