"""Two levels of review in a real headless Chromium: a department's officer sees only its units, passes one and sends
another back; an 审核员 confirms the passed one; the unit's page shows each step and who took it; the other
department's unit answers as one that does not exist. Screenshots kept in build/screens/ for people to look at."""

from __future__ import annotations

import pytest
from test_browser import _driver, navigating, shot
from web import PASSWORD, Served

from xlkit.campaign.access import issue_links, set_password
from xlkit.campaign.accounts import add_account
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.receive import receive
from xlkit.campaign.review import set_review
from xlkit.campaign.setup import DISTRIBUTED, init_campaign
from xlkit.demo.sample_data import generate_unit_data
from xlkit.intake.identify import open_template_workbook
from xlkit.web.app import create_app
from xlkit.web.checker import Checker
from xlkit.write.fill import fill_workbook

ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\nD1,一局下属甲,一局,张一,0730-1\nD2,一局下属乙,一局,张二,0730-2\nE1,二局下属丙,二局,李一,0730-3\n"
OFFICER_PASSWORD = "officer-pass-2019"


@pytest.fixture(scope="module")
def site(tmp_path_factory, spec):
    root = tmp_path_factory.mktemp("levels")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    folder = root / "c"
    init_campaign(folder, root / "roster.csv", 2019, deadline="2020-03-31")
    with Ledger(folder) as ledger:
        set_password(ledger, PASSWORD)
        add_account(ledger, "dept1", "一局初审", "department", OFFICER_PASSWORD, "一局")
        add_account(ledger, "dept2", "二局初审", "department", OFFICER_PASSWORD, "二局")
        add_account(ledger, "rev", "审核员甲", "reviewer", OFFICER_PASSWORD)
        set_review(ledger, "two-level")
        links = {link.unit_code: link.token for link in issue_links(ledger)}
    files = []
    for code in ("D1", "D2", "E1"):
        template = next((folder / DISTRIBUTED).glob(f"{code}_*.xlsx"))
        layout = open_template_workbook(template, spec).layout
        fill_workbook(template, generate_unit_data(layout, code), root / f"{code}.xlsx", spec)
        files.append(root / f"{code}.xlsx")
    receive(folder, files, by="收件员")
    checker = Checker()
    served = Served(create_app(folder, checker))
    yield links, f"http://127.0.0.1:{served.port}"
    served.close()
    checker.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _driver(tmp_path_factory.mktemp("chromium-levels"))
    yield driver
    driver.quit()


def _login(browser, base: str, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/admin/login")
    browser.find_element(By.NAME, "login").send_keys(login)
    browser.find_element(By.NAME, "password").send_keys(password)
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/admin/login'] input[type=submit]").click)


def _logout(browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    navigating(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/admin/logout'] input[type=submit]").click)


def test_department_first_then_the_bureau(site, browser):
    from selenium.webdriver.common.by import By

    links, base = site
    _login(browser, base, "dept1", OFFICER_PASSWORD)
    board = browser.find_element(By.TAG_NAME, "main").text
    assert "一局下属甲" in board and "一局下属乙" in board and "二局下属丙" not in board and "应报 2" in board
    assert "待主管部门初审（一局）" in board and "一局初审（dept1，主管部门 一局）" in board
    shot(browser, "levels_board_department.png")
    navigating(browser, browser.find_element(By.LINK_TEXT, "D1").click)
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/accept']")  # a department does not confirm
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/pass'] input[type=submit]").click)
    assert "已初审通过，转财政部门确认" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "待财政部门确认" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{base}/admin/unit/D2")
    browser.find_element(By.NAME, "reason").send_keys("附表三未填写")
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/return'] input[type=submit]").click)
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "已退回，审核意见已生成" in main and "主管部门退回（一局初审）：附表三未填写" in main and "账号 dept1（主管部门）" in main
    shot(browser, "levels_detail_department.png")
    browser.get(f"{base}/admin/unit/E1")  # the other department's unit: as if it did not exist
    assert "404 页面不存在" in browser.find_element(By.TAG_NAME, "main").text and "二局下属丙" not in browser.page_source
    browser.get(f"{base}/admin/unit/D1")
    _logout(browser)

    _login(browser, base, "rev", OFFICER_PASSWORD)
    board = browser.find_element(By.TAG_NAME, "main").text
    assert "二局下属丙" in board and "应报 3" in board
    browser.get(f"{base}/admin/unit/E1")
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/accept']")  # 二局 has not passed it yet
    assert "须先经二局初审通过" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{base}/admin/unit/D1")
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/accept'] input[type=submit]").click)
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "已确认" in browser.find_element(By.CLASS_NAME, "flash").text and "已办结" in main
    assert "主管部门初审通过（一局初审）" in main and "确认（审核员甲）" in main and "须先经" not in main
    shot(browser, "levels_detail_reviewer.png")
    browser.get(f"{base}/admin/password")
    shot(browser, "levels_password.png")
    _logout(browser)

    browser.get(f"{base}/u/{links['D1']}")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "已确认（已办结）" in page and "主管部门初审通过（一局初审）" in page and "确认（审核员甲）" in page
    browser.get(f"{base}/u/{links['D2']}")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "已退回（待单位修改再报）" in page and "主管部门退回（一局初审）：附表三未填写" in page
    assert "dept1" not in page and "127.0.0.1" not in page  # a unit sees who decided, not their accounts or addresses
    shot(browser, "levels_unit_returned.png")

    _login(browser, base, "", PASSWORD)  # no login: the first 管理员
    browser.get(f"{base}/admin/accounts")
    accounts = browser.find_element(By.TAG_NAME, "main").text
    assert "dept1 一局初审 主管部门 一局 在用" in accounts and "两级审核" in accounts
    shot(browser, "levels_accounts.png")
