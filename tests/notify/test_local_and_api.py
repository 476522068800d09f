"""The local demo channel and the shared contract (Message, stores, masking, duplicate guard)."""
from __future__ import annotations

import asyncio
import logging

import pytest

from notify.api import (
    InvalidRecipient, MemoryResultStore, MemoryTokenStore, Message, SendResult, TemplateError,
    mask_recipient,
)
from notify.local import LocalChannel


async def test_local_logs_masked_and_keeps_message(caplog, message):
    channel = LocalChannel()
    caplog.set_level(logging.INFO, logger="notify.local")
    result = await channel.send(message("sms", "13800138000"))
    assert result.provider_message_id.startswith("local-")
    (shown,) = channel.recent()
    assert shown.recipient == "13800138000" and shown.channel == "sms"
    assert "https://e.example.com/s/abc" in shown.text
    assert "138****8000" in caplog.text and "13800138000" not in caplog.text
    assert "https://e.example.com/s/abc" in caplog.text


async def test_local_production_fallback_does_not_log_text(caplog, message):
    channel = LocalChannel(log_text=False)
    caplog.set_level(logging.INFO, logger="notify.local")
    await channel.send(message("sms", "13800138000", template="OTP_CODE",
                               params={"code": "482913", "minutes": "5"}))
    assert "482913" not in caplog.text
    assert channel.recent()[0].text.startswith("您的签署验证码为482913")


async def test_local_keeps_last_100_newest_first(message):
    channel = LocalChannel()
    for i in range(105):
        await channel.send(message("email", f"u{i}@example.com"))
    recent = channel.recent()
    assert len(recent) == 100
    assert recent[0].recipient == "u104@example.com" and recent[-1].recipient == "u5@example.com"
    assert len(channel.recent(limit=3)) == 3


async def test_local_checks_template(message):
    with pytest.raises(TemplateError):
        await LocalChannel().send(message("sms", "13800138000", params={}))


async def test_same_key_on_two_channels_through_one_local_is_not_a_duplicate(message):
    channel = LocalChannel()
    sms = message("sms", "13800138000", idempotency_key="k1")
    email = message("email", "a@example.com", idempotency_key="k1")
    assert not (await channel.send(sms)).duplicate
    assert not (await channel.send(email)).duplicate
    assert (await channel.send(sms)).duplicate
    assert len(channel.recent()) == 2


async def test_shared_result_store_dedupes_across_instances(message):
    store = MemoryResultStore()
    msg = message("sms", "13800138000")
    first, second = LocalChannel(results=store), LocalChannel(results=store)
    await first.send(msg)
    assert (await second.send(msg)).duplicate
    assert second.recent() == []


def test_message_requires_recipient_and_key():
    with pytest.raises(InvalidRecipient):
        Message("sms", "", "OTP_CODE", {}, idempotency_key="k")
    with pytest.raises(ValueError):
        Message("sms", "13800138000", "OTP_CODE", {})


def test_send_result_round_trip():
    from notify.api import utcnow
    result = SendResult("biz^0", utcnow(), {"Code": "OK", "n": 1})
    assert SendResult.from_json(result.to_json()) == result


@pytest.mark.parametrize("value, masked", [
    ("13800138000", "138****8000"),
    ("+8613800138000", "+86138****8000"),
    ("zhang.san@example.com", "z***@example.com"),
    ("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oU***6o"),
    ("abc", "***"),
])
def test_mask_recipient(value, masked):
    assert mask_recipient(value) == masked


async def test_memory_stores_honour_ttl():
    tokens = MemoryTokenStore()
    tokens.set("t", "v", ttl=0.05)
    results = MemoryResultStore(max_items=2)
    await results.set("a", b"1", ttl=0.05)
    assert tokens.get("t") == "v" and await results.get("a") == b"1"
    await asyncio.sleep(0.06)
    assert tokens.get("t") is None and await results.get("a") is None
    for key in "xyz":
        await results.set(key, b"v")
    assert await results.get("x") is None and await results.get("z") == b"v"
