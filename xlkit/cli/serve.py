"""`xlkit serve`: the intake web app on a campaign folder."""

from __future__ import annotations

from pathlib import Path

import click

from .campaign import ZONE_OPTION
from .common import reports_errors
from .helptext import command


@command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (default: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), default=8750, show_default=True)
@click.option("--max-upload-mb", type=click.IntRange(1, 50), default=20, show_default=True, help="Largest upload accepted.")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=120, show_default=True, help="Seconds one upload's check may take.")
@click.option("--memory-mb", type=click.IntRange(64, 65536), default=2048, show_default=True, help="Memory one check may add.")
@click.option("--uploads-per-hour", type=click.IntRange(1, 10000), default=30, show_default=True,
              help="Uploads one unit's link may make in an hour (counted from the ledger).")
@click.option("--upload-mb-per-day", type=click.IntRange(1, 1000000), default=200, show_default=True,
              help="Megabytes one unit's link may upload in a day; at least --max-upload-mb.")
@click.option("--connections", type=click.IntRange(10, 10000), default=1000, show_default=True,
              help="Open connections served at once (each is a file descriptor).")
@click.option("--header-timeout", type=click.FloatRange(1, 600), default=20, show_default=True,
              help="Seconds a request may take to send its headers; then its body must come at 2 KB/s or faster.")
@click.option("--base-url", default="", help="The address units use (for links made on the board); default: the one listened on.")
@click.option("--session-idle-minutes", type=click.IntRange(1, 1440), default=60, show_default=True,
              help="Minutes a bureau login may stay unused before it ends.")
@click.option("--https", is_flag=True, help="Reached over TLS (through a proxy that terminates it): Secure cookie and HSTS.")
@click.option("--trusted-proxy", default="", metavar="ADDR", help="The proxy's address: its X-Forwarded-For/-Proto are believed.")
@ZONE_OPTION
@reports_errors
def serve(directory: str, host: str, port: int, max_upload_mb: int, timeout: float, memory_mb: int, uploads_per_hour: int,
          upload_mb_per_day: int, connections: int, header_timeout: float, base_url: str, zone: str,
          session_idle_minutes: int, https: bool, trusted_proxy: str) -> None:
    """Serve campaign DIRECTORY: units upload at /u/<token>, the bureau's board is /admin."""
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
