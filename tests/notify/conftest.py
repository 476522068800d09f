"""Fixtures for the ``notify`` adapter tests: fake providers on 127.0.0.1 and channels aimed at them.

* ``aliyun_server`` / ``wechat_server`` / ``dingtalk_server``: started fake HTTP providers
  (:mod:`tests.fakes.notify_servers`); set ``.scenario`` or ``.script(...)``, read ``.requests``.
* ``smtp_server``: aiosmtpd collecting messages (no TLS, no AUTH); ``smtp_tls_server``: STARTTLS
  with a self-signed certificate and AUTH (user ``mailer`` / ``mail-pass``).
* ``sms_channel`` / ``wechat_channel`` / ``dingtalk_channel`` / ``email_channel``: channels
  configured against those fakes with short timeouts (0.5 s; the fakes' ``slow`` scenario
  answers after 1.5 s).
* ``message(channel, recipient, template="SIGN_LINK", **overrides)``: a Message factory.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable, Iterator

import pytest

from notify.aliyun_sms import AliyunSmsChannel
from notify.api import Message
from notify.dingtalk import DingTalkWorkNoticeChannel
from notify.email import SmtpEmailChannel
from notify.wechat import WeChatSubscribeChannel, WeChatTemplate
from tests.fakes.notify_servers import FakeAliyunSms, FakeDingTalk, FakeSmtp, FakeWeChat

TIMEOUT = 0.5
SMS_TEMPLATES = {"SIGN_LINK": "SMS_100001", "OTP_CODE": "SMS_100002",
                 "SIGN_COMPLETED": "SMS_100003"}
WECHAT_TEMPLATES = {
    "SIGN_LINK": WeChatTemplate("tmpl-sign-link", {"name": "name1", "doc_title": "thing2"},
                                "pages/sign/index"),
    "SIGN_COMPLETED": WeChatTemplate("tmpl-done", {"doc_title": "thing1"}),
}
SIGN_LINK_PARAMS = {"name": "张三", "doc_title": "个人意外险投保单", "url": "https://e.example.com/s/abc"}


@pytest.fixture
def aliyun_server() -> Iterator[FakeAliyunSms]:
    server = FakeAliyunSms().start()
    yield server
    server.stop()


@pytest.fixture
def wechat_server() -> Iterator[FakeWeChat]:
    server = FakeWeChat().start()
    yield server
    server.stop()


@pytest.fixture
def dingtalk_server() -> Iterator[FakeDingTalk]:
    server = FakeDingTalk().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server() -> Iterator[FakeSmtp]:
    server = FakeSmtp(users={"mailer": "mail-pass"}, tls=True).start()
    yield server
    server.stop()


@pytest.fixture
def sms_channel(aliyun_server: FakeAliyunSms) -> AliyunSmsChannel:
    (key_id, secret), = aliyun_server.credentials.items()
    return AliyunSmsChannel(key_id, secret, "测试保险", SMS_TEMPLATES, endpoint=aliyun_server.url,
                            connect_timeout=TIMEOUT, read_timeout=TIMEOUT)


@pytest.fixture
def wechat_channel(wechat_server: FakeWeChat) -> WeChatSubscribeChannel:
    return WeChatSubscribeChannel(wechat_server.app_id, wechat_server.app_secret,
                                  WECHAT_TEMPLATES, api_base=wechat_server.url, timeout=TIMEOUT)


@pytest.fixture
async def dingtalk_channel(dingtalk_server: FakeDingTalk):
    channel = DingTalkWorkNoticeChannel(dingtalk_server.app_key, dingtalk_server.app_secret,
                                        dingtalk_server.agent_id, api_base=dingtalk_server.url,
                                        timeout=TIMEOUT)
    yield channel
    await channel.aclose()


@pytest.fixture
def email_channel(smtp_server: FakeSmtp) -> SmtpEmailChannel:
    return SmtpEmailChannel("127.0.0.1", smtp_server.port, sender="esign@insurer.example",
                            starttls=False, timeout=TIMEOUT)


@pytest.fixture
def message() -> Callable[..., Message]:
    def make(channel: str, recipient: str, template: str = "SIGN_LINK", **overrides: Any) -> Message:
        fields: dict[str, Any] = {
            "channel": channel, "recipient": recipient, "template": template,
            "params": dict(SIGN_LINK_PARAMS) if template == "SIGN_LINK" else {},
            "idempotency_key": f"msg-{uuid.uuid4().hex}",
        }
        fields.update(overrides)
        return Message(**fields)
    return make
