"""WeChat web OAuth of H5 signing links opened inside WeChat, against a fake WeChat OAuth."""
from __future__ import annotations

import dataclasses
import re
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from backend.models.audit import AuditEntry
from miniapp_api import wechat_oauth
from miniapp_api.wechat_oauth import OAuthFailed, exchange_code, link_of_state, make_state
from tests.conftest import start_server, stop_server
from tests.fakes.wechat_oauth import FakeWeChatOAuth

WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Version/4.0 Chrome/116.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
             "MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI "
             "Language/zh_CN ABI/arm64")
WECOM_UA = WECHAT_UA + " wxwork/4.1.16"
PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
LINK = {"envelope_ref": "env-oa-1", "signer_ref": "policyholder-oa", "signer_name": "李四"}


@pytest.fixture(scope="module")
def wechat():
    fake = FakeWeChatOAuth()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def oa_server(prepared_database, test_env, tmp_path_factory, wechat):
    """The app with WeChat web OAuth configured against the fake."""
    env = {**test_env, "WECHAT_OAUTH_APP_ID": wechat.app_id,
           "WECHAT_OAUTH_APP_SECRET": wechat.app_secret, "WECHAT_OAUTH_URL": wechat.url,
           "WECHAT_OAUTH_API_URL": wechat.url}
    proc, base_url = start_server(env, tmp_path_factory.mktemp("logs") / "oa_server.log")
    yield base_url
    stop_server(proc)


@pytest.fixture
def oa_api(oa_server, tenant):
    from backend.client import ApiClient

    with ApiClient(oa_server, tenant.app_key, tenant.app_secret) as client:
        yield client


@pytest.fixture
def oa_settings(test_settings, wechat):
    return dataclasses.replace(test_settings, wechat_oauth_app_id=wechat.app_id,
                               wechat_oauth_app_secret=wechat.app_secret,
                               wechat_oauth_url=wechat.url, wechat_oauth_api_url=wechat.url)


def issue(api, **overrides) -> tuple[str, str]:
    response = api.post("/api/v1/signing-links", {**LINK, **overrides})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], re.fullmatch(r"https?://[^/]+/s/([A-Za-z0-9_-]+)", body["url"]).group(1)


def open_in_wechat(browser: httpx.Client, token: str) -> httpx.Response:
    return browser.get(f"/s/{token}", headers={"User-Agent": WECHAT_UA})


