"""`xlkit serve`: the intake web app on a campaign folder."""

from __future__ import annotations

from pathlib import Path

import click

from .campaign import ZONE_OPTION
from .common import reports_errors
from .helptext import command


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADDR", help="监听的地址（默认只供本机访问）。")
@click.option("--port", type=click.IntRange(1, 65535), default=8750, show_default=True, metavar="PORT", help="监听的端口。")
@click.option("--max-upload-mb", type=click.IntRange(1, 50), default=20, show_default=True, metavar="MB", help="单个上传文件的大小上限（MB）。")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=120, show_default=True, metavar="SECONDS",
              help="审核一次上传最多用时（秒）。")
@click.option("--memory-mb", type=click.IntRange(64, 65536), default=2048, show_default=True, metavar="MB",
              help="一次审核最多增加的内存（MB）。")
@click.option("--uploads-per-hour", type=click.IntRange(1, 10000), default=30, show_default=True, metavar="N",
              help="一个单位的报送链接每小时最多上传几次（按台账计数）。")
@click.option("--upload-mb-per-day", type=click.IntRange(1, 1000000), default=200, show_default=True, metavar="MB",
              help="一个单位的报送链接每天最多上传多少 MB；不小于 --max-upload-mb。")
@click.option("--connections", type=click.IntRange(10, 10000), default=1000, show_default=True, metavar="N",
              help="同时保持的连接数上限（每个连接占一个文件描述符）。")
@click.option("--header-timeout", type=click.FloatRange(1, 600), default=20, show_default=True, metavar="SECONDS",
              help="一个请求发送请求头最多用时（秒）；此后请求体须以每秒 2 KB 以上的速度送达。")
@click.option("--base-url", default="", metavar="URL", help="单位访问的地址（看板上生成报送链接时用）；默认：监听的地址。")
@click.option("--session-idle-minutes", type=click.IntRange(1, 1440), default=60, show_default=True, metavar="MINUTES",
              help="财政部门的登录闲置多少分钟后自动退出。")
@click.option("--https", is_flag=True, help="经 TLS 访问（由代理终止 TLS）：Cookie 加 Secure，并发送 HSTS。")
@click.option("--trusted-proxy", default="", metavar="ADDR", help="代理的地址：采信它发来的 X-Forwarded-For/-Proto 头。")
@ZONE_OPTION
@reports_errors
def serve(directory: str, host: str, port: int, max_upload_mb: int, timeout: float, memory_mb: int, uploads_per_hour: int,
          upload_mb_per_day: int, connections: int, header_timeout: float, base_url: str, zone: str,
          session_idle_minutes: int, https: bool, trusted_proxy: str) -> None:
    """启动网上报送。单位在 /u/<token> 上传报表，财政部门在 /admin 查看和处理；DIRECTORY 为报送任务目录。"""

    from ..campaign.checks import registry_of
    from ..campaign.ledger import Ledger
    from ..campaign.mail import Postman
    from ..web.app import create_app
    from ..web.checker import Checker
    from ..web.limits import FORM_BYTES, LinkLimits
    from ..web.request_ledger import Checkpoints
    from ..web.serving import serve as serve_app

    if upload_mb_per_day < max_upload_mb:
        raise click.BadParameter(f"不能小于 --max-upload-mb（{max_upload_mb}）", param_hint="--upload-mb-per-day")
    listen = f"{'https' if https else 'http'}://{f'[{host}]' if ':' in host else host}:{port}"
    proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto"} if trusted_proxy else {}

    with Ledger(directory) as ledger:
        spec_paths = tuple(ledger.settings().get("specs", []))
        registry_of(ledger)
        if not any(not a.disabled for a in ledger.accounts()):
            click.echo("提示：尚未建立账号，/admin 无法登录；请运行 xlkit campaign password DIR 或 xlkit campaign user add", err=True)
    checker = Checker(spec_paths, timeout, memory_mb)  # before the server's threads: readers fork from one thread
    postman = Postman(directory).start()  # queued mail is sent in the background, never by a request
    checkpoints = Checkpoints(Path(directory)).start()  # the serving threads keep their SQLite openings
    try:
        app = create_app(directory, checker, max_upload_mb, zone, base_url,
                         limits=LinkLimits(uploads_per_hour=uploads_per_hour, mb_per_day=upload_mb_per_day),
                         session_idle_minutes=session_idle_minutes, https=https, listen=listen)
        click.echo(f"xlkit serve: http://{host}:{port}/  (单位：/u/<token>；财政部门：/admin；Ctrl+C 停止)", err=True)
        if not base_url:
            click.echo(f"提示：未指定 --base-url，网页上新生成的报送链接以 {listen} 开头", err=True)
        serve_app(app, host=host, port=port, threads=8, max_request_body_size=max_upload_mb * 1024 * 1024 + FORM_BYTES,
                  ident="xlkit", clear_untrusted_proxy_headers=True, connection_limit=connections, header_timeout=header_timeout,
                  url_scheme="https" if https else "http", **proxy)
    finally:
        checkpoints.stop()
        postman.stop()
        checker.close()
