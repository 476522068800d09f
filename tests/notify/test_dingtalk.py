"""DingTalk work notices against the fake DingTalk open API."""
from __future__ import annotations

import time

import pytest

from notify.api import (
    ChannelAuthError, ChannelMisconfigured, ChannelThrottled, ChannelTimeout, ChannelUnavailable,
    InvalidRecipient, MemoryTokenStore,
)
from notify.dingtalk import TOKEN_EARLY_REFRESH, DingTalkWorkNoticeChannel, error_for
from tests.notify.conftest import TIMEOUT

USERID = "manager4220"


def _channel(server, **kwargs) -> DingTalkWorkNoticeChannel:
    return DingTalkWorkNoticeChannel(kwargs.pop("app_key", server.app_key),
                                     kwargs.pop("app_secret", server.app_secret),
                                     server.agent_id, api_base=server.url, timeout=TIMEOUT,
                                     **kwargs)


async def test_send_ok_markdown_notice(dingtalk_channel, dingtalk_server, message):
    result = await dingtalk_channel.send(message("dingtalk", f"{USERID},agent007"))
    assert int(result.provider_message_id) > 256271667500
    (send,) = dingtalk_server.sends()
    body = send.json()
    assert body["agent_id"] == dingtalk_server.agent_id
    assert body["userid_list"] == f"{USERID},agent007"
    assert body["msg"]["msgtype"] == "markdown"
    assert body["msg"]["markdown"]["title"] == "请签署《个人意外险投保单》"
    assert "https://e.example.com/s/abc" in body["msg"]["markdown"]["text"]


async def test_token_cached(dingtalk_channel, dingtalk_server, message):
    for _ in range(3):
        await dingtalk_channel.send(message("dingtalk", USERID))
    assert dingtalk_server.token_fetches == 1
    assert len({r.query["access_token"] for r in dingtalk_server.sends()}) == 1


async def test_token_cached_until_shortly_before_expiry(dingtalk_server, message):
    dingtalk_server.expires_in = int(TOKEN_EARLY_REFRESH) + 1
    channel = _channel(dingtalk_server)
    try:
        await channel.send(message("dingtalk", USERID))
        await channel.send(message("dingtalk", USERID))
        assert dingtalk_server.token_fetches == 1
        time.sleep(1.05)
        await channel.send(message("dingtalk", USERID))
        assert dingtalk_server.token_fetches == 2
    finally:
        await channel.aclose()


async def test_expired_token_refreshed_once(dingtalk_channel, dingtalk_server, message):
    await dingtalk_channel.send(message("dingtalk", USERID))
    dingtalk_server.script("token_expired_once")
    result = await dingtalk_channel.send(message("dingtalk", USERID))
    assert result.raw["errcode"] == 0
    assert dingtalk_server.token_fetches == 2
    assert len(dingtalk_server.sends()) == 3


async def test_invalid_token_twice_gives_auth_error(dingtalk_channel, dingtalk_server, message):
    dingtalk_server.scenario = "token_invalid"
    with pytest.raises(ChannelAuthError) as info:
        await dingtalk_channel.send(message("dingtalk", USERID))
    assert info.value.provider_code == "40014" and info.value.retryable
    assert len(dingtalk_server.sends()) == 2


async def test_errcode_88_with_token_sub_code_is_auth_error():
    error = error_for({"errcode": 88, "sub_code": "42001", "errmsg": "ding talk error"})
    assert isinstance(error, ChannelAuthError) and error.provider_code == "42001"


async def test_throttled(dingtalk_channel, dingtalk_server, message):
    dingtalk_server.scenario = "throttled"
    with pytest.raises(ChannelThrottled) as info:
        await dingtalk_channel.send(message("dingtalk", USERID))
    assert info.value.provider_code == "90018"


async def test_invalid_user(dingtalk_channel, dingtalk_server, message):
    dingtalk_server.scenario = "invalid_user"
    with pytest.raises(InvalidRecipient):
        await dingtalk_channel.send(message("dingtalk", "nobody"))


async def test_busy_and_500_are_retryable(dingtalk_channel, dingtalk_server, message):
    dingtalk_server.script("busy", "error_500")
    for _ in range(2):
        with pytest.raises(ChannelUnavailable) as info:
            await dingtalk_channel.send(message("dingtalk", USERID))
        assert info.value.retryable


async def test_slow_send_times_out(dingtalk_channel, dingtalk_server, message):
    dingtalk_server.scenario = "slow"
    started = time.monotonic()
    with pytest.raises(ChannelTimeout):
        await dingtalk_channel.send(message("dingtalk", USERID))
    assert time.monotonic() - started < 1.4
    assert len(dingtalk_server.sends()) == 1


async def test_bad_app_secret(dingtalk_server, message):
    channel = _channel(dingtalk_server, app_secret="wrong")
    try:
        with pytest.raises(ChannelMisconfigured) as info:
            await channel.send(message("dingtalk", USERID))
        assert info.value.provider_code == "40089"
        assert dingtalk_server.sends() == []
    finally:
        await channel.aclose()


async def test_shared_token_store(dingtalk_server, message):
    store = MemoryTokenStore()
    channels = [_channel(dingtalk_server, token_store=store) for _ in range(2)]
    for channel in channels:
        await channel.send(message("dingtalk", USERID))
        await channel.aclose()
    assert dingtalk_server.token_fetches == 1


async def test_duplicate_retry_not_sent_twice(dingtalk_channel, dingtalk_server, message):
    msg = message("dingtalk", USERID)
    first = await dingtalk_channel.send(msg)
    second = await dingtalk_channel.send(msg)
    assert second.duplicate and second.provider_message_id == first.provider_message_id
    assert len(dingtalk_server.sends()) == 1
