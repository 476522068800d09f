"""The H5 signing page end to end in a real phone-sized browser: headless Chromium (Debian
``chromium`` + ``chromium-driver``, driven by selenium) at 375×667 opens the signing link, passes
the local identity provider, reads the pages, acknowledges each exemption clause, sees the
endorsement's changes, confirms intent with the SMS code, draws a signature with touch pointer
events (x, y, time, pressure) and downloads a PDF whose signature verifies."""
from __future__ import annotations

import json

import httpx
import pytest

from backend.models.envelope import EnvelopeSigner
from sign.verify import verify
from tests.backend.envelope_testkit import person
from tests.conftest import start_chromium
from tests.miniapp_api.h5_testkit import CLAUSES, issue_envelope, issue_link, last_sms_code

WIDTH, HEIGHT = 375, 667
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--lang=zh-CN", "--hide-scrollbars")
PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.40")
WAIT = 30


@pytest.fixture
def phone_browser(tmp_path):
    driver = start_chromium(tmp_path / "chromium-profile", CHROME_FLAGS, {
        "deviceMetrics": {"width": WIDTH, "height": HEIGHT, "pixelRatio": 2.0, "touch": True},
        "userAgent": PHONE_UA})
    yield driver
    driver.quit()


def _wait(driver, predicate, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(lambda d: predicate(d))
    except Exception:  # noqa: BLE001 - show where the page is
        step = driver.find_element("id", "app").get_attribute("data-step")
        message = driver.find_element("id", "message").text
        pytest.fail(f"waiting for {what}: page at step {step!r}, message {message!r}")


def _at_step(driver, step: str) -> None:
    _wait(driver, lambda d: d.find_element("id", "app").get_attribute("data-step") == step
          and d.find_element("id", "busy").get_attribute("hidden") is not None, f"step {step}")


def _click(driver, element_id: str) -> None:
    element = driver.find_element("id", element_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    _wait(driver, lambda d: element.is_displayed() and element.is_enabled(), f"#{element_id}")
    element.click()


def _tap(driver, element_id: str) -> None:
    """A finger's tap on a button (after touch strokes a synthetic mouse click may be dropped
    as a ghost click, so the sign step's buttons are tapped like on a phone)."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    element = driver.find_element("id", element_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    _wait(driver, lambda d: element.is_displayed() and element.is_enabled(), f"#{element_id}")
    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    actions.pointer_action.move_to(element).pointer_down().pause(0.05).pointer_up()
    actions.perform()


def _strokes_drawn(driver, count: int) -> None:
    _wait(driver, lambda d: d.find_element("id", "pad").get_attribute("data-strokes") ==
          str(count), f"{count} strokes on the pad")


def _draw(driver, canvas, waves: int = 2) -> None:
    """A handwritten signature as touch pointer events (a finger) with varying pressure."""
    import math

    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    width = canvas.size["width"]
    finger = PointerInput(interaction.POINTER_TOUCH, "finger")
    actions = ActionBuilder(driver, mouse=finger, duration=10)
    for row in range(waves):
        y0 = -50 + row * 60
        points = [(-width / 2 + 30 + i * (width - 60) / 30,
                   y0 + 22 * math.sin(i / 2.5)) for i in range(31)]
        actions.pointer_action.move_to(canvas, int(points[0][0]), int(points[0][1]))
        actions.pointer_action.pointer_down(pressure=0.3)
        for i, (x, y) in enumerate(points[1:], 1):
            actions.pointer_action.move_to(canvas, int(x), int(y),
                                           pressure=round(0.3 + 0.5 * abs(math.sin(i / 6)), 2))
        actions.pointer_action.pointer_up()
    actions.perform()


async def test_a_person_signs_on_a_phone_sized_screen(phone_browser, fapi, files_server, runtime,
                                                      tmp_path):
    driver = phone_browser
    envelope = issue_envelope(fapi, signers=[person("policyholder", "张伟", 401, intent="sms")],
                              business_no="H5-BROWSER-1")
    link = issue_link(fapi, envelope)

    driver.get(link["url"])
    _at_step(driver, "identity")
    assert driver.execute_script("return window.innerWidth") == WIDTH
    assert "张*" in driver.find_element("id", "signer-name").text
    assert "手机号三要素" in driver.find_element("id", "identity-methods").text
    assert driver.find_element("id", "pages").get_attribute("innerHTML") == ""

    _click(driver, "btn-identity")                                # 1 身份核验 (local provider)
    _at_step(driver, "read")                                      # 2 阅读文件
    _wait(driver, lambda d: d.execute_script(
        "const i = document.querySelector('#pages img');"
        "return i && i.complete && i.naturalWidth > 0"), "the first page image")
    assert driver.execute_script(
        "return document.documentElement.scrollWidth") <= WIDTH  # no sideways scrolling
    image = driver.find_element("css selector", "#pages img")
    assert image.size["width"] <= WIDTH
    driver.save_screenshot(str(tmp_path / "1-read.png"))
    _click(driver, "btn-read-done")

    _at_step(driver, "clauses")                                   # 3 免责条款, one by one
    for number, clause in enumerate(CLAUSES, 1):
        _wait(driver, lambda d, c=clause: d.find_element("id", "clause-box")
              .get_attribute("data-clause") == c["id"], f"clause {clause['id']}")
        assert driver.find_element("id", "clause-title").text == clause["title"]
        assert clause["text"] in driver.find_element("id", "clause-text").text
        assert f"第 {number} 条 / 共 2 条" in driver.find_element("id", "clause-progress").text
        assert not driver.find_element("id", "btn-clause-ack").is_enabled()  # read first
        _click(driver, "btn-clause-ack")
    _at_step(driver, "changes")                                   # 4 变更内容 old → new
    rows = driver.find_elements("css selector", "#changes-body tr")
    assert [r.text.split() for r in rows] == [["保险金额", "10000", "20000"]]
    _click(driver, "btn-changes-ok")

    _at_step(driver, "intent")                                    # 5 意愿确认 by SMS code
    _click(driver, "btn-intent-start")
    _wait(driver, lambda d: d.find_element("id", "intent-sent").is_displayed(), "code sent")
    code = await last_sms_code(runtime)
    box = driver.find_element("id", "intent-code")
    box.send_keys("000000" if code != "000000" else "111111")
    _click(driver, "btn-intent-confirm")
    _wait(driver, lambda d: "INTENT_WRONG_ANSWER" in d.find_element("id", "message").text,
          "the wrong-code message")
    box.clear()
    box.send_keys(code)
    _click(driver, "btn-intent-confirm")

    _at_step(driver, "sign")                                      # 6 手写签名
    canvas = driver.find_element("id", "pad")
    assert canvas.size["width"] <= WIDTH
    driver.execute_script(
        "window.__signBodies = []; const f = window.fetch;"
        "window.fetch = function (u, o) { if (String(u).endsWith('/sign'))"
        " window.__signBodies.push(o.body); return f.apply(this, arguments); };")
    _draw(driver, canvas, waves=1)
    _strokes_drawn(driver, 1)
    _tap(driver, "btn-clear")                                     # clear, then submit: refused
    _strokes_drawn(driver, 0)
    _tap(driver, "btn-submit")
    _wait(driver, lambda d: "签名为空" in d.find_element("id", "message").text, "blank refused")
    _draw(driver, canvas, waves=2)
    _draw(driver, canvas, waves=1)
    _strokes_drawn(driver, 3)
    _tap(driver, "btn-undo")                                      # the third stroke undone
    _strokes_drawn(driver, 2)
    driver.save_screenshot(str(tmp_path / "2-sign.png"))
    _tap(driver, "btn-submit")

    _at_step(driver, "done")                                      # 7 完成
    driver.save_screenshot(str(tmp_path / "3-done.png"))
    assert "签署完成" in driver.find_element("id", "done-status").text
    assert "已完成" in driver.find_element("id", "done-envelope").text
    sent = json.loads(driver.execute_script("return window.__signBodies[0]"))
    assert len(sent["strokes"]) == 2 and sent["intent_id"]
    points = [p for stroke in sent["strokes"] for p in stroke]
    assert len(points) >= 40 and all(set(p) == {"x", "y", "t", "p"} for p in points)
    assert all(0 <= p["x"] <= WIDTH for p in points)
    assert len({p["p"] for p in points}) > 3  # the finger's pressure was recorded
    assert points[-1]["t"] > points[0]["t"]

    href = driver.find_element("id", "download").get_attribute("href")
    assert href.endswith(f"/h5/api/links/{link['id']}/document.pdf")
    cookie = driver.get_cookie("esign_h5")
    pdf = httpx.get(href, cookies={"esign_h5": cookie["value"]}, timeout=30)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    report = verify(pdf.content)
    assert len(report.signatures) == 1
    assert all(s.intact and s.crypto_valid for s in report.signatures)
    assert report.signatures[0].algorithm == "sm2"
    signer = await EnvelopeSigner.get(id=link["signer"]["id"])
    assert signer.status == "signed" and signer.clauses_acked == ["c1", "c2"]

    driver.refresh()                                              # reopening shows the result
    _at_step(driver, "done")
