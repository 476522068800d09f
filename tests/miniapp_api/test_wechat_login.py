"""Mini-program login through the real wechatpy code2session call against a fake WeChat."""
from __future__ import annotations

import pytest

from miniapp_api.wechat_login import (PhoneDataInvalid, WeChatCodeInvalid, WeChatMiniProgram,
                                      WeChatUnavailable)
from tests.fakes.wechat_mini import FakeWeChatMini


@pytest.fixture(scope="module")
def wechat():
    fake = FakeWeChatMini()
    yield fake
    fake.close()


@pytest.fixture
def mini(wechat):
    return WeChatMiniProgram(wechat.app_id, wechat.app_secret, api_base=wechat.url, timeout=1)


async def test_a_login_code_gives_the_openid_once(mini, wechat):
    code = wechat.issue_code("o-policyholder-1", unionid="u-1")
    session = await mini.code_to_session(code)
    assert (session.openid, session.unionid) == ("o-policyholder-1", "u-1")
    with pytest.raises(WeChatCodeInvalid):
        await mini.code_to_session(code)
    with pytest.raises(WeChatCodeInvalid):
        await mini.code_to_session("never-issued")


async def test_the_bound_phone_number_is_decrypted_with_the_session_key(mini, wechat):
    session = await mini.code_to_session(wechat.issue_code("o-2"))
    data, iv = wechat.encrypt_phone(session.session_key, "13800138000")
    assert mini.decrypt_phone(session.session_key, data, iv) == "13800138000"
    other_app, iv2 = wechat.encrypt_phone(session.session_key, "13800138000", app_id="wx-other")
    with pytest.raises(PhoneDataInvalid):
        mini.decrypt_phone(session.session_key, other_app, iv2)
    with pytest.raises(PhoneDataInvalid):
        mini.decrypt_phone(session.session_key, "garbage", iv)


async def test_wrong_credentials_and_an_unreachable_wechat_are_clear_errors(wechat):
    wrong = WeChatMiniProgram(wechat.app_id, "not-the-secret", api_base=wechat.url, timeout=1)
    with pytest.raises(WeChatUnavailable):
        await wrong.code_to_session(wechat.issue_code("o-3"))
    down = WeChatMiniProgram(wechat.app_id, wechat.app_secret, api_base="http://127.0.0.1:9",
                             timeout=0.5)
    with pytest.raises(WeChatUnavailable):
        await down.code_to_session("any")


async def test_the_phone_code_of_the_newer_getphonenumber_gives_the_number_once(mini, wechat):
    code = wechat.issue_phone_code("13800138001")
    assert await mini.phone_number(code) == "13800138001"
    with pytest.raises(PhoneDataInvalid):
        await mini.phone_number(code)  # one use
    with pytest.raises(PhoneDataInvalid):
        await mini.phone_number("never-issued")
    wrong = WeChatMiniProgram(wechat.app_id, "not-the-secret", api_base=wechat.url, timeout=1)
    with pytest.raises(WeChatUnavailable):
        await wrong.phone_number(wechat.issue_phone_code("13800138002"))