def authorize(wechat: FakeWeChatOAuth, location: str) -> str:
    """What WeChat does with the authorize URL (snsapi_base: no prompt): the callback URL."""
    answer = httpx.get(location.split("#", 1)[0], follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def test_the_settings_go_together_and_need_http_urls():
    from backend.settings import Settings, SettingsError

    assert Settings.from_env({}).wechat_oauth_app_id == ""
    for env in ({"WECHAT_OAUTH_APP_ID": "wx1"}, {"WECHAT_OAUTH_APP_SECRET": "s"},
                {"WECHAT_OAUTH_URL": "open.weixin.qq.com"},
                {"WECHAT_OAUTH_API_URL": "ftp://api.weixin.qq.com"}):
        with pytest.raises(SettingsError, match="WECHAT_OAUTH"):
            Settings.from_env(env)


# -- the state and the code exchange ----------------------------------------------------------
def test_the_state_is_bound_to_the_link_and_short_lived():
    key, link_id = b"k" * 32, "6f1c2a4e-9b7d-4c1e-8f00-123456789abc"
    state = make_state(key, link_id)
    assert re.fullmatch(r"[0-9a-f]{72}", state)  # WeChat allows [a-zA-Z0-9], 128 bytes at most
    assert link_of_state(key, state) == link_id
    assert link_of_state(b"x" * 32, state) is None
    tampered = state[:5] + ("0" if state[5] != "0" else "1") + state[6:]
    assert link_of_state(key, tampered) is None
    old = make_state(key, link_id, now=time.time() - wechat_oauth.STATE_SECONDS - 1)
    assert link_of_state(key, old) is None
    for junk in (None, "", "abc", state.upper(), state + "0"):
        assert link_of_state(key, junk) is None


async def test_the_code_exchange_speaks_wechats_wire_format(oa_settings, wechat):
    code = wechat.issue_code("o-exchange-1", unionid="u-1")
    answer = await exchange_code(oa_settings, code, timeout=1)
    assert (answer["openid"], answer["unionid"]) == ("o-exchange-1", "u-1")
    sent = wechat.exchanges()[-1]
    assert sent == {"appid": wechat.app_id, "secret": wechat.app_secret, "code": code,
                    "grant_type": "authorization_code"}
    before = len(wechat.exchanges())
    with pytest.raises(OAuthFailed) as used:
        await exchange_code(oa_settings, code, timeout=1)
    assert used.value.details == {"errcode": 40163}
    with pytest.raises(OAuthFailed) as unknown:
        await exchange_code(oa_settings, "never-issued", timeout=1)
    assert unknown.value.details == {"errcode": 40029}
    assert len(wechat.exchanges()) == before + 2  # errcodes are not retried


async def test_network_errors_5xx_and_system_busy_are_retried(oa_settings, wechat):
    wechat.fail_next = [503, {"errcode": -1, "errmsg": "system error"}]
    before = len(wechat.exchanges())
    answer = await exchange_code(oa_settings, wechat.issue_code("o-retry"), timeout=1,
                                 backoff=0.01)
    assert answer["openid"] == "o-retry" and len(wechat.exchanges()) == before + 3
    wechat.fail_next = [502, 502, 502]
    with pytest.raises(OAuthFailed):
        await exchange_code(oa_settings, wechat.issue_code("o-down"), timeout=1, backoff=0.01)
    assert wechat.fail_next == []
    down = dataclasses.replace(oa_settings, wechat_oauth_api_url="http://127.0.0.1:9")
    with pytest.raises(OAuthFailed) as unreachable:
        await exchange_code(down, "any-code", timeout=0.5, backoff=0.01)
    assert unreachable.value.details["attempts"] == wechat_oauth.ATTEMPTS
    wrong = dataclasses.replace(oa_settings, wechat_oauth_app_secret="not-the-secret")
    with pytest.raises(OAuthFailed) as refused:
        await exchange_code(wrong, wechat.issue_code("o-wrong"), timeout=1)
    assert refused.value.details == {"errcode": 40125}


# -- through the app --------------------------------------------------------------------------
async def test_a_link_opened_in_wechat_goes_through_oauth_to_the_start_page(
        oa_api, oa_server, wechat, runtime):
    link_id, token = issue(oa_api)
    wechat.next_openid = "o-policyholder-oa"
    with httpx.Client(base_url=oa_server, follow_redirects=False) as browser:
        opened = open_in_wechat(browser, token)
        assert opened.status_code == 302 and not browser.cookies
        location = opened.headers["location"]
        assert location.startswith(f"{wechat.url}/connect/oauth2/authorize?")
        assert location.endswith("#wechat_redirect")
        query = parse_qs(urlparse(location.split("#")[0]).query)
        assert {k: v[0] for k, v in query.items() if k != "state"} == {
            "appid": wechat.app_id, "redirect_uri": f"{oa_server}/h5/wechat/callback",
            "response_type": "code", "scope": "snsapi_base"}
        assert link_of_state(runtime.session_key, query["state"][0]) == link_id
        # the argument order is WeChat's (it refuses others with "参数错误")
        assert re.search(r"\?appid=[^&]+&redirect_uri=[^&]+&response_type=code"
                         r"&scope=snsapi_base&state=[0-9a-f]+#wechat_redirect$", location)

        callback = authorize(wechat, location)
        assert callback.startswith(f"{oa_server}/h5/wechat/callback?code=")
        back = browser.get(callback)
        assert back.status_code == 302, back.text
        assert back.headers["location"] == f"/h5/links/{link_id}/start"
        page = browser.get(back.headers["location"])
    assert page.status_code == 200 and "身份核验" in page.text
    entry = await AuditEntry.get(action="link.wechat_oauth")
    assert entry.target == f"link:{link_id}" and entry.actor == "signer:policyholder-oa"
    assert entry.details["openid_index"] == runtime.cipher.blind_index("o-policyholder-oa",
                                                                       "wechat_openid")
    assert entry.details["app_id"] == wechat.app_id
    assert "o-policyholder-oa" not in str(entry.details)
    assert await AuditEntry.filter(action="link.open").count() == 1


async def test_a_tampered_or_missing_state_is_refused(oa_api, oa_server, wechat, runtime):
    link_id, token = issue(oa_api)
    other_id, _ = issue(oa_api, signer_ref="insured-oa")
    code = wechat.issue_code("o-x")
    forged = make_state(b"not-our-key" * 3, other_id)
    with httpx.Client(base_url=oa_server, follow_redirects=False) as browser:
        location = open_in_wechat(browser, token).headers["location"]
        state = parse_qs(urlparse(location.split("#")[0]).query)["state"][0]
        tampered = state[:31] + ("0" if state[31] != "0" else "1") + state[32:]
        for bad in (tampered, forged, ""):
            refused = browser.get("/h5/wechat/callback", params={"code": code, "state": bad})
            assert refused.status_code == 400 and "WECHAT_OAUTH_STATE_INVALID" in refused.text
            assert not browser.cookies
        no_code = browser.get("/h5/wechat/callback", params={"state": state})
        assert no_code.status_code == 400 and "WECHAT_OAUTH_CODE_MISSING" in no_code.text
    assert code not in wechat.used  # nothing was exchanged
    assert await AuditEntry.filter(action="link.wechat_oauth").count() == 0


async def test_wechat_refusing_the_code_gives_the_502_page(oa_api, oa_server, wechat):
    link_id, token = issue(oa_api)
    with httpx.Client(base_url=oa_server, follow_redirects=False) as browser:
        location = open_in_wechat(browser, token).headers["location"]
        callback = authorize(wechat, location)
        assert browser.get(callback).status_code == 302
        browser.cookies.clear()
        again = browser.get(callback)  # the code was used: WeChat answers errcode 40163
        assert again.status_code == 502 and "WECHAT_OAUTH_FAILED" in again.text
        assert "微信授权失败" in again.text and not browser.cookies
        state = parse_qs(urlparse(location.split("#")[0]).query)["state"][0]
        unknown = browser.get("/h5/wechat/callback", params={"code": "bogus", "state": state})
        assert unknown.status_code == 502 and "WECHAT_OAUTH_FAILED" in unknown.text
        assert browser.get(f"/h5/links/{link_id}/start").status_code == 403


async def test_a_revoked_link_cannot_finish_its_oauth(oa_api, oa_server, wechat):
    link_id, token = issue(oa_api)
    with httpx.Client(base_url=oa_server, follow_redirects=False) as browser:
        callback = authorize(wechat, open_in_wechat(browser, token).headers["location"])
        assert oa_api.delete(f"/api/v1/signing-links/{link_id}").status_code == 200
        gone = browser.get(callback)
    assert gone.status_code == 410 and "LINK_REVOKED" in gone.text


def test_other_browsers_and_wecom_go_straight_to_the_start_page(oa_api, oa_server):
    for user_agent in (PHONE_UA, WECOM_UA, WECHAT_UA + " miniProgram/wx0123"):
        link_id, token = issue(oa_api)
        with httpx.Client(base_url=oa_server, follow_redirects=False) as browser:
            opened = browser.get(f"/s/{token}", headers={"User-Agent": user_agent})
            assert opened.headers["location"] == f"/h5/links/{link_id}/start", user_agent
            assert browser.get(opened.headers["location"]).status_code == 200


def test_without_the_setting_wechat_goes_straight_to_the_start_page(api, server):
    response = api.post("/api/v1/signing-links", LINK)
    link_id, url = response.json()["id"], response.json()["url"]
    with httpx.Client(base_url=server, follow_redirects=False) as browser:
        opened = browser.get(urlparse(url).path, headers={"User-Agent": WECHAT_UA})
        assert opened.headers["location"] == f"/h5/links/{link_id}/start"
        off = browser.get("/h5/wechat/callback", params={"code": "c", "state": "s"})
    assert off.status_code == 404 and "WECHAT_OAUTH_NOT_CONFIGURED" in off.text
