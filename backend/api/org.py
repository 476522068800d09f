"""/api/v1/org: business systems push their organisation and manage admin roles (HMAC-signed).

``POST /api/v1/org/sync`` takes a ``full`` snapshot (everything; rows missing from it are
disabled) or an ``incremental`` one (only what changed; ``"status": "disabled"`` disables) and
answers the sync report. ``Idempotency-Key`` is honoured.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json, query_int
from backend.api.idempotent import respond_idempotent
from backend.api.middleware import authenticated
from backend.services import admin_roles, admin_sessions, org_directory, statistics, sync_org

bp = Blueprint("org", url_prefix="/api/v1")
ExtId = Field(..., min_length=1, max_length=64)
Status = Literal["active", "disabled"]


class UnitBody(StrictBody):
    id: str = ExtId
    name: str = Field(..., min_length=1, max_length=200)
    kind: Literal["hq", "branch", "sub_branch"]
    parent_id: str | None = Field(None, min_length=1, max_length=64)
    status: Status = "active"


class DepartmentBody(StrictBody):
    id: str = ExtId
    name: str = Field(..., min_length=1, max_length=200)
    unit_id: str = ExtId
    parent_id: str | None = Field(None, min_length=1, max_length=64)
    status: Status = "active"


class UserBody(StrictBody):
    id: str = ExtId
    name: str = Field(..., min_length=1, max_length=100)
    mobile: str | None = Field(None, pattern=r"^\+?\d{5,20}$")
    unit_id: str | None = Field(None, min_length=1, max_length=64)
    department_id: str | None = Field(None, min_length=1, max_length=64)
    status: Status = "active"


class SyncBody(StrictBody):
    mode: Literal["full", "incremental"]
    units: list[UnitBody] = Field(default_factory=list, max_length=20000)
    departments: list[DepartmentBody] = Field(default_factory=list, max_length=50000)
    users: list[UserBody] = Field(default_factory=list, max_length=200000)


class GrantRole(StrictBody):
    role: Literal["system", "security", "audit"]


@bp.post("/org/sync")
@openapi.summary("Push units, departments and users (full or incremental); returns the sync report")
@openapi.body({"application/json": SyncBody.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def push_sync(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, SyncBody)
    runtime, tenant = request.app.ctx.runtime, request.ctx.tenant
    snapshot = sync_org.Snapshot(
        units=[sync_org.UnitIn(**u.model_dump()) for u in body.units],
        departments=[sync_org.DepartmentIn(**d.model_dump()) for d in body.departments],
        users=[sync_org.UserIn(**u.model_dump()) for u in body.users])

    async def action() -> tuple[int, dict]:
        run = await sync_org.run_sync(tenant, "push", body.mode, snapshot, cipher=runtime.cipher,
                                      cache=runtime.cache, trigger="api")
        return 201, sync_org.present_run(run)

    return await respond_idempotent(request, action)


@bp.get("/org/sync-runs/<run_id:str>")
@openapi.summary("One sync report")
@openapi.secured("AppSignature")
@authenticated
async def read_run(request: Request, run_id: str) -> HTTPResponse:
    return json(sync_org.present_run(await sync_org.get_run(str(request.ctx.tenant.id), run_id)))


@bp.get("/org/units")
@openapi.summary("Units and departments of the tenant")
@openapi.secured("AppSignature")
@authenticated
async def units(request: Request) -> HTTPResponse:
    return json(await org_directory.list_units(str(request.ctx.tenant.id)))


@bp.get("/org/users")
@openapi.summary("Users (filter: unit incl. sub-units, status)")
@openapi.secured("AppSignature")
@authenticated
async def users(request: Request) -> HTTPResponse:
    return json(await org_directory.list_users(
        str(request.ctx.tenant.id), unit_id=request.args.get("unit"),
        status=request.args.get("status"),
        limit=query_int(request.args, "limit", 50, 1, 500),
        offset=query_int(request.args, "offset", 0, 0, 10**9)))


@bp.put("/org/users/<push_id:str>/admin-role")
@openapi.summary("Grant an administrator role to a user by business-system id (one per user)")
@openapi.body({"application/json": GrantRole.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def grant_role(request: Request, push_id: str) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, GrantRole)
    tenant = request.ctx.tenant
    user = await admin_roles.find_user(str(tenant.id), push_id=push_id)
    return json(await admin_roles.grant(user, body.role, granted_by=f"app:{tenant.app_key}"))


@bp.delete("/org/users/<push_id:str>/admin-role")
@openapi.summary("Revoke a user's administrator role")
@openapi.secured("AppSignature")
@authenticated
async def revoke_role(request: Request, push_id: str) -> HTTPResponse:
    user = await admin_roles.find_user(str(request.ctx.tenant.id), push_id=push_id)
    return json(await admin_roles.revoke(user))


@bp.delete("/org/users/<push_id:str>/sessions")
@openapi.summary("Revoke every session of a user (sign them out everywhere)")
@openapi.secured("AppSignature")
@authenticated
async def revoke_sessions(request: Request, push_id: str) -> HTTPResponse:
    tenant_id = str(request.ctx.tenant.id)
    user = await admin_roles.find_user(tenant_id, push_id=push_id)
    count = await admin_sessions.revoke_user_sessions(tenant_id, str(user.id), "business_system")
    return json({"user_id": str(user.id), "revoked": count})


@bp.get("/statistics")
@openapi.summary("Statistics by period (day|month, Beijing time) and unit: since, until, period, unit")
@openapi.secured("AppSignature")
@authenticated
async def stats(request: Request) -> HTTPResponse:
    return json(await statistics.compute(statistics.build_query(str(request.ctx.tenant.id),
                                                                request.args)))
