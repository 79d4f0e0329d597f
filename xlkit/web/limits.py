"""What one request and one link may cost. A body is bounded by its route before anything reads it (a form's is
small, only an upload's may reach the cap) and must be of the route's type; a unit's link takes one upload at a
time, and so many uploads an hour and bytes a day, counted from the ledger so that a restart forgets nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, request
from werkzeug.exceptions import HTTPException

from ..bureau.clock import local_time
from ..campaign.access import unit_for_token
from ..campaign.ledger import LEASE, Ledger, Owner
from .request_ledger import request_ledger

FORM_BYTES = 64 * 1024  # a form's whole body (a login, 说明, 退回 reasons): ample, and cheap to parse
UPLOAD_FIELDS = 1024 * 1024  # an upload's text parts; Werkzeug's decoder holds a 64 KB read plus a boundary against it
UPLOAD_PATH = re.compile(r"/u/[^/]+/upload")
WEB_NOTE = "网页上传"  # the note of a receipt uploaded through a link
MB = 1024 * 1024


def is_upload(path: str) -> bool:
    return UPLOAD_PATH.fullmatch(path) is not None


def body_bound(path: str, upload_bytes: int) -> int:
    """The largest body a path takes: an upload's file at the cap with its form around it, else a form's."""
    return upload_bytes + FORM_BYTES if is_upload(path) else FORM_BYTES


class Refused(HTTPException):
    """An answer in the app's own words, with a Retry-After when waiting helps."""

    def __init__(self, code: int, what: str, detail: str, retry_after: int | None = None):
        super().__init__(detail)
        self.code, self.what, self.detail, self.retry_after = code, what, detail, retry_after

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        headers = super().get_headers(*args, **kwargs)
        return [*headers, ("Retry-After", str(self.retry_after))] if self.retry_after is not None else headers


@dataclass(frozen=True)
class LinkLimits:
    uploads_per_hour: int = 30
    mb_per_day: int = 200


class LinkGate:
    """One upload at a time per unit (whichever of its links), and its web receipts of the last hour and day. The
    slot is a row of the ledger, so it holds across server processes; a server killed mid-upload leaves a slot its
    dead process cannot hold (taken over by the next upload)."""

    def __init__(self, folder: Path, limits: LinkLimits, zone: Any):
        self.folder, self.limits, self.zone = folder, limits, zone

    def enter(self, code: str, size: int) -> None:
        with request_ledger(self.folder) as ledger:
            if not ledger.take_upload_slot(code, Owner.me(LEASE)):
                raise Refused(429, "正在上传", "本单位已有一个文件正在上传或审核；请等它完成（结果显示在页面上）后再上传。", 30)
            try:
                self._within_limits(ledger, code, size)
            except BaseException:
                ledger.free_upload_slot(code, Owner.me(LEASE))
                raise

    def leave(self, code: str) -> None:
        with request_ledger(self.folder) as ledger:
            ledger.free_upload_slot(code, Owner.me(LEASE))

    def _within_limits(self, ledger: Ledger, code: str, size: int) -> None:
        moment = datetime.now(timezone.utc)
        day = [(at, r.sha256) for r in ledger.receipts(code)
               if r.note == WEB_NOTE and (at := _moment(r.received_at)) > moment - timedelta(days=1)]
        sizes = {sha: blob.size for sha in {sha for _at, sha in day} if (blob := ledger.blob(sha)) is not None}  # not every blob
        hour = [at for at, _sha in day if at > moment - timedelta(hours=1)]
        per_hour = self.limits.uploads_per_hour
        if len(hour) >= per_hour:
            again = hour[len(hour) - per_hour] + timedelta(hours=1)
            self._refuse(f"本单位的链接每小时最多上传 {per_hour} 次，已达上限", again, moment)
        allowed = self.limits.mb_per_day * MB
        total = used = sum(sizes.get(sha, 0) for _at, sha in day)
        if used + size > allowed:
            again = moment + timedelta(days=1)
            for at, sha in day:  # the oldest first: when enough of the day's bytes have left the window
                used -= sizes.get(sha, 0)
                if used + size <= allowed:
                    again = at + timedelta(days=1)
                    break
            self._refuse(f"本单位的链接每天最多上传 {self.limits.mb_per_day} MB，24 小时内已上传 {total / MB:.1f} MB", again, moment)

    def _refuse(self, why: str, again: datetime, moment: datetime) -> None:
        shown = local_time(again.isoformat(), self.zone)
        raise Refused(429, "上传次数过多", f"{why}；请于 {shown} 之后再上传。如确需多传，请联系财政部门。",
                      max(1, int((again - moment).total_seconds()) + 1))


def _moment(at: str) -> datetime:
    moment = datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def bound_requests(app: Flask, folder: Path, upload_bytes: int, gate: LinkGate) -> None:
    """Registered before any other hook (the CSRF check reads the form): a body over its route's bound, or of
    the wrong type, is refused unread; an upload takes its unit's slot, given back when the request ends."""

    @app.before_request
    def bound() -> None:
        if request.method != "POST":
            return
        upload = is_upload(request.path)
        request.max_content_length = body_bound(request.path, upload_bytes)
        request.max_form_memory_size = UPLOAD_FIELDS if upload else FORM_BYTES
        if (request.content_length or 0) > request.max_content_length:
            abort(413)
        if request.mimetype != ("multipart/form-data" if upload else "application/x-www-form-urlencoded"):
            abort(415)
        if upload:
            with request_ledger(folder) as ledger:
                code = unit_for_token(ledger, (request.view_args or {}).get("token", ""))
            if code is not None:  # an unknown link is the route's to refuse
                gate.enter(code, request.content_length or 0)
                g.link_slot = code

    @app.teardown_request
    def release(_error: BaseException | None) -> None:
        code = g.pop("link_slot", None)
        if code is not None:
            gate.leave(code)
