"""`xlkit serve`: the intake web app on a campaign folder."""

from __future__ import annotations

import click

from .campaign import ZONE_OPTION
from .common import reports_errors


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (default: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), default=8750, show_default=True)
@click.option("--max-upload-mb", type=click.IntRange(1, 50), default=20, show_default=True, help="Largest upload accepted.")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=120, show_default=True, help="Seconds one upload's check may take.")
@click.option("--memory-mb", type=click.IntRange(64, 65536), default=2048, show_default=True, help="Memory one check may add.")
@click.option("--base-url", default="", help="The address units use (for links made on the board); default: the request's.")
@ZONE_OPTION
@reports_errors
def serve(directory: str, host: str, port: int, max_upload_mb: int, timeout: float, memory_mb: int, base_url: str, zone: str) -> None:
    """Serve campaign DIRECTORY: units upload at /u/<token>, the bureau's board is /admin."""
    import waitress

    from ..campaign.checks import registry_of
    from ..campaign.ledger import Ledger
    from ..web.app import create_app
    from ..web.checker import Checker

    with Ledger(directory) as ledger:
        spec_paths = tuple(ledger.settings().get("specs", []))
        registry_of(ledger)
        if not ledger.meta("admin_password"):
            click.echo("提示：尚未设置管理密码，/admin 无法登录；请运行 xlkit campaign password DIR", err=True)
    checker = Checker(spec_paths, timeout, memory_mb)  # before the server's threads: readers fork from one thread
    try:
        app = create_app(directory, checker, max_upload_mb, zone, base_url)
        click.echo(f"xlkit serve: http://{host}:{port}/  (单位：/u/<token>；财政部门：/admin；Ctrl+C 停止)", err=True)
        waitress.serve(app, host=host, port=port, threads=8, max_request_body_size=max_upload_mb * 1024 * 1024 + 65536,
                       ident="xlkit", clear_untrusted_proxy_headers=True)
    finally:
        checker.close()
