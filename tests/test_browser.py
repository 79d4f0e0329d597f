"""The intake app in a real headless Chromium (Debian's chromium and chromium-driver, driven by selenium): what a
unit's clerk and a bureau officer do, with and without JavaScript, and screenshots kept for people to look at."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest
from web import PASSWORD, Served

from xlkit.campaign.access import issue_links, set_password
from xlkit.campaign.ledger import Ledger
from xlkit.campaign.setup import DISTRIBUTED, init_campaign
from xlkit.demo.sample_data import generate_unit_data
from xlkit.intake.identify import open_template_workbook
from xlkit.web.app import create_app
from xlkit.web.checker import Checker
from xlkit.write.fill import fill_workbook

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "build" / "screens"  # kept for people to look at
HOW_TO_INSTALL = "apt-get install chromium chromium-driver"
ROSTER = "单位编码,单位名称,主管部门,联系人,联系电话\nB1,浏览器单位甲,一局,张一,0730-1\nB2,浏览器单位乙,二局,张二,0730-2\n"


def _driver(folder: Path, javascript: bool = True):  # type: ignore[no-untyped-def]
    missing = [name for name in ("chromium", "chromedriver") if not shutil.which(name)]
    if missing:
        message = f"browser tests need {', '.join(missing)}: {HOW_TO_INSTALL}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # under CI these tests must run
        pytest.skip(message)
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                     "--disable-background-networking", "--disable-component-update", "--window-size=1280,1100", "--lang=zh-CN",
                     f"--user-data-dir={folder}"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=shutil.which("chromedriver")))
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope="module")
def site(tmp_path_factory, spec):
    root = tmp_path_factory.mktemp("browser")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    init_campaign(root / "c", root / "roster.csv", 2019, deadline="2020-03-31")
    with Ledger(root / "c") as ledger:
        set_password(ledger, PASSWORD)
        links = {link.unit_code: link.token for link in issue_links(ledger)}
    for code, changes in (("B1", {"staff.actual": 500}), ("B2", {"score": None})):
        template = next((root / "c" / DISTRIBUTED).glob(f"{code}_*.xlsx"))
        layout = open_template_workbook(template, spec).layout
        data = {k: v for k, v in {**generate_unit_data(layout, code), **changes}.items() if v is not None}
        fill_workbook(template, data, root / f"{code}_填好.xlsx", spec)
    checker = Checker()
    served = Served(create_app(root / "c", checker))
    yield root, links, f"http://127.0.0.1:{served.port}"
    served.close()
    checker.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = _driver(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def navigating(driver, act) -> None:  # type: ignore[no-untyped-def]
    """Do what leaves the page (a click that submits, a drop) and wait until the next page has replaced it: finding
    elements right after a click can otherwise find the old page's."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")

    def replaced(_driver) -> bool:  # type: ignore[no-untyped-def]
        """The old page is gone: stale, as selenium says it, or as Chromium sometimes does, mid-replacement."""
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error):
                return True
            raise
        return False
    act()
    WebDriverWait(driver, 60).until(replaced)
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")


def shot(driver, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1280, min(max(height + 40, 600), 4000))
    driver.save_screenshot(str(SCREENS / name))


def test_a_clerk_uploads_with_the_file_input_and_explains_a_warning(site, browser):
    from selenium.webdriver.common.by import By

    root, links, base = site
    browser.get(f"{base}/u/{links['B1']}")
    assert "js" in (browser.find_element(By.ID, "drop").get_attribute("class") or "")  # drag-and-drop is on
    assert "浏览器单位甲" in browser.page_source and "未报送" in browser.find_element(By.TAG_NAME, "main").text
    shot(browser, "unit_before.png")
    browser.find_element(By.ID, "file").send_keys(str(root / "B1_填好.xlsx"))
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "#upload input[type=submit]").click)
    result = browser.find_element(By.ID, "result")
    assert "B1_填好.xlsx" in result.text and "实有人数不超过人员编制" in result.text
    assert "已接收（有警告）" in browser.find_element(By.CLASS_NAME, "flash").text
    shot(browser, "unit_result.png")
    browser.find_element(By.CSS_SELECTOR, "#result textarea").send_keys("含借调人员 12 人")
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "#result input[type=submit]").click)
    assert "已保存 1 条说明" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "含借调人员 12 人" in browser.find_element(By.ID, "result").text


