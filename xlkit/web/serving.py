"""The app under waitress, hardened for units on slow or hostile links: a body over its route's bound is refused
from its headers, before it is read; a request must finish its headers within a deadline and then keep up a
minimal rate, so that slow clients cannot hold every connection; waitress's own refusals are Chinese pages."""

from __future__ import annotations

import logging
import resource
import time
from typing import Any

from jinja2 import Environment
from markupsafe import Markup
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge

from . import pages
from .limits import FORM_BYTES, is_upload
from .pages import compiled

# What `xlkit serve` runs with (options may change the first three). waitress's defaults (100 connections, 120 s
# of silence) let about a hundred clients sending a byte every few seconds stop the service.
DEFAULTS: dict[str, Any] = {"connection_limit": 1000, "header_timeout": 20.0, "min_body_rate": 2048, "channel_timeout": 60,
                            "cleanup_interval": 2, "max_request_header_size": 64 * 1024, "asyncore_use_poll": True}
WORDS = {400: ("请求无效", "请求的格式不对；请从页面上操作，或刷新页面后重试。"),
         413: ("内容过大", "提交的内容超过大小上限：上传的文件不得超过页面上写明的大小，表单内容不得超过 64 KB。"),
         431: ("请求头过大", "请求头超过大小上限；请清除本站的 Cookie 后重试。"),
         500: ("服务器内部错误", "处理请求时出错，已记录；请稍后重试或联系财政部门。"),
         501: ("不支持的请求", "服务器不支持这种请求编码；请用浏览器从页面上操作。")}
logger = logging.getLogger("xlkit.web")
_pages = Environment(autoescape=True)


def error_page(code: int, what: str, detail: str) -> bytes:
    inner = compiled(_pages, pages.ERROR).render(code=code, what=what, detail=detail)
    return compiled(_pages, pages.LAYOUT).render(title=f"{code} {what}", heading=f"{code} {what}", style=Markup(pages.STYLE),
                                                   body=Markup(inner), flash="").encode("utf-8")


class ChineseErrorTask(ErrorTask):
    """waitress's refusals (malformed request, body or headers too large, unknown encoding) as the app's pages."""

    def execute(self) -> None:
        error: Any = self.request.error
        what, detail = WORDS.get(error.code, WORDS[400 if 400 <= error.code < 500 else 500])
        logger.info("refused by the server: %s %s (%s)", error.code, error.reason, error.body)  # the English reason: the log's
        body = error_page(error.code, what, detail)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                                      ("X-Content-Type-Options", "nosniff")])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class BoundedParser(HTTPRequestParser):
    """A request that knows when it began and refuses a body over its route's bound as soon as its length is known."""

    error: Any = None

    def __init__(self, adj: Adjustments):
        super().__init__(adj)
        self.began = time.monotonic()

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if self.headers_finished and self.error is None and not self.empty:
            bound = self.adj.max_request_body_size if is_upload(getattr(self, "path", "")) else FORM_BYTES
            if max(self.content_length, self.body_bytes_received) > bound:
                self.error = RequestEntityTooLarge(f"exceeds this route's bound of {bound}")
                self.completed = True
        return consumed


class IntakeChannel(HTTPChannel):
    parser_class = BoundedParser
    error_task_class = ChineseErrorTask


class IntakeServer(TcpWSGIServer):
    """waitress's server; its periodic clean-up also closes connections whose request is too slow in coming."""

    channel_class = IntakeChannel
    header_timeout = DEFAULTS["header_timeout"]
    min_body_rate = DEFAULTS["min_body_rate"]

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        moment = time.monotonic()
        for channel in list(self.active_channels.values()):
            request = channel.request  # the request being received; None between requests
            if isinstance(request, BoundedParser) and self.too_slow(request, moment - request.began):
                logger.info("closed a connection from %s: its request came too slowly", channel.addr)
                channel.will_close = True

    def too_slow(self, request: BoundedParser, elapsed: float) -> bool:
        if elapsed <= self.header_timeout:
            return False
        return not request.headers_finished or request.body_bytes_received < self.min_body_rate * (elapsed - self.header_timeout)


def create_server(app: Any, **options: Any) -> Any:
    """Like `waitress.create_server` (TCP only), with the settings of DEFAULTS unless `options` says otherwise."""
    settings = {**DEFAULTS, **options}
    header_timeout, min_body_rate = settings.pop("header_timeout"), settings.pop("min_body_rate")
    adj = Adjustments(**settings)
    _allow_files(adj.connection_limit)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict[int, Any] = {}
    servers = [IntakeServer(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=info) for info in adj.listen]
    for server in servers:
        server.header_timeout, server.min_body_rate = header_timeout, min_body_rate
    if len(servers) == 1:
        return servers[0]
    return MultiSocketServer(socket_map, adj, [(s.effective_host, s.effective_port) for s in servers], dispatcher,
                             log_info=servers[-1].log_info)


def serve(app: Any, **options: Any) -> None:
    server = create_server(app, **options)
    try:
        server.run()
    finally:
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server.map if isinstance(server, MultiSocketServer) else server._map)


def _allow_files(connections: int) -> None:
    """Every connection is a file descriptor: raise the soft limit towards the hard one if it is lower than needed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
