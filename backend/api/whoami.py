"""GET /api/v1/whoami: the calling tenant."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.middleware import authenticated

bp = Blueprint("whoami", url_prefix="/api/v1")


@bp.get("/whoami")
@openapi.summary("The tenant authenticated by this request's signature")
@openapi.secured("AppSignature")
@authenticated
async def whoami(request: Request) -> HTTPResponse:
    tenant = request.ctx.tenant
    return json({"tenant_id": str(tenant.id), "name": tenant.name, "app_key": tenant.app_key})
