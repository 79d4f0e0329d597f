"""The demo's web part: links for every unit, one late unit handing in its return through its own page, and the
bureau's board, driven through the app itself (its test client: no port is opened by the demo)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..campaign.access import issue_links, set_password, write_links
from ..campaign.ledger import Ledger
from ..web.app import create_app

DEMO_PASSWORD = "demo-password"  # the demo's own; a bureau sets its own with `xlkit campaign password`
BASE_URL = "http://127.0.0.1:8750"


def run_web_demo(folder: Path, code: str, upload: Path, echo: Callable[[str], None]) -> dict[str, Path]:
    with Ledger(folder) as ledger:
        set_password(ledger, DEMO_PASSWORD)
        links = issue_links(ledger)
    links_file = folder.parent / f"报送链接_{folder.name}.csv"
    write_links(links, BASE_URL, links_file)
    token = next(link.token for link in links if link.unit_code == code)
    app = create_app(folder)
    unit = app.test_client()
    page = unit.get(f"/u/{token}").get_data(as_text=True)
    with upload.open("rb") as handle:
        answer = unit.post(f"/u/{token}/upload", data={"csrf": _csrf(page), "file": (handle, upload.name)})
    result = unit.get(answer.headers["Location"]).get_data(as_text=True)
    unit_page = folder.parent / "unit_page.html"
    unit_page.write_text(result, encoding="utf-8")
    bureau = app.test_client()
    login = bureau.get("/admin/login").get_data(as_text=True)
    bureau.post("/admin/login", data={"csrf": _csrf(login), "password": DEMO_PASSWORD})
    board = folder.parent / "board.html"
    board.write_text(bureau.get("/admin").get_data(as_text=True), encoding="utf-8")
    status = re.search(r"当前状态：<strong>([^<]+)", result)
    echo(f"7. 网上报送：{len(links)} 个单位的链接在 {links_file}；一个迟报单位在自己的页面上传了 {upload.name}"
         f"（现在的状态：{status.group(1) if status else '?'}；单位看到的页面：{unit_page}；财政部门的看板：{board}）。"
         f"真正启动服务：xlkit serve {folder}（看板 {BASE_URL}/admin，密码 {DEMO_PASSWORD}）")
    return {"links": links_file, "unit_page": unit_page, "board": board}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    if not found:
        raise RuntimeError("the page has no CSRF field")
    return found.group(1)