def test_a_clerk_drops_a_file_on_the_page(site, browser):
    from selenium.webdriver.common.by import By

    root, links, base = site
    browser.get(f"{base}/u/{links['B2']}")
    data = base64.b64encode((root / "B2_填好.xlsx").read_bytes()).decode()
    navigating(browser, lambda: browser.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "B2_拖放.xlsx"));
        document.getElementById("drop").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
    """, data))
    result = browser.find_element(By.ID, "result")
    assert "B2_拖放.xlsx" in result.text and "需要修改的错误" in result.text and "绩效自评综合得分" in result.text
    shot(browser, "unit_errors.png")


def test_the_plain_upload_works_without_javascript(site, tmp_path):
    from selenium.webdriver.common.by import By

    root, links, base = site
    driver = _driver(tmp_path / "nojs", javascript=False)
    try:
        driver.get(f"{base}/u/{links['B1']}")
        assert "js" not in (driver.find_element(By.ID, "drop").get_attribute("class") or "")  # the page's script did not run
        driver.find_element(By.ID, "file").send_keys(str(root / "B1_填好.xlsx"))
        navigating(driver, driver.find_element(By.CSS_SELECTOR, "#upload input[type=submit]").click)
        assert "B1_填好.xlsx" in driver.find_element(By.ID, "result").text
    finally:
        driver.quit()


def test_the_bureau_logs_in_watches_and_sends_back(site, browser):
    from selenium.webdriver.common.by import By

    _root, _links, base = site
    browser.get(f"{base}/admin")
    assert "财政部门登录" in browser.page_source
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
    board = browser.find_element(By.TAG_NAME, "main").text
    assert "报送情况" in board and "应报 2" in board
    shot(browser, "board.png")
    navigating(browser, browser.find_element(By.LINK_TEXT, "B2").click)
    browser.find_element(By.NAME, "reason").send_keys("自评得分未填写")
    navigating(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/return'] input[type=submit]").click)
    assert "已退回，审核意见已生成" in browser.find_element(By.CLASS_NAME, "flash").text
    assert "退回（" in browser.find_element(By.TAG_NAME, "main").text
    shot(browser, "unit_detail.png")


def test_the_page_style_and_script_apply_under_the_hashed_policy(site, browser):
    """The CSP allows the one style and script by their sha256 only: a browser applies both (a wrong hash, an escaped
    quote in the font list or an inline style attribute would each show here), and reports no violation."""
    from selenium.webdriver.common.by import By

    _root, links, base = site
    recorder = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (  # before the page's own parse
        "window.violations = []; document.addEventListener('securitypolicyviolation', e => window.violations.push(e.violatedDirective));")})
    browser.get(f"{base}/u/{links['B1']}")
    assert browser.execute_script("return window.violations") == []
    assert "Noto Sans CJK SC" in browser.execute_script("return getComputedStyle(document.body).fontFamily")
    assert browser.execute_script("return getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(31, 78, 121)"
    assert "js" in (browser.find_element(By.ID, "drop").get_attribute("class") or "")  # the script ran
    browser.get(f"{base}/admin/login")
    if "财政部门登录" in browser.page_source:
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        navigating(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click)
    browser.get(f"{base}/admin")
    logout = browser.find_element(By.CSS_SELECTOR, "form[action='/admin/logout']")
    assert browser.execute_script("return getComputedStyle(arguments[0]).display", logout) == "inline"
    assert browser.execute_script("return window.violations") == []
    browser.execute_script("document.body.setAttribute('style', 'color: red')")  # the recorder can fail: this is refused
    assert browser.execute_script("return window.violations") == ["style-src-attr"]
    browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", recorder)
