"""/api/v1/callbacks: where a tenant receives status callbacks."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, HttpUrl
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi
from tortoise.transactions import in_transaction

from backend.api.bodies import StrictBody, parse_json, query_int
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated
from backend.services import callback_endpoints as service
from backend.services import callbacks_outbox as outbox

bp = Blueprint("callbacks", url_prefix="/api/v1/callbacks")
Event = Literal[service.CALLBACK_EVENTS]  # type: ignore[valid-type]


class CreateCallback(StrictBody):
    url: HttpUrl = Field(..., description="https URL that receives HMAC-signed event bodies")
    events: list[Event] = Field(..., min_length=1, max_length=len(service.CALLBACK_EVENTS))
    description: str = Field("", max_length=200)

    model_config = {**StrictBody.model_config, "strict": False}


@bp.post("/")
@openapi.summary("Register a callback endpoint (Idempotency-Key honoured)")
@openapi.body({"application/json": CreateCallback.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def create(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, CreateCallback)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant

    async def action() -> tuple[int, dict]:
        return 201, await service.create_endpoint(
            tenant, str(body.url), list(body.events), body.description, runtime.cipher)

    return await respond_idempotent(request, action)


@bp.get("/")
@openapi.summary("List callback endpoints")
@openapi.secured("AppSignature")
@authenticated
async def list_all(request: Request) -> HTTPResponse:
    limit = query_int(request.args, "limit", 50, 1, 200)
    offset = query_int(request.args, "offset", 0, 0, 10**9)
    return json({"items": await service.list_endpoints(request.ctx.tenant, limit, offset)})


@bp.get("/<endpoint_id:str>")
@openapi.summary("Read one callback endpoint")
@openapi.secured("AppSignature")
@authenticated
async def read(request: Request, endpoint_id: str) -> HTTPResponse:
    return json(service.present(await service.get_endpoint(request.ctx.tenant, endpoint_id)))


@bp.delete("/<endpoint_id:str>")
@openapi.summary("Disable a callback endpoint")
@openapi.secured("AppSignature")
@authenticated
async def disable(request: Request, endpoint_id: str) -> HTTPResponse:
    return json(await service.disable_endpoint(request.ctx.tenant, endpoint_id))


@bp.post("/<endpoint_id:str>/test")
@openapi.summary("Send a signed test event (callback.test) to this endpoint")
@openapi.secured("AppSignature")
@authenticated
async def send_test(request: Request, endpoint_id: str) -> HTTPResponse:
    endpoint = await service.get_endpoint(request.ctx.tenant, endpoint_id)
    async with in_transaction("default"):
        event = await outbox.emit(request.ctx.tenant, request.app.ctx.runtime, "callback.test",
                                  {"message": "hello from the e-sign platform"},
                                  endpoint=endpoint)
    return json({"event_id": str(event.id)}, status=202)


@bp.post("/<endpoint_id:str>/redeliver")
@openapi.summary("Give the endpoint's failed deliveries another round of attempts")
@openapi.secured("AppSignature")
@authenticated
async def redeliver(request: Request, endpoint_id: str) -> HTTPResponse:
    endpoint = await service.get_endpoint(request.ctx.tenant, endpoint_id)
    return json({"requeued": await outbox.redeliver_failed(request.app.ctx.runtime, endpoint)},
                status=202)


@bp.get("/<endpoint_id:str>/deliveries")
@openapi.summary("The endpoint's delivery log: every event, status and attempt")
@openapi.secured("AppSignature")
@authenticated
async def deliveries(request: Request, endpoint_id: str) -> HTTPResponse:
    endpoint = await service.get_endpoint(request.ctx.tenant, endpoint_id)
    limit = query_int(request.args, "limit", 50, 1, 200)
    return json({"items": await outbox.present_deliveries(endpoint, limit)})
