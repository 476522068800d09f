"""Liveness, readiness and the landing page."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, html, json
from sanic_ext import openapi

from backend import db

bp = Blueprint("health")


@bp.get("/healthz")
@openapi.summary("Liveness: the process answers")
async def healthz(request: Request) -> HTTPResponse:
    return json({"status": "ok"})


@bp.get("/readyz")
@openapi.summary("Readiness: database and cache reachable")
async def readyz(request: Request) -> HTTPResponse:
    checks = {"database": await db.ping(), "cache": await request.app.ctx.runtime.cache.ping()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if not ready:
        body.update(code="NOT_READY", message="a dependency is unreachable",
                    request_id=request.ctx.request_id)
    return json(body, status=200 if ready else 503)


@bp.get("/")
@openapi.exclude()
async def landing(request: Request) -> HTTPResponse:
    return html(
        "<!doctype html><meta charset=utf-8><title>电子签章平台 · e-sign backend</title>"
        "<h1>电子签章平台 e-sign backend</h1><ul>"
        "<li><a href=/readyz>/readyz</a> readiness</li>"
        "<li><a href=/docs>/docs</a> REST API (OpenAPI)</li>"
        "<li><a href=/demo/messages>/demo/messages</a> messages of the demo (local channel)</li></ul>"
        "<p>Business systems call <code>/api/v1</code> with a signed request "
        "(see README, <code>backend/client.py</code>).</p>")
