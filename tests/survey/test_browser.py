"""The survey page in a real browser: headless Chromium at phone width, JavaScript on and off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.survey_page import survey_routes
from bot.web import build_web_app
from commands.context import AppConfig
from tests.conftest import Clock
from tests.survey.conftest import SECRET, World
from tests.survey.livekit import PHONE, browser_missing, chromium, javascript_runs, serve
from tests.survey.pagekit import rating_rows

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE_S = 60
"""How long the next page may take to arrive on a loaded machine (a ceiling, not a delay)."""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or ""),
]


@pytest.fixture
def site(engine: Engine, world: World, clock: Clock) -> Iterator[str]:
    config = AppConfig(public_url="http://127.0.0.1", secret=SECRET)
    with serve(build_web_app(survey_routes(engine, config, clock=clock))) as url:
        yield url


def by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def full_page_screenshot(driver: Any, name: str) -> Path:
    """The whole page at phone width (390 CSS px, 2x), kept in ``test-artifacts/``."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    metrics = {"width": PHONE[0], "deviceScaleFactor": 2, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": PHONE[1]})
    return path


def submit(driver: Any, element: Any, action: Any = None) -> None:
    """Submit (click, or ``action()``) and wait until the next page has replaced this one
    and is whole: the old document gone, the new one parsed to its end (a form posted by
    the keyboard returns before the next page has even started to load)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_: Any) -> bool:
        """The old page's root is stale: selenium's ``staleness_of``, and also Chromium's other
        answer while the navigation swaps documents ("Node with given id does not belong to
        the document", a plain WebDriverException that ``staleness_of`` lets through)."""
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    page = driver.find_element(by("TAG_NAME"), "html")
    (action or element.click)()
    wait = WebDriverWait(driver, PAGE_S)
    wait.until(gone)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    wait.until(expected_conditions.presence_of_element_located((by("TAG_NAME"), "h1")))


def test_a_customer_rates_comments_and_sees_the_thank_you_on_a_phone(
    site: str, world: World
) -> None:
    token = world.token(ref="订单-7")
    with chromium(lang="zh-CN,zh") as driver:
        assert javascript_runs(driver)
        driver.get(f"{site}/s/{token}")
        assert "您对本次服务满意吗" in driver.find_element(by("TAG_NAME"), "h1").text
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        driver.find_element(by("CSS_SELECTOR"), "label[for=stars-4]").click()
        driver.find_element(by("CSS_SELECTOR"), "label[for=resolved-yes]").click()
        driver.find_element(by("ID"), "comment").send_keys("回复很快，谢谢 <b>小红</b>")
        shot = full_page_screenshot(driver, "survey-phone-zh.png")
        button = driver.find_element(by("CSS_SELECTOR"), "button[type=submit]")
        submit(driver, button)
        assert "谢谢您" in driver.find_element(by("TAG_NAME"), "h1").text
        full_page_screenshot(driver, "survey-phone-thanks.png")
    [row] = rating_rows(world.engine)
    assert (row.member_id, row.stars, row.resolved, row.ref) == (world.agent_id, 4, True, "订单-7")
    assert row.comment == "回复很快，谢谢 <b>小红</b>"
    assert shot.stat().st_size > 5_000


def test_the_page_works_with_javascript_off_and_the_keyboard_alone(site: str, world: World) -> None:
    from selenium.webdriver.common.keys import Keys

    token = world.token()
    with chromium(javascript=False, lang="en-US,en") as driver:
        assert not javascript_runs(driver)
        driver.get(f"{site}/s/{token}")
        assert "Very dissatisfied" in driver.page_source
        body = driver.find_element(by("TAG_NAME"), "body")
        body.send_keys(Keys.TAB)
        body = driver.switch_to.active_element
        assert body.text == "中文"  # the language switch comes first
        for _ in range(2):  # English, then into the rating group
            body.send_keys(Keys.TAB)
            body = driver.switch_to.active_element
        assert body.get_attribute("id") == "stars-1"
        body.send_keys(Keys.ARROW_DOWN)  # radio group: arrow keys move the choice
        body = driver.switch_to.active_element
        assert body.get_attribute("id") == "stars-2" and body.is_selected()
        driver.find_element(by("ID"), "comment").send_keys("Slow to answer.")
        full_page_screenshot(driver, "survey-phone-en-nojs-form.png")
        driver.find_element(by("ID"), "comment").send_keys(Keys.TAB)
        button = driver.switch_to.active_element
        assert button.tag_name == "button"
        submit(driver, button, lambda: button.send_keys(Keys.ENTER))
        assert "Thank you" in driver.find_element(by("TAG_NAME"), "h1").text
        full_page_screenshot(driver, "survey-phone-en-nojs.png")
    [row] = rating_rows(world.engine)
    assert (row.stars, row.comment, row.resolved) == (2, "Slow to answer.", None)


def test_the_language_switch_changes_the_labels(site: str, world: World) -> None:
    from selenium.webdriver.common.keys import Keys

    with chromium(javascript=False, lang="zh-CN,zh") as driver:
        driver.get(f"{site}/s/{world.token()}")
        assert "非常满意" in driver.page_source
        link = driver.find_element(by("LINK_TEXT"), "English")
        # Keyboard, not a mouse click: chromedriver's click waits forever for a
        # navigation it cannot see when page scripts are off.
        submit(driver, link, lambda: link.send_keys(Keys.ENTER))
        labels = [e.text for e in driver.find_elements(by("CSS_SELECTOR"), ".opt label")]
        english = ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"]
        assert [label.split("\n")[1] for label in labels[:5]] == english
        assert "Very satisfied" in driver.page_source and "非常满意" not in driver.page_source


def test_an_expired_link_shows_the_kind_page_in_the_browser(
    site: str, world: World, clock: Clock
) -> None:
    token = world.token(days=1)
    clock.now += timedelta(days=3)
    with chromium(lang="en-US,en") as driver:
        driver.get(f"{site}/s/{token}")
        assert "expired" in driver.find_element(by("TAG_NAME"), "h1").text
        assert driver.find_elements(by("NAME"), "stars") == []
        full_page_screenshot(driver, "survey-phone-expired.png")
    assert rating_rows(world.engine) == []
