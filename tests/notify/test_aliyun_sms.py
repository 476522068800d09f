"""Aliyun SendSms against the fake Dysmsapi (which verifies the RPC signature)."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from notify.aliyun_sms import AliyunSmsChannel, error_for
from notify.api import (
    ChannelError, ChannelMisconfigured, ChannelThrottled, ChannelTimeout, ChannelUnavailable,
    InvalidRecipient, TemplateError,
)
from tests.fakes.notify_servers import free_port, rpc_signature, rpc_string_to_sign
from tests.notify.conftest import SMS_TEMPLATES, TIMEOUT

PHONE = "13800138000"


async def test_send_ok_is_signed_and_carries_template_and_out_id(sms_channel, aliyun_server, message):
    msg = message("sms", PHONE)
    result = await sms_channel.send(msg)

    assert result.provider_message_id.endswith("^0")
    assert result.raw["Code"] == "OK" and not result.duplicate
    (sent,) = aliyun_server.accepted
    assert sent["PhoneNumbers"] == PHONE
    assert sent["SignName"] == "测试保险"
    assert sent["TemplateCode"] == "SMS_100001"
    assert json.loads(sent["TemplateParam"]) == msg.params
    assert sent["OutId"] == msg.idempotency_key
    assert sent["Action"] == "SendSms" and sent["Version"] == "2017-05-25"


def test_fake_checks_signature_like_aliyun_documented_example():
    """The fake's own signer reproduces Aliyun's published RPC-signature example."""
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    sts = rpc_string_to_sign("GET", params)
    assert sts.startswith("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions")
    assert "Timestamp%3D2016-02-23T12%253A46%253A24Z" in sts
    assert rpc_signature("testsecret", sts) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


async def test_wrong_secret_is_rejected_by_signature_check(aliyun_server, message):
    (key_id, _), = aliyun_server.credentials.items()
    channel = AliyunSmsChannel(key_id, "not-the-secret", "测试保险", SMS_TEMPLATES,
                               endpoint=aliyun_server.url, connect_timeout=TIMEOUT,
                               read_timeout=TIMEOUT)
    with pytest.raises(ChannelMisconfigured) as info:
        await channel.send(message("sms", PHONE))
    # the SDK turns SignatureDoesNotMatch into InvalidAccessKeySecret when the strings match
    assert info.value.provider_code in {"SignatureDoesNotMatch", "InvalidAccessKeySecret"}
    assert not info.value.retryable
    assert aliyun_server.accepted == []


async def test_unknown_access_key(aliyun_server, message):
    channel = AliyunSmsChannel("LTAI-unknown", "x", "测试保险", SMS_TEMPLATES,
                               endpoint=aliyun_server.url, connect_timeout=TIMEOUT,
                               read_timeout=TIMEOUT)
    with pytest.raises(ChannelMisconfigured) as info:
        await channel.send(message("sms", PHONE))
    assert info.value.provider_code == "InvalidAccessKeyId.NotFound"


async def test_throttled(sms_channel, aliyun_server, message):
    aliyun_server.scenario = "throttled"
    with pytest.raises(ChannelThrottled) as info:
        await sms_channel.send(message("sms", PHONE))
    assert info.value.retryable and info.value.retry_after == 60
    assert info.value.code == "CHANNEL_THROTTLED"
    assert info.value.provider_code == "isv.BUSINESS_LIMIT_CONTROL"


async def test_api_flow_control_http_400(sms_channel, aliyun_server, message):
    aliyun_server.scenario = "api_throttled"
    with pytest.raises(ChannelThrottled) as info:
        await sms_channel.send(message("sms", PHONE))
    assert info.value.provider_code == "Throttling.User"


async def test_invalid_number(sms_channel, aliyun_server, message):
    with pytest.raises(InvalidRecipient) as info:
        await sms_channel.send(message("sms", "12345"))
    assert not info.value.retryable
    assert info.value.provider_code == "isv.MOBILE_NUMBER_ILLEGAL"


async def test_provider_side_template_error(sms_channel, aliyun_server, message):
    aliyun_server.scenario = "template"
    with pytest.raises(TemplateError) as info:
        await sms_channel.send(message("sms", PHONE))
    assert info.value.provider_code == "isv.TEMPLATE_MISSING_PARAMETERS"


async def test_missing_param_never_reaches_provider(sms_channel, aliyun_server, message):
    with pytest.raises(TemplateError):
        await sms_channel.send(message("sms", PHONE, params={"name": "张三"}))
    assert aliyun_server.requests == []


async def test_template_without_aliyun_code(aliyun_server, message):
    (key_id, secret), = aliyun_server.credentials.items()
    channel = AliyunSmsChannel(key_id, secret, "测试保险", {}, endpoint=aliyun_server.url)
    with pytest.raises(TemplateError, match="no Aliyun template code"):
        await channel.send(message("sms", PHONE))
    assert aliyun_server.requests == []


async def test_unknown_sign_name_is_misconfiguration(aliyun_server, message):
    (key_id, secret), = aliyun_server.credentials.items()
    channel = AliyunSmsChannel(key_id, secret, "别家保险", SMS_TEMPLATES, endpoint=aliyun_server.url)
    with pytest.raises(ChannelMisconfigured) as info:
        await channel.send(message("sms", PHONE))
    assert info.value.provider_code == "isv.SMS_SIGNATURE_ILLEGAL"


async def test_system_error_is_retryable(sms_channel, aliyun_server, message):
    aliyun_server.scenario = "busy"
    with pytest.raises(ChannelUnavailable) as info:
        await sms_channel.send(message("sms", PHONE))
    assert info.value.retryable and info.value.provider_code == "isp.SYSTEM_ERROR"


async def test_http_500_is_retryable(sms_channel, aliyun_server, message):
    aliyun_server.scenario = "error_500"
    with pytest.raises(ChannelUnavailable) as info:
        await sms_channel.send(message("sms", PHONE))
    assert info.value.retryable


async def test_slow_provider_times_out_after_one_request(sms_channel, aliyun_server, message):
    aliyun_server.scenario = "slow"
    started = time.monotonic()
    with pytest.raises(ChannelTimeout) as info:
        await sms_channel.send(message("sms", PHONE))
    assert time.monotonic() - started < 1.4
    assert info.value.retryable and info.value.code == "CHANNEL_TIMEOUT"
    assert len(aliyun_server.sends()) == 1  # SDK auto-retry is off: the worker owns retries


async def test_connection_refused_is_unavailable(message):
    channel = AliyunSmsChannel("id", "secret", "测试保险", SMS_TEMPLATES,
                               endpoint=f"http://127.0.0.1:{free_port()}", connect_timeout=TIMEOUT,
                               read_timeout=TIMEOUT)
    with pytest.raises(ChannelUnavailable):
        await channel.send(message("sms", PHONE))


async def test_retry_after_failure_sends_again_then_duplicate_is_not_sent(
        sms_channel, aliyun_server, message):
    msg = message("sms", PHONE)
    aliyun_server.script("busy")
    with pytest.raises(ChannelUnavailable):
        await sms_channel.send(msg)
    first = await sms_channel.send(msg)          # the worker's retry: goes out
    again = await sms_channel.send(msg)          # a duplicate retry: answered from the store
    assert again.duplicate and again.provider_message_id == first.provider_message_id
    assert len(aliyun_server.sends()) == 2
    assert [m["OutId"] for m in aliyun_server.accepted] == [msg.idempotency_key]


async def test_concurrent_duplicates_send_once(sms_channel, aliyun_server, message):
    msg = message("sms", PHONE)
    results = await asyncio.gather(*(sms_channel.send(msg) for _ in range(5)))
    assert len({r.provider_message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert len(aliyun_server.accepted) == 1


async def test_otp_template(sms_channel, aliyun_server, message):
    await sms_channel.send(message("sms", "+8613900139000", template="OTP_CODE",
                                   params={"code": "482913", "minutes": 5}))
    (sent,) = aliyun_server.accepted
    assert sent["TemplateCode"] == "SMS_100002"
    assert json.loads(sent["TemplateParam"]) == {"code": "482913", "minutes": "5"}  # strings


@pytest.mark.parametrize("code, kind", [
    ("isv.DAY_LIMIT_CONTROL", ChannelThrottled),
    ("isv.AMOUNT_NOT_ENOUGH", ChannelMisconfigured),
    ("isv.OUT_OF_SERVICE", ChannelMisconfigured),
    ("isv.PARAM_NOT_SUPPORT_URL", TemplateError),
    ("isv.SMS_TEMPLATE_ILLEGAL", TemplateError),
    ("isp.GATEWAY_ERROR", ChannelUnavailable),
    ("isp.SOMETHING_NEW", ChannelUnavailable),
    ("isv.SOMETHING_NEW", ChannelError),
])
def test_error_code_mapping(code, kind):
    error = error_for(code, "x")
    assert type(error) is kind
    assert error.provider_code == code
