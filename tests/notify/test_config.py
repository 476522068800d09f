"""Building channels from settings; every channel falls back to the local one."""
from __future__ import annotations

import pytest

from notify.aliyun_sms import AliyunSmsChannel
from notify.config import NotifyConfigError, build_channels, wechat_templates
from notify.dingtalk import DingTalkWorkNoticeChannel
from notify.email import SmtpEmailChannel
from notify.local import LocalChannel
from notify.wechat import WeChatSubscribeChannel


def test_nothing_configured_everything_local():
    channels = build_channels({})
    assert channels.fallbacks == {"sms", "wechat", "dingtalk", "email"}
    for name in ("sms", "wechat", "dingtalk", "email", "local"):
        assert channels[name] is channels.local


async def test_fallback_messages_reach_the_demo_page(message):
    channels = build_channels({})
    await channels["sms"].send(message("sms", "13800138000"))
    await channels["email"].send(message("email", "a@example.com"))
    assert [m.channel for m in channels.local.recent()] == ["email", "sms"]


async def test_all_configured(aliyun_server, wechat_server, dingtalk_server, smtp_server, message):
    (key_id, secret), = aliyun_server.credentials.items()
    channels = build_channels({
        "ALIYUN_ACCESS_KEY_ID": key_id, "ALIYUN_ACCESS_KEY_SECRET": secret,
        "ALIYUN_SMS_SIGN_NAME": "测试保险", "ALIYUN_SMS_ENDPOINT": aliyun_server.url,
        "ALIYUN_SMS_TEMPLATES": "SIGN_LINK=SMS_100001,OTP_CODE=SMS_100002",
        "WECHAT_APP_ID": wechat_server.app_id, "WECHAT_APP_SECRET": wechat_server.app_secret,
        "WECHAT_API_BASE": wechat_server.url,
        "WECHAT_TEMPLATES": '{"SIGN_LINK": {"template_id": "t1", "fields": {"doc_title": "thing1"}}}',
        "DINGTALK_APP_KEY": dingtalk_server.app_key,
        "DINGTALK_APP_SECRET": dingtalk_server.app_secret,
        "DINGTALK_AGENT_ID": str(dingtalk_server.agent_id), "DINGTALK_API_BASE": dingtalk_server.url,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_server.port),
        "SMTP_FROM": "esign@insurer.example", "SMTP_STARTTLS": "false",
        "NOTIFY_TIMEOUT_SECONDS": "2",
    })
    try:
        assert channels.fallbacks == frozenset()
        assert isinstance(channels["sms"], AliyunSmsChannel)
        assert isinstance(channels["wechat"], WeChatSubscribeChannel)
        assert isinstance(channels["dingtalk"], DingTalkWorkNoticeChannel)
        assert isinstance(channels["email"], SmtpEmailChannel)
        assert isinstance(channels["local"], LocalChannel)
        await channels["sms"].send(message("sms", "13800138000"))
        await channels["wechat"].send(message("wechat", "openid-1"))
        await channels["dingtalk"].send(message("dingtalk", "user1"))
        await channels["email"].send(message("email", "a@example.com"))
        assert len(aliyun_server.accepted) == 1 and len(wechat_server.sends()) == 1
        assert len(dingtalk_server.sends()) == 1 and len(smtp_server.messages) == 1
    finally:
        await channels.aclose()


@pytest.mark.parametrize("settings, words", [
    ({"ALIYUN_ACCESS_KEY_ID": "x"}, "ALIYUN_ACCESS_KEY_SECRET"),
    ({"SMTP_HOST": "smtp.example.com"}, "SMTP_FROM"),
    ({"DINGTALK_APP_KEY": "k", "DINGTALK_APP_SECRET": "s", "DINGTALK_AGENT_ID": "abc"},
     "DINGTALK_AGENT_ID"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@b.c", "SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
    ({"SMTP_HOST": "h", "SMTP_FROM": "a@b.c", "SMTP_PORT": "x"}, "SMTP_PORT"),
    ({"WECHAT_APP_ID": "a", "WECHAT_APP_SECRET": "b", "WECHAT_TEMPLATES": "[1]"},
     "WECHAT_TEMPLATES"),
    ({"ALIYUN_ACCESS_KEY_ID": "a", "ALIYUN_ACCESS_KEY_SECRET": "b", "ALIYUN_SMS_SIGN_NAME": "c",
      "ALIYUN_SMS_TEMPLATES": "SIGN_LINK"}, "ALIYUN_SMS_TEMPLATES"),
])
def test_bad_settings_name_the_variable(settings, words):
    with pytest.raises(NotifyConfigError, match=words):
        build_channels(settings)


def test_empty_values_mean_unset():
    assert build_channels({"SMTP_HOST": " ", "SMTP_FROM": ""}).fallbacks >= {"email"}


def test_production_fallback_hides_text():
    assert build_channels({"ENV": "production"}).local._log_text is False


def test_wechat_templates_parse():
    parsed = wechat_templates('{"OTP_CODE": {"template_id": "t9", "fields": {"code": "number1"},'
                              ' "page": "pages/otp"}}')
    assert parsed["OTP_CODE"].template_id == "t9"
    assert parsed["OTP_CODE"].fields == {"code": "number1"}
    assert parsed["OTP_CODE"].page == "pages/otp"
