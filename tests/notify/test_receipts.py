"""Aliyun SmsReport delivery receipts."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from notify.aliyun_sms import RECEIPT_ACK, InvalidReceipt, parse_delivery_receipt

SAMPLE = json.dumps([
    {"phone_number": "13800138000", "send_time": "2026-11-25 21:00:00",
     "report_time": "2026-11-25 21:00:05", "success": True, "err_code": "DELIVERED",
     "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "932702304080415357^0",
     "out_id": "msg-1"},
    {"phone_number": "13900139000", "send_time": "2026-11-25 21:00:00",
     "report_time": "2026-11-25 21:01:00", "success": False, "err_code": "MK:0001",
     "err_msg": "用户关机", "sms_size": "1", "biz_id": "932702304080415358^0", "out_id": ""},
], ensure_ascii=False).encode()


def test_parse_report_batch():
    delivered, failed = parse_delivery_receipt(SAMPLE)
    assert delivered.provider_message_id == "932702304080415357^0"
    assert delivered.status == "delivered" and delivered.error_code is None
    assert delivered.idempotency_key == "msg-1" and delivered.recipient == "13800138000"
    # report_time is Beijing time
    assert delivered.received_at == datetime(2026, 11, 25, 13, 0, 5, tzinfo=timezone.utc)
    assert failed.status == "failed" and failed.error_code == "MK:0001"
    assert failed.idempotency_key == ""
    assert failed.raw["err_msg"] == "用户关机"


def test_parse_accepts_str_and_list():
    assert len(parse_delivery_receipt(SAMPLE.decode())) == 2
    assert len(parse_delivery_receipt(json.loads(SAMPLE))) == 2
    assert parse_delivery_receipt("[]") == []


@pytest.mark.parametrize("body", [
    b"not json", b'{"biz_id": "1"}', b'[{"success": true}]', b'[{"biz_id": "1"}]',
    b'[{"biz_id": "1", "success": true, "report_time": "yesterday"}]', b"[1]",
])
def test_malformed_reports(body):
    with pytest.raises(InvalidReceipt) as info:
        parse_delivery_receipt(body)
    assert info.value.code == "INVALID_RECEIPT" and info.value.status == 400


async def test_receipts_match_what_was_sent(sms_channel, aliyun_server, message):
    msg = message("sms", "13800138000")
    result = await sms_channel.send(msg)
    (receipt,) = parse_delivery_receipt(json.dumps(aliyun_server.delivery_report()))
    assert receipt.provider_message_id == result.provider_message_id
    assert receipt.idempotency_key == msg.idempotency_key
    assert receipt.status == "delivered"


def test_ack_body():
    assert RECEIPT_ACK == {"code": 0, "msg": "接收成功"}
