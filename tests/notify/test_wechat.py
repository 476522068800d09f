"""WeChat subscribe messages against the fake WeChat API (token issue/expiry included)."""
from __future__ import annotations

import time

import pytest

from notify.api import (
    ChannelAuthError, ChannelMisconfigured, ChannelThrottled, ChannelTimeout, ChannelUnavailable,
    InvalidRecipient, MemoryTokenStore, TemplateError,
)
from notify.wechat import WeChatSubscribeChannel
from tests.notify.conftest import TIMEOUT, WECHAT_TEMPLATES

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


async def test_send_ok_with_mapped_fields_and_page(wechat_channel, wechat_server, message):
    result = await wechat_channel.send(message("wechat", OPENID))
    assert result.provider_message_id == "1"
    (send,) = wechat_server.sends()
    body = send.json()
    assert body == {"touser": OPENID, "template_id": "tmpl-sign-link",
                    "page": "pages/sign/index",
                    "data": {"name1": {"value": "张三"}, "thing2": {"value": "个人意外险投保单"}}}
    assert send.query["access_token"] in wechat_server.tokens


async def test_token_is_cached_across_sends(wechat_channel, wechat_server, message):
    for _ in range(3):
        await wechat_channel.send(message("wechat", OPENID))
    assert wechat_server.token_fetches == 1
    assert len(wechat_server.sends()) == 3


async def test_token_refreshed_after_ttl(wechat_server, message):
    wechat_server.expires_in = 1  # the store honours the TTL the provider gave
    channel = WeChatSubscribeChannel(wechat_server.app_id, wechat_server.app_secret,
                                     WECHAT_TEMPLATES, api_base=wechat_server.url, timeout=TIMEOUT)
    await channel.send(message("wechat", OPENID))
    time.sleep(1.1)
    await channel.send(message("wechat", OPENID))
    assert wechat_server.token_fetches == 2


async def test_expired_token_refreshed_and_retried_once(wechat_channel, wechat_server, message):
    await wechat_channel.send(message("wechat", OPENID))
    wechat_server.script("token_expired_once")
    result = await wechat_channel.send(message("wechat", OPENID))
    assert result.raw["errcode"] == 0
    assert wechat_server.token_fetches == 2
    first, expired, retried = wechat_server.sends()
    assert expired.query["access_token"] == first.query["access_token"]
    assert retried.query["access_token"] != expired.query["access_token"]


async def test_token_refused_twice_gives_auth_error(wechat_channel, wechat_server, message):
    wechat_server.scenario = "token_invalid"
    with pytest.raises(ChannelAuthError) as info:
        await wechat_channel.send(message("wechat", OPENID))
    assert info.value.retryable and info.value.provider_code == "40001"
    assert len(wechat_server.sends()) == 2  # the original and exactly one retry


async def test_shared_token_store(wechat_server, message):
    """Two workers sharing a store fetch one token between them."""
    store = MemoryTokenStore()
    channels = [WeChatSubscribeChannel(wechat_server.app_id, wechat_server.app_secret,
                                       WECHAT_TEMPLATES, api_base=wechat_server.url,
                                       timeout=TIMEOUT, token_store=store) for _ in range(2)]
    for channel in channels:
        await channel.send(message("wechat", OPENID))
    assert wechat_server.token_fetches == 1


async def test_user_not_subscribed_is_invalid_recipient(wechat_channel, wechat_server, message):
    wechat_server.scenario = "refused"
    with pytest.raises(InvalidRecipient) as info:
        await wechat_channel.send(message("wechat", OPENID))
    assert info.value.provider_code == "43101" and not info.value.retryable


async def test_throttled(wechat_channel, wechat_server, message):
    wechat_server.scenario = "throttled"
    with pytest.raises(ChannelThrottled) as info:
        await wechat_channel.send(message("wechat", OPENID))
    assert info.value.provider_code == "45009" and info.value.retry_after > 0


async def test_template_argument_error(wechat_channel, wechat_server, message):
    wechat_server.scenario = "template"
    with pytest.raises(TemplateError):
        await wechat_channel.send(message("wechat", OPENID))


async def test_template_not_mapped_for_wechat(wechat_channel, wechat_server, message):
    with pytest.raises(TemplateError, match="no WeChat template"):
        await wechat_channel.send(message("wechat", OPENID, template="OTP_CODE",
                                          params={"code": "1", "minutes": "5"}))
    assert wechat_server.requests == []


async def test_system_busy_and_500_are_retryable(wechat_channel, wechat_server, message):
    wechat_server.script("busy", "error_500")
    for _ in range(2):
        with pytest.raises(ChannelUnavailable) as info:
            await wechat_channel.send(message("wechat", OPENID))
        assert info.value.retryable


async def test_slow_send_times_out(wechat_channel, wechat_server, message):
    await wechat_channel.send(message("wechat", OPENID))  # token fetched, fast
    wechat_server.scenario = "slow"
    started = time.monotonic()
    with pytest.raises(ChannelTimeout):
        await wechat_channel.send(message("wechat", OPENID))
    assert time.monotonic() - started < 1.4


async def test_bad_app_secret_is_misconfiguration(wechat_server, message):
    channel = WeChatSubscribeChannel(wechat_server.app_id, "wrong", WECHAT_TEMPLATES,
                                     api_base=wechat_server.url, timeout=TIMEOUT)
    with pytest.raises(ChannelMisconfigured) as info:
        await channel.send(message("wechat", OPENID))
    assert info.value.provider_code == "40125"
    assert wechat_server.sends() == []


async def test_duplicate_retry_not_sent_twice(wechat_channel, wechat_server, message):
    msg = message("wechat", OPENID)
    first = await wechat_channel.send(msg)
    second = await wechat_channel.send(msg)
    assert second.duplicate and second.provider_message_id == first.provider_message_id
    assert len(wechat_server.sends()) == 1


async def test_long_thing_value_is_shortened(wechat_channel, wechat_server, message):
    params = {"name": "张三", "doc_title": "个人综合意外伤害保险（2026版）投保单及健康告知书", "url": "https://x/s"}
    await wechat_channel.send(message("wechat", OPENID, params=params))
    value = wechat_server.sends()[0].json()["data"]["thing2"]["value"]
    assert len(value) == 20 and value.endswith("…")
    assert value.startswith("个人综合意外伤害保险")
