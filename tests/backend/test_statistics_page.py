"""The statistics page [统计中心] in a real browser: headless Chromium (Debian ``chromium`` +
``chromium-driver``, driven by selenium) opens ``/admin/statistics`` on the running server with
an administrator's session, waits for the SVG charts and reads the labels and values from the
DOM; a screenshot is kept in the test's tmp dir."""
from __future__ import annotations

import datetime as dt
import io

import httpx
import pytest

from backend import audit
from backend.models.audit import AuditEntry
from backend.models.org import Unit
from backend.services import stat_counters
from tests.backend.org_testkit import ORG_TENANT_ID, bearer, make_seal
from tests.conftest import start_chromium

BJT = dt.timezone(dt.timedelta(hours=8))
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1366,900", "--lang=zh-CN")


async def generate() -> dict[str, int]:
    """Ten days of seal uses, documents and completed envelopes over three units, recorded
    through the operation log (so the counters are bumped by the real hook), then moved to
    their days and recounted."""
    units = {u.push_id: str(u.id) for u in await Unit.filter(tenant_id=ORG_TENANT_ID)}
    seals = {"BJ": await make_seal(ORG_TENANT_ID, "BJ", "北京分公司合同专用章"),
             "SH": await make_seal(ORG_TENANT_ID, "SH", "上海分公司合同专用章"),
             "BJ-HD": await make_seal(ORG_TENANT_ID, "BJ-HD", "海淀支公司业务专用章")}
    per_day = {"BJ": 4, "SH": 2, "BJ-HD": 1}
    today = dt.datetime.now(BJT).replace(hour=10, minute=0, second=0, microsecond=0)
    for back in range(10):
        when = today - dt.timedelta(days=back)
        for ref, n in per_day.items():
            for i in range(n + back % 3):
                rows = [await audit.record("seal.use", f"seal:{seals[ref].id}", result="allowed",
                                           actor="user:E0004", tenant_id=ORG_TENANT_ID),
                        await audit.record("document.generate", "document:x", actor="system",
                                           tenant_id=ORG_TENANT_ID,
                                           details={"unit_id": units[ref],
                                                    "template": "life_policy"})]
                if i == 0:
                    rows.append(await audit.record(
                        "envelope.complete", "envelope:x", tenant_id=ORG_TENANT_ID,
                        details={"unit_id": units[ref], "duration_seconds": 5400}))
                await AuditEntry.filter(id__in=[r.id for r in rows]).update(created_at=when)
            upload = await audit.record("document.upload", "document:y", actor="system",
                                        tenant_id=ORG_TENANT_ID, details={"unit_id": units[ref]})
            await AuditEntry.filter(id=upload.id).update(created_at=when)
    await audit.record("seal.use", f"seal:{seals['SH'].id}", result="refused",
                       actor="user:E0005", tenant_id=ORG_TENANT_ID)
    await stat_counters.rebuild(ORG_TENANT_ID)
    return {ref: sum(n + back % 3 for back in range(10)) for ref, n in per_day.items()}


@pytest.fixture
def chrome(tmp_path):
    driver = start_chromium(tmp_path / "chromium-profile", CHROME_FLAGS)
    yield driver
    driver.quit()


