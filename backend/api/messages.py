"""/api/v1/messages: send a templated message and read its delivery log."""
from __future__ import annotations

import base64

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated
from backend.errors import ValidationFailed
from backend.services import messages as service
from backend.services.metering import check_quota, message_kinds

bp = Blueprint("messages", url_prefix="/api/v1/messages")


class Attachment(StrictBody):
    filename: str = Field(..., min_length=1, max_length=100)
    content_base64: str
    mime: str = Field("application/pdf", max_length=100)


class SendMessage(StrictBody):
    channel: str = Field(..., description="sms | wechat | dingtalk | email | local")
    recipient: str = Field(..., min_length=1, max_length=200,
                           description="mobile, WeChat openid, DingTalk userid or e-mail")
    template: str = Field(..., min_length=1, max_length=64)
    params: dict[str, str] = Field(default_factory=dict)
    attachments: list[Attachment] = Field(default_factory=list, max_length=5,
                                          description="e-mail only: files to attach")
    unit_ref: str = Field("", max_length=64, description="business unit billed (SMS)")
    business_line: str = Field("", max_length=64, description="business line billed (SMS)")


def _attachments(body: SendMessage) -> list[tuple[str, bytes, str]]:
    try:
        return [(a.filename, base64.b64decode(a.content_base64, validate=True), a.mime)
                for a in body.attachments]
    except ValueError:
        raise ValidationFailed("attachment content is not base64",
                               code="ATTACHMENT_INVALID") from None


@bp.post("/")
@openapi.summary("Queue a templated message (Idempotency-Key honoured)")
@openapi.body({"application/json": SendMessage.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def send(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, SendMessage)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        await check_quota(tenant, *message_kinds(body.channel))
        message = await service.queue_message(
            tenant, runtime, channel=body.channel, recipient=body.recipient,
            template=body.template, params=body.params,
            idempotency_key=request.headers.get("Idempotency-Key"),
            attachments=_attachments(body), unit_ref=body.unit_ref,
            business_line=body.business_line)
        return 202, await service.present_message(message)

    return await respond_idempotent(request, action)


@bp.get("/<message_id:str>")
@openapi.summary("A message with its status and every delivery attempt")
@openapi.secured("AppSignature")
@authenticated
async def read(request: Request, message_id: str) -> HTTPResponse:
    message = await service.get_message(request.ctx.tenant, message_id)
    return json(await service.present_message(message))
