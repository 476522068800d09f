"""/api/v1/signing-links: issue and revoke a signer's short link."""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated
from backend.services import signing_links as service

bp = Blueprint("signing_links", url_prefix="/api/v1/signing-links")


class IssueLink(StrictBody):
    envelope_ref: str = Field(..., min_length=1, max_length=64)
    signer_ref: str = Field(..., min_length=1, max_length=64)
    signer_name: str = Field("", max_length=50)
    ttl_hours: int | None = Field(None, ge=1, le=service.MAX_TTL_HOURS)
    send_sms_to: str | None = Field(None, description="mobile number: send the link by SMS now")
    doc_title: str = Field("", max_length=100, description="document title shown in the SMS")


@bp.post("/")
@openapi.summary("Issue a signing link for one signer (revokes the signer's older links)")
@openapi.body({"application/json": IssueLink.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def issue(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, IssueLink)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant
    ttl = body.ttl_hours or runtime.settings.signing_link_ttl_hours

    async def action() -> tuple[int, dict]:
        issued = await service.issue_link(tenant, body.envelope_ref, body.signer_ref,
                                          body.signer_name, ttl)
        result = issued.to_dict(runtime.settings.base_url)
        if body.send_sms_to:
            message = await service.send_link_by_sms(tenant, runtime, issued, result["url"],
                                                     body.send_sms_to, body.doc_title)
            result["message_id"] = str(message.id)
        return 201, result

    return await respond_idempotent(request, action)


@bp.delete("/<link_id:str>")
@openapi.summary("Revoke a signing link at once")
@openapi.secured("AppSignature")
@authenticated
async def revoke(request: Request, link_id: str) -> HTTPResponse:
    return json(await service.revoke_link(request.ctx.tenant, link_id))