def non_blank(png: bytes) -> int:
    """Distinct colours of the screenshot (a blank page has one or two)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.thumbnail((400, 400))
    return len(set(image.getdata()))


async def test_the_statistics_page_shows_the_charts(org_server, admins, chrome, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    uses = await generate()
    token = admins["security"]["token"]
    chrome.get(f"{org_server}/admin/statistics?token={token}&period=day")
    # the token moved into an HttpOnly cookie and out of the address bar
    assert "token=" not in chrome.current_url
    cookie = chrome.get_cookie("esign_admin")
    assert cookie and cookie["httpOnly"] and cookie["value"] == token
    WebDriverWait(chrome, 20).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#seal-chart rect.bar")))
    assert chrome.find_element(By.TAG_NAME, "h1").text == "统计中心"
    trend = chrome.find_element(By.ID, "trend-chart")
    assert {e.get_attribute("data-metric") for e in trend.find_elements(
        By.CSS_SELECTOR, "polyline.series")} >= {"seal_uses", "files", "signings"}
    legends = [e.text for e in trend.find_elements(By.CSS_SELECTOR, "text.legend")]
    assert legends[:3] == ["用印次数", "文件数", "签署完成"]
    points = {e.get_attribute("data-period"): int(e.get_attribute("data-value"))
              for e in trend.find_elements(By.CSS_SELECTOR, "circle[data-metric='seal_uses']")}
    today = dt.datetime.now(BJT).date().isoformat()
    assert points[today] == 4 + 2 + 1 and sum(points.values()) == sum(uses.values())

    def bars(chart: str, metric: str) -> dict[str, int]:
        return {e.get_attribute("data-label"): int(e.get_attribute("data-value"))
                for e in chrome.find_elements(By.CSS_SELECTOR,
                                              f"#{chart} rect.bar[data-metric='{metric}']")}

    assert bars("unit-chart", "用印次数") == {"北京分公司": uses["BJ"], "上海分公司": uses["SH"],
                                          "海淀支公司": uses["BJ-HD"]}
    assert bars("unit-chart", "文件数")["北京分公司"] == uses["BJ"] + 10  # + one upload a day
    seal_bars = bars("seal-chart", "用印次数")
    assert seal_bars["北京分公司合同专用章"] == uses["BJ"]
    assert bars("seal-chart", "拒绝用印")["上海分公司合同专用章"] == 1
    labels = [e.text for e in chrome.find_elements(By.CSS_SELECTOR, "#unit-chart text.bar-label")]
    assert labels[0] == "北京分公司"  # the busiest unit first
    cards = chrome.find_element(By.ID, "totals").text
    assert "平均完成时长" in cards and "1.5 小时" in cards
    # a screenshot of the whole page, checked for content
    height = chrome.execute_script("return document.documentElement.scrollHeight")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1366, "height": min(max(height, 768), 2400), "deviceScaleFactor": 1,
        "mobile": False})
    png = chrome.get_screenshot_as_png()
    (tmp_path / "statistics_page.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and non_blank(png) > 50

    # by month, for the Beijing branch and its sub-branch only
    bj = await Unit.get(tenant_id=ORG_TENANT_ID, push_id="BJ")
    chrome.get(f"{org_server}/admin/statistics?period=month&unit={bj.id}")
    WebDriverWait(chrome, 20).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#trend-chart polyline")))
    assert set(bars("unit-chart", "用印次数")) == {"北京分公司", "海淀支公司"}
    assert "北京分公司（含下级单位）" in chrome.find_element(By.TAG_NAME, "header").text


def test_the_page_needs_a_security_or_system_administrator(org_server, admins):
    page = f"{org_server}/admin/statistics"
    assert httpx.get(page).status_code == 401
    assert httpx.get(page, params={"token": "ses_nope"}).status_code == 401
    refused = httpx.get(page, params={"token": admins["audit"]["token"]})
    assert refused.status_code == 403 and "无权查看" in refused.text
    sign_in = httpx.get(page, params={"token": admins["system"]["token"], "period": "week"})
    assert sign_in.status_code == 303 and sign_in.headers["location"] == \
        "/admin/statistics?period=week"
    set_cookie = sign_in.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/admin" in \
        set_cookie
    shown = httpx.get(page, headers=bearer(admins["system"]))
    assert shown.status_code == 200 and "<svg" in shown.text and "统计中心" in shown.text
    # a revoked session ends the page access
    httpx.post(f"{org_server}/sso/logout", headers=bearer(admins["system"]))
    assert httpx.get(page, cookies={"esign_admin": admins["system"]["token"]}).status_code == 401
