"""The desk in a real browser: headless Chromium (Debian's chromium + chromium-driver, which .ci/run installs) signs
in as an inspector through WeCom's web OAuth (the stand-in plays WeCom) and as a cadre through the bot's link,
opens a town, a village, a case, the clue ledger (a clue's stage shows; the cadre is refused), the assessment and
the trends, and saves screenshots.

Selenium blocks, and the desk is served by this test's own event loop: every browser call runs on a thread."""
from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from bot.desk import session
from tests.test_desk import inspector_says, seed

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver; "
           ".ci/run installs them)")
WECOM_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36 wxwork/4.1.30 MicroMessenger/7.0.1")


def chromium(user_agent: str = ""):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=412,915", "--lang=zh-CN"):   # a phone's screen, as in WeCom's browser
        options.add_argument(arg)
    if user_agent:
        options.add_argument(f"--user-agent={user_agent}")
    return webdriver.Chrome(service=Service(DRIVER), options=options)


class Page:
    """One browser, driven from async code."""

    def __init__(self, driver, shots: Path):
        self.driver, self.shots = driver, shots

    async def open(self, url: str) -> str:
        await asyncio.to_thread(self.driver.get, url)
        return await self.text()

    async def click(self, link_text: str) -> str:
        from selenium.webdriver.common.by import By
        element = await asyncio.to_thread(self.driver.find_element, By.PARTIAL_LINK_TEXT, link_text)
        await asyncio.to_thread(element.click)
        return await self.text()

    async def text(self) -> str:
        from selenium.webdriver.common.by import By
        body = await asyncio.to_thread(self.driver.find_element, By.TAG_NAME, "body")
        return await asyncio.to_thread(lambda: body.text)

    async def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        # The whole page, not only the first screen: grow the window to the page's height first.
        height = await asyncio.to_thread(self.driver.execute_script, "return document.body.scrollHeight")
        await asyncio.to_thread(self.driver.set_window_size, 412, max(915, int(height) + 40))
        assert await asyncio.to_thread(self.driver.save_screenshot, str(path))
        return path

    async def close(self) -> None:
        await asyncio.to_thread(self.driver.quit)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Screenshots go to $XIAOWEI_SCREENSHOTS when set (the README's come from there), else a temporary folder."""
    where = Path(os.environ.get("XIAOWEI_SCREENSHOTS") or tmp_path / "shots")
    where.mkdir(parents=True, exist_ok=True)
    return where


async def test_an_inspector_and_a_cadre_use_the_desk_in_chromium(service, standin, shots):
    ids = await seed(service, standin)
    for step in ("受理", "初步核实 调取修路工程账目核对"):
        await inspector_says(service, standin, f"线索 J2026-001 {step}")
    inspector = Page(await asyncio.to_thread(chromium, WECOM_UA), shots)
    try:
        standin.oauth_user = "zjw-hu"            # signed in to WeCom on this phone
        home = await inspector.open(service.url("/desk/login"))
        assert "您好，镇纪委书记胡纪" in home and "翠江镇" in home
        town = await inspector.click("翠江镇")
        assert "城南村" in town and "超期" in town and "每个数字都可点开" in town
        loaded = await asyncio.to_thread(inspector.driver.execute_script,
                                         "const i = document.querySelector('img.chart'); "
                                         "return i && i.complete && i.naturalWidth > 0")
        assert loaded                             # the chart image came through
        await inspector.shot("desk-town")
        village = await inspector.click("城南村")
        assert "路灯" in village and "共 1 件" in village
        await inspector.shot("desk-village")
        case = await inspector.click("101")
        assert "经过" in case and "登记" in case and "群里看到的" in case and "已登记，编号 101" in case
        await inspector.shot("desk-case")
        await inspector.open(service.url("/desk/town/翠江镇"))
        ledger = await inspector.click("问题线索台账")
        assert "问题线索台账 · 翠江镇" in ledger and "J2026-001" in ledger
        stage = await asyncio.to_thread(inspector.driver.execute_script,
                                        "return document.querySelector('#ledger .stage').textContent")
        assert stage == "初步核实" and "调取修路工程账目核对" in ledger and "导出 Excel" in ledger
        await inspector.shot("desk-ledger")
        assessment = await inspector.open(service.url("/desk/assessment?town=翠江镇&month=2026-12"))
        assert "月度考核 · 2026年12月" in assessment and "按期办结" in assessment and "党支部书记张建" in assessment
        await inspector.shot("desk-assessment")
        trends = await inspector.open(service.url("/desk/trends"))
        assert "反复出现的问题" in trends and "周环比" in trends
        await inspector.shot("desk-trends")
        visits = await inspector.click("入户走访名单")
        assert "仅纪委可见" in visits
    finally:
        await inspector.close()

    cadre = Page(await asyncio.to_thread(chromium), shots)
    try:
        link = session.link(service.bot.config, "cn-zhang", service.bot.clock.now(), base_url=service.url(""))
        home = await cadre.open(link)
        assert "我负责的村" in home and "问题线索台账" not in home
        village = await cadre.click("城南村")
        assert "路灯" in village and "修路款" not in village
        case = await cadre.open(service.url(f"/desk/case/{ids['城南村']}"))
        assert "经过" in case
        refused = await cadre.open(service.url("/desk/clues"))
        assert "问题线索台账只有纪委可以查看" in refused and "J2026-001" not in refused
        await cadre.shot("desk-cadre-refused")
        refused = await cadre.open(service.url(f"/desk/case/{ids['城南村-clue']}"))
        assert "没有查看这件事的权限" in refused and "修路款" not in refused
    finally:
        await cadre.close()
    assert {p.name for p in shots.iterdir()} >= {"desk-town.png", "desk-village.png", "desk-case.png",
                                                  "desk-ledger.png", "desk-assessment.png", "desk-cadre-refused.png"}


async def test_an_inspector_follows_the_town_to_a_villages_publicity_in_chromium(service, standin, clock, shots):
    from selenium.webdriver.common.by import By
    from tests.test_desk import publish_and_object
    await publish_and_object(service, standin, clock)
    inspector = Page(await asyncio.to_thread(chromium, WECOM_UA), shots)
    try:
        standin.oauth_user = "zjw-hu"
        await inspector.open(service.url("/desk/login"))
        await inspector.open(service.url("/desk/town/翠江镇"))
        town = await inspector.click("各村公开及时率")
        assert "全镇公开及时率" in town and "城南村" in town and "17%" in town
        await inspector.shot("desk-town-publicity")
        village = await inspector.click("17%")
        assert "城南村 · 村务公开" in village and "2026年11月：按时公开" in village and "事前公示" in village
        assert "修村道 3.2万元" not in village                     # the old version is folded away until asked for
        summary = await asyncio.to_thread(inspector.driver.find_element, By.CSS_SELECTOR, "#notice-1 summary")
        await asyncio.to_thread(summary.click)
        assert "修村道 3.2万元" in await inspector.text()
        await inspector.shot("desk-village-publicity")
    finally:
        await inspector.close()
