"""Inbound provider callbacks (not signed by our scheme: authenticated by a secret path token)."""
from __future__ import annotations

import hmac

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.errors import NotFound
from backend.services.delivery_receipts import apply_receipts
from notify.aliyun_sms import parse_delivery_receipt

bp = Blueprint("hooks", url_prefix="/hooks")


@bp.post("/aliyun/sms-report/<token:str>")
@openapi.summary("Aliyun SmsReport push: delivery receipts (URL token = ALIYUN_SMS_REPORT_TOKEN)")
async def aliyun_sms_report(request: Request, token: str) -> HTTPResponse:
    expected = request.app.ctx.settings.aliyun_sms_report_token
    if not expected or not hmac.compare_digest(expected, token):
        raise NotFound()
    matched = await apply_receipts(parse_delivery_receipt(request.body))
    return json({"code": 0, "msg": "成功", "matched": matched})
