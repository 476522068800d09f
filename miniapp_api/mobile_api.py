"""Mobile API of the DingTalk mini-app for leaders [钉钉审批]: ``/m/approvals`` with the bearer
session of ``POST /sso/dingtalk`` (or any sign-in). Thin handlers over ``leader_approvals``."""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.admin_auth import session_authenticated
from backend.api.bodies import StrictBody, parse_json
from backend.api.middleware import client_ip
from miniapp_api import leader_approvals

bp = Blueprint("mobile_api", url_prefix="/m")


class Decision(StrictBody):
    comment: str = Field("", max_length=300)


@bp.get("/approvals")
@openapi.summary("Mobile: the approval steps waiting for the signed-in leader")
@openapi.parameter("Authorization", str, "header", required=True)
@session_authenticated
async def approvals(request: Request) -> HTTPResponse:
    return json({"items": await leader_approvals.pending(request.ctx.user)},
                headers={"Cache-Control": "no-store"})


async def _decide(request: Request, signer_id: str, approve: bool) -> HTTPResponse:
    body = parse_json(request.content_type, request.body or b"{}", Decision)
    return json(await leader_approvals.decide_step(
        request.app.ctx.runtime, request.ctx.user, signer_id, approve=approve,
        comment=body.comment, ip=client_ip(request),
        device=request.headers.get("User-Agent", "")[:300]))


@bp.post("/approvals/<signer_id:str>/approve")
@openapi.summary("Mobile: the leader approves (the silent company seal follows)")
@openapi.body({"application/json": Decision.model_json_schema()})
@openapi.parameter("Authorization", str, "header", required=True)
@session_authenticated
async def approve(request: Request, signer_id: str) -> HTTPResponse:
    return await _decide(request, signer_id, True)


@bp.post("/approvals/<signer_id:str>/reject")
@openapi.summary("Mobile: the leader rejects with a comment; the envelope ends rejected")
@openapi.body({"application/json": Decision.model_json_schema()})
@openapi.parameter("Authorization", str, "header", required=True)
@session_authenticated
async def reject(request: Request, signer_id: str) -> HTTPResponse:
    return await _decide(request, signer_id, False)
