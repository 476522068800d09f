"""/api/v1/messages: send a templated message and read its delivery log."""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated
from backend.services import messages as service

bp = Blueprint("messages", url_prefix="/api/v1/messages")


class SendMessage(StrictBody):
    channel: str = Field(..., description="sms | wechat | dingtalk | email | local")
    recipient: str = Field(..., min_length=1, max_length=200,
                           description="mobile, WeChat openid, DingTalk userid or e-mail")
    template: str = Field(..., min_length=1, max_length=64)
    params: dict[str, str] = Field(default_factory=dict)


@bp.post("/")
@openapi.summary("Queue a templated message (Idempotency-Key honoured)")
@openapi.body({"application/json": SendMessage.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def send(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, SendMessage)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        message = await service.queue_message(
            tenant, runtime, channel=body.channel, recipient=body.recipient,
            template=body.template, params=body.params,
            idempotency_key=request.headers.get("Idempotency-Key"))
        return 202, await service.present_message(message)

    return await respond_idempotent(request, action)


@bp.get("/<message_id:str>")
@openapi.summary("A message with its status and every delivery attempt")
@openapi.secured("AppSignature")
@authenticated
async def read(request: Request, message_id: str) -> HTTPResponse:
    message = await service.get_message(request.ctx.tenant, message_id)
    return json(await service.present_message(message))
