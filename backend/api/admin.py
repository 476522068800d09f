"""/api/v1/admin: the admin console [三员分立], authenticated by a session bearer token.

Every route names the admin role(s) it needs in ``ROUTES`` (the route table the tests walk):
system administrators manage users, roles, sessions and the organisation sync; security
administrators manage seals and their grants and read statistics and the unit tree; the
audit administrator only reads, exports and verifies the operation log, and those reads are
logged too.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json, text
from sanic_ext import openapi

from backend import audit
from backend.api.admin_auth import Handler, requires_role
from backend.api.bodies import StrictBody, parse_json, query_int
from backend.services import (admin_config, admin_roles, admin_security, admin_sessions,
                              org_directory, query_audit, statistics)
from backend.services import sync_org
from backend.services.sync_dingtalk import sync_from_dingtalk

PREFIX = "/api/v1/admin"
bp = Blueprint("admin", url_prefix=PREFIX)
#: (method, path, roles) of every admin route.
ROUTES: list[tuple[str, str, tuple[str, ...]]] = []


def route(method: str, path: str, *roles: str, summary: str,
          body: type[StrictBody] | None = None) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        wrapped = requires_role(*roles)(handler)
        if body is not None:
            wrapped = openapi.body({"application/json": body.model_json_schema()})(wrapped)
        wrapped = openapi.parameter("Authorization", str, "header", required=True,
                                    description="Bearer <session token from /sso/...>")(wrapped)
        wrapped = openapi.summary(f"{summary} [{' | '.join(roles)}]")(wrapped)
        bp.add_route(wrapped, path, methods=[method], name=handler.__name__)
        ROUTES.append((method, PREFIX + path, roles))
        return wrapped
    return decorate


def _tenant(request: Request) -> str:
    return str(request.ctx.user.tenant_id)


def _page(request: Request) -> tuple[int, int]:
    return (query_int(request.args, "limit", 50, 1, 500),
            query_int(request.args, "offset", 0, 0, 10**9))


ALL = ("system", "security", "audit")


# ---- any administrator ----------------------------------------------------------------------
@route("GET", "/me", *ALL, summary="The signed-in administrator, role and session")
async def me(request: Request) -> HTTPResponse:
    return json({"user": admin_sessions.present_user(request.ctx.user),
                 "admin_role": request.ctx.admin_role,
                 "session": admin_sessions.present_session(request.ctx.session)})


# ---- system administrator: users, roles, sessions, organisation ------------------------------
class GrantRole(StrictBody):
    role: Literal["system", "security", "audit"]


class DisableUser(StrictBody):
    reason: str = Field("", max_length=200)


class TriggerSync(StrictBody):
    mode: Literal["auto", "full", "incremental"] = "auto"


@route("GET", "/users", "system", summary="Users (filter: unit incl. sub-units, status)")
async def users(request: Request) -> HTTPResponse:
    limit, offset = _page(request)
    return json(await org_directory.list_users(
        _tenant(request), unit_id=request.args.get("unit"), status=request.args.get("status"),
        limit=limit, offset=offset))


@route("GET", "/users/<user_id:str>", "system", summary="One user")
async def user(request: Request, user_id: str) -> HTTPResponse:
    found = await admin_roles.get_user(_tenant(request), user_id)
    return json({**admin_sessions.present_user(found),
                 "admin_role": await admin_sessions.role_of(found.id)})


@route("POST", "/users/<user_id:str>/disable", "system", body=DisableUser,
       summary="Disable a user (their sessions end)")
async def disable_user(request: Request, user_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, DisableUser)
    return json(await org_directory.disable_user(_tenant(request), user_id, body.reason))


@route("GET", "/config", "system", summary="The running configuration (secrets masked)")
async def config(request: Request) -> HTTPResponse:
    return json({"settings": admin_config.describe(request.app.ctx.settings)})


@route("GET", "/roles", "system", summary="Administrator role assignments")
async def roles(request: Request) -> HTTPResponse:
    return json({"items": await admin_roles.list_roles(_tenant(request))})


@route("PUT", "/roles/<user_id:str>", "system", body=GrantRole,
       summary="Grant an administrator role (one per user; 409 ADMIN_ROLE_CONFLICT)")
async def grant_role(request: Request, user_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, GrantRole)
    target = await admin_roles.get_user(_tenant(request), user_id)
    return json(await admin_roles.grant(target, body.role,
                                        granted_by=f"user:{request.ctx.user.id}",
                                        acting_user_id=str(request.ctx.user.id)))


@route("DELETE", "/roles/<user_id:str>", "system", summary="Revoke a user's administrator role")
async def revoke_role(request: Request, user_id: str) -> HTTPResponse:
    target = await admin_roles.get_user(_tenant(request), user_id)
    return json(await admin_roles.revoke(target, acting_user_id=str(request.ctx.user.id)))


@route("GET", "/sessions", "system", summary="Sessions (filter: user, active=true)")
async def sessions(request: Request) -> HTTPResponse:
    limit, offset = _page(request)
    return json({"items": await admin_sessions.list_sessions(
        _tenant(request), request.args.get("user"), request.args.get("active") == "true",
        limit, offset)})


@route("POST", "/sessions/<session_id:str>/revoke", "system", summary="Revoke a session")
async def revoke_session(request: Request, session_id: str) -> HTTPResponse:
    return json(await admin_sessions.revoke_by_id(_tenant(request), session_id, "admin"))


@route("GET", "/org/units", "system", "security", summary="Units and departments")
async def units(request: Request) -> HTTPResponse:
    return json(await org_directory.list_units(_tenant(request)))


@route("GET", "/org/sync-runs", "system", summary="Organisation sync reports, newest first")
async def sync_runs(request: Request) -> HTTPResponse:
    limit, offset = _page(request)
    return json({"items": await sync_org.list_runs(_tenant(request), limit, offset)})


@route("GET", "/org/sync-runs/<run_id:str>", "system", summary="One sync report")
async def sync_run(request: Request, run_id: str) -> HTTPResponse:
    return json(sync_org.present_run(await sync_org.get_run(_tenant(request), run_id)))


@route("POST", "/org/dingtalk-sync", "system", body=TriggerSync,
       summary="Run the DingTalk organisation sync now (auto = full first, then incremental)")
async def dingtalk_sync(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, TriggerSync)
    run = await sync_from_dingtalk(request.app.ctx.runtime, mode=body.mode, trigger="manual",
                                   tenant_id=_tenant(request))
    return json(sync_org.present_run(run), status=201)


# ---- security administrator: seals and grants ------------------------------------------------
class Reason(StrictBody):
    reason: str = Field(..., min_length=2, max_length=300)


@route("GET", "/seals", "security", summary="Seals (filter: status, unit = the seal's unit ref)")
async def seals(request: Request) -> HTTPResponse:
    limit, offset = _page(request)
    return json(await admin_security.list_seals(
        _tenant(request), status=request.args.get("status"), unit=request.args.get("unit"),
        limit=limit, offset=offset))


@route("POST", "/seals/<seal_id:str>/<action:str>", "security", body=Reason,
       summary="Approve, suspend, resume or revoke a seal (reason required)")
async def seal_transition(request: Request, seal_id: str, action: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Reason)
    return json(await admin_security.transition(_tenant(request), seal_id, action,
                                                actor=f"user:{request.ctx.user.id}",
                                                reason=body.reason))


@route("GET", "/seals/<seal_id:str>/grants", "security", summary="The grants of a seal")
async def seal_grants(request: Request, seal_id: str) -> HTTPResponse:
    return json(await admin_security.list_grants(_tenant(request), seal_id))


@route("POST", "/grants/<grant_id:str>/revoke", "security", body=Reason,
       summary="Revoke a seal grant (reason required)")
async def revoke_grant(request: Request, grant_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, Reason)
    return json(await admin_security.revoke_grant(_tenant(request), grant_id,
                                                  actor=f"user:{request.ctx.user.id}",
                                                  reason=body.reason))


# ---- security administrator (and system): statistics ----------------------------------------
@route("GET", "/statistics", "security", "system",
       summary="Statistics by period (day|month) and unit (since, until, period, unit)")
async def stats(request: Request) -> HTTPResponse:
    return json(await statistics.compute(statistics.build_query(_tenant(request), request.args)))


# ---- audit administrator: the operation log --------------------------------------------------
@route("GET", "/audit/entries", "audit",
       summary="Search the operation log (actor, action prefix, target, result, since, until, unit)")
async def audit_entries(request: Request) -> HTTPResponse:
    limit, offset = _page(request)
    q = query_audit.build_query(_tenant(request), request.args)
    found = await query_audit.search(q, limit, offset)
    await audit.record("audit.query", "audit_log",
                       details={"filters": q.describe(), "returned": len(found["items"])})
    return json(found)


@route("GET", "/audit/export", "audit", summary="Export the operation log (format=csv|jsonl)")
async def audit_export(request: Request) -> HTTPResponse:
    fmt = request.args.get("format", "csv")
    q = query_audit.build_query(_tenant(request), request.args)
    content, count = await query_audit.export(q, fmt)
    await audit.record("audit.export", "audit_log",
                       details={"filters": q.describe(), "format": fmt, "rows": count})
    kind = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return text(content, content_type=f"{kind}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="audit-log.{fmt}"',
        "X-Export-Rows": str(count)})


@route("GET", "/audit/verify", "audit", summary="Verify the operation log's hash chain")
async def audit_verify(request: Request) -> HTTPResponse:
    report = await audit.verify_chain()
    await audit.record("audit.verify", "audit_log", result="ok" if report.ok else "broken",
                       details=report.to_dict())
    return json(report.to_dict())
