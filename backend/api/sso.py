"""/sso: single sign-on for the admin console and business systems' users.

OIDC (authorization code + PKCE), signed tickets from in-house systems and DingTalk mobile login
each open a session; the answer carries the bearer token (``Authorization: Bearer ...``).
"""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, redirect
from sanic_ext import openapi

from backend.api.admin_auth import session_authenticated
from backend.api.bodies import StrictBody, parse_json
from backend.api.middleware import client_ip
from backend.errors import Unauthorized, ValidationFailed
from backend.services import admin_sessions, sso_dingtalk, sso_oidc, sso_ticket

bp = Blueprint("sso", url_prefix="/sso")


class TicketBody(StrictBody):
    ticket: str = Field(..., min_length=3, max_length=sso_ticket.MAX_TICKET_LENGTH)


class DingTalkBody(StrictBody):
    code: str = Field(..., min_length=1, max_length=200, description="DingTalk authCode (免登码)")


class OidcDenied(Unauthorized):
    code, message = "OIDC_LOGIN_DENIED", "the identity provider did not sign the user in"


@bp.get("/oidc/login")
@openapi.summary("Start an OIDC login: 302 to the identity provider (query: tenant, return_to)")
async def oidc_login(request: Request) -> HTTPResponse:
    """``return_to``: a path of the console, handed back by the callback."""
    tenant = request.args.get("tenant")
    if not tenant:
        raise ValidationFailed("query parameter tenant is required", code="QUERY_INVALID")
    url = await sso_oidc.start(request.app.ctx.runtime, tenant,
                               request.args.get("return_to") or "")
    return redirect(url, status=302, headers={"Cache-Control": "no-store"})


@bp.get("/oidc/callback")
@openapi.summary("OIDC redirect URI: exchanges the code, verifies the ID token, opens a session")
async def oidc_callback(request: Request) -> HTTPResponse:
    if request.args.get("error"):
        raise OidcDenied(f"the identity provider answered {request.args.get('error')[:64]}")
    opened, return_to = await sso_oidc.finish(request.app.ctx.runtime,
                                              request.args.get("code", ""),
                                              request.args.get("state", ""), client_ip(request))
    return json({**opened.to_dict(), "return_to": return_to or None}, status=201,
                headers={"Cache-Control": "no-store"})


@bp.post("/ticket")
@openapi.summary("Sign in with a one-time ticket signed by an in-house system (HMAC or SM2)")
@openapi.body({"application/json": TicketBody.model_json_schema()})
async def ticket(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, TicketBody)
    runtime, ip = request.app.ctx.runtime, client_ip(request)
    opened = await admin_sessions.throttled_sign_in(
        runtime.cache, "ticket", ip, lambda: sso_ticket.sign_in(runtime, body.ticket, ip))
    return json(opened.to_dict(), status=201, headers={"Cache-Control": "no-store"})


@bp.post("/dingtalk")
@openapi.summary("DingTalk mobile login with an authCode")
@openapi.body({"application/json": DingTalkBody.model_json_schema()})
async def dingtalk(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, DingTalkBody)
    runtime, ip = request.app.ctx.runtime, client_ip(request)
    opened = await admin_sessions.throttled_sign_in(
        runtime.cache, "dingtalk", ip, lambda: sso_dingtalk.sign_in(runtime, body.code, ip))
    return json(opened.to_dict(), status=201, headers={"Cache-Control": "no-store"})


@bp.get("/session")
@openapi.summary("The session of the bearer token and its user")
@openapi.parameter("Authorization", str, "header", required=True)
@session_authenticated
async def session(request: Request) -> HTTPResponse:
    return json({"session": admin_sessions.present_session(request.ctx.session),
                 "user": admin_sessions.present_user(request.ctx.user),
                 "admin_role": request.ctx.admin_role})


@bp.post("/logout")
@openapi.summary("End the session of the bearer token")
@openapi.parameter("Authorization", str, "header", required=True)
@session_authenticated
async def logout(request: Request) -> HTTPResponse:
    return json(await admin_sessions.revoke(request.ctx.session, "logout"))
