"""/api/v1/front-reports: the central platform's side of front servers [前置服务器].

A front server (``FRONT_SERVER_MODE=true``, see README "Front server") reports every seal it
applied; the central platform stores each report once per ``report_id`` (a re-sent report
replays the first answer) in the tamper-evident operation log.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from backend.api.bodies import StrictBody, parse_json, query_int
from backend.api.middleware import authenticated
from backend.errors import ValidationFailed
from backend.idempotency import run_idempotent
from backend.services import front_reports

bp = Blueprint("front_reports", url_prefix="/api/v1")
SHA256 = r"^[0-9a-f]{64}$"


class FrontReport(StrictBody):
    report_id: uuid.UUID
    front_server: str = Field(..., min_length=1, max_length=64)
    front_tenant: str = Field("", max_length=64)
    sha256: str = Field(..., pattern=SHA256, description="SHA-256 of the sealed document (hex)")
    algorithms: list[Literal["sm2", "rsa"]] = Field(..., min_length=1, max_length=2)
    seal_id: str = Field(..., min_length=1, max_length=64)
    seal_name: str = Field("", max_length=200)
    seal_kind: str = Field("", max_length=16)
    company_name: str = Field("", max_length=200)
    use_id: int | None = None
    user_ref: str = Field("", max_length=64)
    document_ref: str = Field("", max_length=64)
    document_type: str = Field("", max_length=32)
    signed_at: dt.datetime

    model_config = {**StrictBody.model_config, "strict": False}


@bp.post("/front-reports")
@openapi.summary("Receive a front server's report of one seal application (once per report_id)")
@openapi.body({"application/json": FrontReport.model_json_schema()})
@openapi.secured("AppSignature")
@authenticated
async def receive(request: Request) -> HTTPResponse:
    body = parse_json(request.content_type, request.body, FrontReport)
    key = str(body.report_id)
    header = request.headers.get("Idempotency-Key")
    if header is not None and header != key:
        raise ValidationFailed("Idempotency-Key must be the report_id",
                               code="IDEMPOTENCY_KEY_MISMATCH")
    report = body.model_dump(mode="json")
    report["report_id"] = key
    tenant = request.ctx.tenant

    async def action() -> tuple[int, dict]:
        return await front_reports.receive(tenant, report)

    # fingerprinted on the validated report, not the bytes: the same report re-encoded replays
    outcome = await run_idempotent(tenant, f"front-report:{key}", request.method, request.path,
                                   front_reports.report_body(report), action,
                                   request.app.ctx.runtime.settings.idempotency_ttl_seconds)
    return json(outcome.body, status=outcome.status,
                headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)


@bp.get("/front-reports")
@openapi.summary("Reports received from front servers, newest first (?sha256=, ?front_server=)")
@openapi.secured("AppSignature")
@authenticated
async def list_reports(request: Request) -> HTTPResponse:
    limit = query_int(request.args, "limit", 50, 1, 500)
    items = await front_reports.reports(request.ctx.tenant, sha256=request.args.get("sha256"),
                                        front_server=request.args.get("front_server"),
                                        limit=limit)
    return json({"items": items})
