"""REST API of the WeChat mini-program [微信小程序]: ``POST /mp/session`` (wx.login code +
getPhoneNumber data → a bearer session token), the person's own envelopes, and a signing link
for the mini-program's web-view (the H5 page). Thin handlers over ``mp_session``."""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend import audit
from backend.api.bodies import StrictBody, parse_json
from backend.api.middleware import client_ip
from backend.services import admin_sessions
from miniapp_api import mp_session

bp = Blueprint("mp_api", url_prefix="/mp")
NO_STORE = {"Cache-Control": "no-store"}
Handler = Callable[..., Awaitable[HTTPResponse]]


class LoginBody(StrictBody):
    code: str = Field(..., min_length=1, max_length=128, description="wx.login() code")
    phone_code: str | None = Field(None, max_length=128,
                                   description="getPhoneNumber's code (newer form); omit once "
                                               "this WeChat account is bound")
    encrypted_data: str | None = Field(None, max_length=4096,
                                       description="getPhoneNumber's encryptedData (base64); "
                                                   "omit once this WeChat account is bound")
    iv: str | None = Field(None, max_length=64, description="getPhoneNumber's iv (base64)")
    tenant: str | None = Field(None, max_length=64,
                               description="tenant id; not needed with WECHAT_MINI_TENANT_ID")


class LinkBody(StrictBody):
    signer_id: str | None = Field(None, max_length=64,
                                  description="one of my_signers; default: whose turn it is")


def mp_authenticated(handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        session = await mp_session.authenticate(request.app.ctx.runtime,
                                                request.headers.get("Authorization", ""))
        request.ctx.mp_session = session
        ctx = audit.current_context.get()
        audit.current_context.set(audit.AuditContext(
            actor=f"wechat:{session.openid}", tenant_id=session.tenant_id, ip=ctx.ip,
            user_agent=ctx.user_agent, request_id=ctx.request_id))
        return await handler(request, *args, **kwargs)

    return wrapper


@bp.post("/session")
@openapi.summary("Mini-program login: wx.login code (+ getPhoneNumber data) → session token")
@openapi.body({"application/json": LoginBody.model_json_schema()})
async def login(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, LoginBody)
    runtime, ip = request.app.ctx.runtime, client_ip(request)

    async def attempt():
        return await mp_session.login(runtime, body.code, phone_code=body.phone_code,
                                      encrypted_data=body.encrypted_data,
                                      iv=body.iv, tenant=body.tenant)

    token, session = await admin_sessions.throttled_sign_in(runtime.cache, "wechat_mini", ip,
                                                            attempt)
    return json({"token": token, "token_type": "Bearer", **session.to_dict()}, status=201,
                headers=NO_STORE)


@bp.get("/session")
@openapi.summary("Mini-program: the session of the bearer token")
@openapi.parameter("Authorization", str, "header", required=True)
@mp_authenticated
async def whoami(request: Request) -> HTTPResponse:
    return json(request.ctx.mp_session.to_dict(), headers=NO_STORE)


@bp.delete("/session")
@openapi.summary("Mini-program logout: the bearer token stops working")
@openapi.parameter("Authorization", str, "header", required=True)
async def logout(request: Request) -> HTTPResponse:
    await mp_session.logout(request.app.ctx.runtime, request.headers.get("Authorization", ""))
    return json({"logged_out": True}, headers=NO_STORE)


@bp.get("/envelopes")
@openapi.summary("Mini-program: the envelopes where the signed-in person is a signer "
                 "(title, status, my signer's status, whose turn)")
@openapi.parameter("Authorization", str, "header", required=True)
@mp_authenticated
async def envelopes(request: Request) -> HTTPResponse:
    return json({"items": await mp_session.envelopes(request.ctx.mp_session)}, headers=NO_STORE)


@bp.get("/envelopes/<envelope_id:str>")
@openapi.summary("Mini-program: one of the person's envelopes (404 for anyone else's)")
@openapi.parameter("Authorization", str, "header", required=True)
@mp_authenticated
async def envelope(request: Request, envelope_id: str) -> HTTPResponse:
    return json(await mp_session.envelope(request.ctx.mp_session, envelope_id), headers=NO_STORE)


@bp.post("/envelopes/<envelope_id:str>/link")
@openapi.summary("Mini-program: a fresh signing link (/s/<token>) for the person's own signer, "
                 "to open the H5 signing page in a web-view")
@openapi.body({"application/json": LinkBody.model_json_schema()})
@openapi.parameter("Authorization", str, "header", required=True)
@mp_authenticated
async def link(request: Request, envelope_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, LinkBody) if request.body \
        else LinkBody()
    return json(await mp_session.issue_link(request.app.ctx.runtime, request.ctx.mp_session,
                                            envelope_id, body.signer_id),
                status=201, headers=NO_STORE)
